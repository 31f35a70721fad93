"""Staff and volunteers: task buttons (accept, can't take, escalate, resolve with a note), /tasks, /duty
(/stats, /points and /bonus are in points.py).

Every action checks the role in the database (never the Telegram username), and every button carries the
ticket version: a stale or foreign button gets a clear answer instead of acting.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.handlers import thread
from bot.telegram.jobs import deliver
from bot.telegram.render import send_text
from community.conversations import service as conversations
from community.database import utcnow
from community.people.models import Person, Role
from community.tickets import notify
from community.tickets.errors import TicketError
from community.tickets.queries import tasks_for_staff
from community.tickets.service import accept, decline, escalate, resolve, set_duty
from community.tickets.story import story


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
        person, language = await run_sync(person_of, context, update)
        if not person.is_staff:
            await _deny(update, context, language)
            return
        await command(update, context, person, language)

    return guarded


@dataclass(frozen=True)
class _Done:
    """What a staff step came to: the text to show and whether it failed (an alert, not a toast)."""

    text: str
    failed: bool = False


def _step(context: ContextTypes.DEFAULT_TYPE, update: Update, press: notify.Callback, language: str) -> _Done:
    steps = {
        "acc": (accept, "staff.accepted"),
        "dec": (decline, "staff.declined"),
        "esc": (escalate, "staff.escalated"),
    }
    step, done_key = steps[press.action]
    try:
        with database(context).session() as session:
            me = assistant(context).person_for(session, chat_user(update))
            ticket = step(session, press.ticket_id, me, press.version, now=utcnow())
            return _Done(say(done_key, language, ref=ticket.ref))
    except TicketError as exc:
        return _Done(exc.localized(language), failed=True)


async def on_task_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Accept / Can't take / Escalate."""
    query = update.callback_query
    assert query is not None and query.data is not None
    actor, language = await run_sync(person_of, context, update)
    if not actor.is_staff:
        await _deny(update, context, language)
        return
    press = notify.parse_callback(query.data)
    if press is None or press.version is None:
        await query.answer(say("fallback.rephrase", language), show_alert=True)
        return
    # The transaction ends before Telegram is called.
    done = await run_sync(_step, context, update, press, language)
    if done.failed:
        # Someone else was faster, the button is stale, or the step is not possible any more: say which.
        await query.answer(done.text, show_alert=True)
        await query.edit_message_reply_markup(None)
        return
    # The card with Resolve / Escalate (and the reporter's contact, now that this person holds the ticket)
    # comes through the outbox, written in the same transaction as the acceptance: sending one from here
    # as well gave the volunteer every accepted task twice.
    await query.answer(done.text)
    await query.edit_message_reply_markup(None)


# --- Resolve, then a note ------------------------------------------------------------------------------
#
# Which ticket a volunteer is resolving lives in the database (conversation state "resolve_note", one hour),
# not in the process: the note resolves the ticket whose Resolve was pressed LAST, also after a restart of
# the bot or when another bot process receives the note.
RESOLVE_NOTE = "resolve_note"


def _begin_resolve(
    context: ContextTypes.DEFAULT_TYPE, update: Update, press: notify.Callback | None
) -> tuple[bool, str]:
    """Remembers the ticket to resolve (replacing an earlier Resolve); (allowed, language)."""
    user = chat_user(update)
    with database(context).session() as session:
        me = assistant(context).person_for(session, user)
        if not me.is_staff or press is None:
            return False, me.preferred_language
        pending = {"ticket_id": press.ticket_id, "version": press.version}
        conversations.put(session, RESOLVE_NOTE, user.key, pending, utcnow())
        return True, me.preferred_language


async def start_resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    press = notify.parse_callback(query.data)
    allowed, language = await run_sync(_begin_resolve, context, update, press)
    if not allowed:
        await _deny(update, context, language)
        return
    await query.answer()
    assert update.effective_chat is not None and press is not None
    # Or one tap: the category's canned resolution notes, which each reporter reads in their own language.
    notes = await run_sync(thread.resolution_keyboard, context, press.ticket_id, press.version, language)
    await send_text(context.bot, update.effective_chat.id, say("staff.ask_note", language), _keyboard(notes))


