"""Staff and volunteers: task buttons (accept, can't take, escalate, resolve with a note), /tasks, /duty,
/stats.

Every action checks the role in the database (never the Telegram username), and every button carries the
ticket version: a stale or foreign button gets a clear answer instead of acting.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.telegram.context import database, person_of, say
from bot.telegram.jobs import deliver
from bot.telegram.render import send_text
from community.database import utcnow
from community.people.models import Person, Role
from community.tickets import notify
from community.tickets.errors import TicketError
from community.tickets.metrics import compute_metrics, format_metrics
from community.tickets.queries import tasks_for_staff
from community.tickets.service import accept, decline, escalate, resolve, set_duty

NOTE = 1
STATS_DAYS = 30


def _staff(context: ContextTypes.DEFAULT_TYPE, update: Update) -> tuple[Person, str] | None:
    person, language = person_of(context, update)
    return (person, language) if person.is_staff else None


async def _deny(update: Update, context: ContextTypes.DEFAULT_TYPE, language: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(say("bot.staff_only", language), show_alert=True)
    elif update.effective_chat is not None:
        await send_text(context.bot, update.effective_chat.id, say("bot.staff_only", language))


StaffCommand = Callable[[Update, ContextTypes.DEFAULT_TYPE, Person, str], Awaitable[None]]


def staff_only(command: StaffCommand) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
    """A command for staff only: the role comes from the database; anyone else is told politely."""

    @functools.wraps(command)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        person, language = person_of(context, update)
        if not person.is_staff:
            await _deny(update, context, language)
            return
        await command(update, context, person, language)

    return guarded


async def on_task_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Accept / Can't take / Escalate."""
    query = update.callback_query
    assert query is not None and query.data is not None
    staff = _staff(context, update)
    if staff is None:
        await _deny(update, context, person_of(context, update)[1])
        return
    actor, language = staff
    press = notify.parse_callback(query.data)
    if press is None or press.version is None:
        await query.answer(say("fallback.rephrase", language), show_alert=True)
        return
    steps = {
        "acc": (accept, "staff.accepted"),
        "dec": (decline, "staff.declined"),
        "esc": (escalate, "staff.escalated"),
    }
    step, done_key = steps[press.action]
    try:
        with database(context).session() as session:
            me = session.get(Person, actor.id)
            assert me is not None
            ticket = step(session, press.ticket_id, me, press.version, now=utcnow())
            ref = ticket.ref
    except TicketError as exc:
        # Someone else was faster, the button is stale, or the step is not possible any more: say which.
        await query.answer(exc.localized(language), show_alert=True)
        await query.edit_message_reply_markup(None)
        return
    # The card with Resolve / Escalate (and the reporter's contact, now that this person holds the ticket)
    # comes through the outbox, written in the same transaction as the acceptance: sending one from here
    # as well gave the volunteer every accepted task twice.
    await query.answer(say(done_key, language, ref=ref))
    await query.edit_message_reply_markup(None)


async def start_resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    staff = _staff(context, update)
    press = notify.parse_callback(query.data)
    if staff is None or press is None:
        await _deny(update, context, person_of(context, update)[1])
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data["resolving"] = (press.ticket_id, press.version)
    await query.answer()
    assert update.effective_chat is not None
    await send_text(context.bot, update.effective_chat.id, say("staff.ask_note", staff[1]))
    return NOTE


async def finish_resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The note (a text, or a photo's caption) resolves the ticket; the reporter is told and asked to rate."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    ticket_id, version = context.user_data.pop("resolving", (None, None))
    actor, language = person_of(context, update)
    note = (message.text or message.caption or "").strip()
    photos = (message.photo[-1].file_id,) if message.photo else ()
    assert update.effective_chat is not None
    try:
        with database(context).session() as session:
            me = session.get(Person, actor.id)
            assert me is not None and ticket_id is not None
            ticket = resolve(session, ticket_id, me, version, note=note, photo_file_ids=photos, now=utcnow())
            ref = ticket.ref
    except TicketError as exc:
        await send_text(context.bot, update.effective_chat.id, exc.localized(language))
        if getattr(exc, "field", None) == "note":
            context.user_data["resolving"] = (ticket_id, version)  # ask again, nothing is lost
            return NOTE
        return ConversationHandler.END
    await send_text(context.bot, update.effective_chat.id, say("staff.resolved", language, ref=ref))
    return ConversationHandler.END


async def cancel_resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert context.user_data is not None and update.effective_chat is not None
    context.user_data.pop("resolving", None)
    _, language = person_of(context, update)
    await send_text(context.bot, update.effective_chat.id, say("bot.cancelled", language))
    return ConversationHandler.END


def resolve_conversation() -> ConversationHandler:
    # PTB warns that with per_message=False the callback entry point is not tracked per message. That is what
    # we want: the note that follows is a new message from the same user in the same chat.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)
        return _resolve_conversation()


def _resolve_conversation() -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(start_resolve, pattern=r"^tk:res:")],
        states={NOTE: [MessageHandler((filters.TEXT & ~filters.COMMAND) | filters.PHOTO, finish_resolve)]},
        fallbacks=[CommandHandler("cancel", cancel_resolve)],
        per_message=False,
        conversation_timeout=timedelta(minutes=30),
    )


@staff_only
async def tasks(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    """Each open task as its card, with the buttons that fit its state."""
    assert update.effective_chat is not None
    with database(context).session() as session:
        me = session.get(Person, actor.id)
        assert me is not None
        cards = [
            notify.task(
                notify.load_view(session, ticket),
                me,
                "ticket.headline.task",
                buttons=notify.buttons_for_state(ticket),
            )
            for ticket in tasks_for_staff(session, me)
        ]
    if not cards:
        await send_text(context.bot, update.effective_chat.id, say("staff.no_tasks", language))
    for card in cards:
        await deliver(context.bot, update.effective_chat.id, {**card, "photos": []})


@staff_only
async def duty(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    assert update.effective_chat is not None
    arg = (context.args or [""])[0].lower()
    if arg not in ("on", "off"):
        await send_text(context.bot, update.effective_chat.id, say("staff.duty_usage", language))
        return
    if not actor.has_role(Role.VOLUNTEER):
        await send_text(context.bot, update.effective_chat.id, say("staff.not_volunteer", language))
        return
    with database(context).session() as session:
        me = session.get(Person, actor.id)
        assert me is not None
        set_duty(session, me, arg == "on")
    await send_text(context.bot, update.effective_chat.id, say(f"staff.duty_{arg}", language))


@staff_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    assert update.effective_chat is not None
    end = utcnow()

    def compute() -> str:
        with database(context).session() as session:
            metrics = compute_metrics(session, end - timedelta(days=STATS_DAYS), end)
            return format_metrics(
                metrics, language if language in ("zh-Hans", "zh-Hant", "en", "ja", "ko") else "en"
            )

    text = await asyncio.to_thread(compute)
    await context.bot.send_message(update.effective_chat.id, text, parse_mode="HTML")
