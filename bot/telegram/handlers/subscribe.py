"""/subscribe and /unsubscribe: a resident or tourist chooses the areas whose announcements they receive.

`/subscribe` lists the grids and micro-grids as buttons (`/subscribe red_1` subscribes at once);
`/unsubscribe` lists the person's own subscriptions. Buttons carry `sub:+:<area>` or `sub:-:<area>`.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, say
from bot.telegram.render import send_text
from community.database import utcnow
from community.i18n import pick
from community.outreach import subscriptions


def _keyboard(buttons: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    keys = [InlineKeyboardButton(title[:64], callback_data=data) for title, data in buttons]
    return InlineKeyboardMarkup([keys[i : i + 2] for i in range(0, len(keys), 2)])


async def _answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup: object = None
) -> None:
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, text, markup)


def _change(
    context: ContextTypes.DEFAULT_TYPE, update: Update, code: str, on: bool
) -> tuple[str, str | None]:
    """Subscribes or unsubscribes; the person's language and the area's name (None: no such area)."""
    with database(context).session() as session:
        person = assistant(context).person_for(session, chat_user(update))
        language = person.preferred_language
        area = subscriptions.area(session, code)
        if on:
            if area is None:
                return language, None
            subscriptions.subscribe(session, person, area, utcnow())
        elif not subscriptions.unsubscribe(session, person, code):
            return language, None
        return language, pick(area.names, language) if area is not None else code


def _menu(context: ContextTypes.DEFAULT_TYPE, update: Update, on: bool) -> tuple[str, list[tuple[str, str]]]:
    with database(context).session() as session:
        person = assistant(context).person_for(session, chat_user(update))
        language = person.preferred_language
        grids = subscriptions.areas(session) if on else subscriptions.subscriptions_of(session, person)
        sign = "+" if on else "-"
        return language, [(pick(g.names, language), f"sub:{sign}:{g.code}") for g in grids]


async def _command(update: Update, context: ContextTypes.DEFAULT_TYPE, on: bool) -> None:
    if context.args:
        await _apply(update, context, context.args[0], on)
        return
    language, buttons = await run_sync(_menu, context, update, on)
    if not buttons:
        await _answer(update, context, say("outreach.unsubscribe.none", language))
        return
    key = "outreach.subscribe.pick" if on else "outreach.unsubscribe.pick"
    await _answer(update, context, say(key, language), _keyboard(buttons))


async def _apply(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str, on: bool) -> None:
    language, name = await run_sync(_change, context, update, code, on)
    if name is None:
        await _answer(update, context, say("outreach.subscribe.unknown", language))
        return
    key = "outreach.subscribe.done" if on else "outreach.unsubscribe.done"
    await _answer(update, context, say(key, language, area=name))


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, True)


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, False)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    _, sign, code = [*query.data.split(":", 2), "", ""][:3]
    await _apply(update, context, code, sign == "+")