def _resolve_pending(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    note: str,
    photos: tuple[str, ...],
    words: dict[str, Any] | None = None,
) -> tuple[str, bool] | None:
    """Resolves the ticket the sender pressed Resolve on, with this note; the answer to send and whether it
    resolved, or None when no Resolve is pending (the message is then an ordinary one)."""
    user = chat_user(update)
    now = utcnow()
    with database(context).session() as session:
        pending = conversations.get(session, RESOLVE_NOTE, user.key, now)
        if pending is None:
            return None
        me = assistant(context).person_for(session, user)
        language = me.preferred_language
    try:
        with database(context).session() as session:
            # Forgotten in the same transaction as the resolution: both happen, or (an error) neither.
            conversations.forget(session, RESOLVE_NOTE, user.key)
            me = assistant(context).person_for(session, user)
            ticket = resolve(
                session,
                int(pending["ticket_id"]),
                me,
                pending["version"],
                note=note,
                photo_file_ids=photos,
                now=now,
                words=words,
            )
            return say("staff.resolved", language, ref=ticket.ref), True
    except TicketError as exc:
        if getattr(exc, "field", None) != "note":
            # Stale or no longer possible: nothing to wait for. A missing note is asked for again.
            with database(context).session() as session:
                conversations.forget(session, RESOLVE_NOTE, user.key)
        return exc.localized(language), False


def _keyboard(rows: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row] for row in rows]
    )


def _pending_resolve(context: ContextTypes.DEFAULT_TYPE, update: Update) -> dict[str, Any] | None:
    with database(context).session() as session:
        pending = conversations.get(session, RESOLVE_NOTE, chat_user(update).key, utcnow())
    return dict(pending) if pending is not None else None


async def resolve_with_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The note (a text, or a photo's caption) resolves the pending ticket; the reporter is told and asked
    to rate (through the outbox). False when no Resolve is pending for the sender."""
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    note = (message.text or message.caption or "").strip()
    photos = (message.photo[-1].file_id,) if message.photo else ()
    pending = await run_sync(_pending_resolve, context, update)
    if pending is None:
        return False
    # The note in the reporters' languages, translated before the resolution's transaction.
    words = await thread.resolution_words(context, update, int(pending["ticket_id"]), note)
    done = await run_sync(_resolve_pending, context, update, note, photos, words)
    if done is None:
        return False
    answer, resolved = done
    # A typed note may be kept as a note for the category, one tap from then on.
    _, language = await run_sync(person_of, context, update)
    buttons = thread.save_button(int(pending["ticket_id"]), "resolution", language) if resolved else None
    await send_text(context.bot, update.effective_chat.id, answer, _keyboard(buttons))
    return True


def _task_cards(context: ContextTypes.DEFAULT_TYPE, actor: Person) -> list[dict[str, Any]]:
    with database(context).session() as session:
        me = session.get(Person, actor.id)
        assert me is not None
        return [
            notify.task(
                notify.load_view(session, ticket),
                me,
                "ticket.headline.task",
                buttons=notify.buttons_for_state(ticket),
                story=story(session, ticket, me),
            )
            for ticket in tasks_for_staff(session, me)
        ]


@staff_only
async def tasks(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    """Each open task as its card, with the buttons that fit its state."""
    assert update.effective_chat is not None
    cards = await run_sync(_task_cards, context, actor)
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
    await run_sync(_set_duty, context, actor, arg == "on")
    await send_text(context.bot, update.effective_chat.id, say(f"staff.duty_{arg}", language))


def _set_duty(context: ContextTypes.DEFAULT_TYPE, actor: Person, on: bool) -> None:
    with database(context).session() as session:
        me = session.get(Person, actor.id)
        assert me is not None
        set_duty(session, me, on)
