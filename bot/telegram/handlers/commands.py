"""Commands of tourists and residents: /start (with a deep-link payload), /help, /map, /report, /mytickets,
/language, /cancel."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.handlers import thread
from bot.telegram.handlers.chat import _reply
from bot.telegram.render import remove_keyboard, send_text
from community.grids.models import Landmark
from community.i18n import pick
from community.servicemap.models import ServicePoint


async def _payload(update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str) -> None:
    message = update.effective_message
    turn = await assistant(context).press(
        chat_user(update), payload, message_id=message.message_id if message else None
    )
    await _reply(update, context, turn)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/start sp_love_station` (a QR code at a service point) tells us where the user stands."""
    if context.args:
        await _place_from_deep_link(update, context, context.args[0])
    await _payload(update, context, "/greet")


def _place(
    context: ContextTypes.DEFAULT_TYPE, update: Update, code: str
) -> tuple[tuple[float, float], str, str] | None:
    """Where the service point or landmark is, its name in the user's language, and that language."""
    _, language = person_of(context, update)
    with database(context).session() as session:
        place = session.get(ServicePoint, code) or session.get(Landmark, code)
        if place is None:
            return None
        return (place.lat, place.lon), pick(place.names, language), language


async def _place_from_deep_link(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    found = await run_sync(_place, context, update, code)
    if found is None:
        return
    where, name, language = found
    await assistant(context).remember_location(chat_user(update), where)
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, say("bot.start_at_point", language, place=name))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/bot_help")


async def map_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/map")


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/report_issue")


async def mytickets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/mytickets")
    await thread.open_tickets(update, context)  # each open report with Reply and Cancel buttons


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/set_language")


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ends whatever is going on: a report form in Rasa (/restart), a pending location request or report, a
    volunteer's pending Resolve."""
    _, lang = await run_sync(person_of, context, update)
    await assistant(context).cancel(chat_user(update))
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, say("bot.cancelled", lang), remove_keyboard())
