"""The conversation on a ticket in Telegram: the holder's Ask / Message / Progress-note buttons, the
reporter's Reply / Cancel buttons, canned notes with one tap, and "the next message is for ticket X".

Which ticket the next message belongs to lives in the database (conversation state "thread_next", one
hour), so a restarted bot or another bot process carries on. A reply (Telegram's reply-to) to any of the
bot's messages about a ticket goes to that ticket too, as long as the ticket is open.

Every message is translated for its readers before the transaction that writes it (no transaction is open
while Google answers); the bot answers the writer directly, the readers hear through the outbox.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.jobs import deliver
from community.conversations import service as conversations
from community.database import utcnow
from community.language import detect
from community.tickets import canned as canned_replies
from community.tickets import policy, thread
from community.tickets.errors import IllegalTransition, TicketError
from community.tickets.models import Ticket, TicketEvent
from community.tickets.queries import get_ticket, tickets_for_reporter
from community.tickets.reporter_steps import cancel
from community.tickets.states import OPEN, Step
from community.tickets.steps import resolve
from community.tickets.thread_notify import callback, parse, reporter_buttons
from community.tickets.transition import load, precheck
from community.tickets.views import ref_in

PENDING = "thread_next"  # conversation state: {"ticket_id", "mode": ask | message | reporter}
MAX_OPEN_LISTED = 5  # open tickets offered with buttons under /mytickets


@dataclass(frozen=True)
class _Draft:
    """What a message needs before it is translated: who writes, in which language, for whom."""

    ticket_id: int
    ref: str
    mode: str  # ask | message | reporter
    language: str  # of the text
    writer_language: str
    targets: frozenset[str]


def _key(update: Update) -> str:
    return chat_user(update).key


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, buttons: Any = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    payload: dict[str, Any] = {"text": html.escape(text, quote=False), "parse_mode": "HTML"}
    if buttons:
        payload["buttons"] = buttons
    await deliver(context.bot, chat.id, payload)


# --- buttons --------------------------------------------------------------------------------------------


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    press = parse(query.data)
    if press is None:
        _, language = await run_sync(person_of, context, update)
        await query.answer(say("fallback.rephrase", language), show_alert=True)
        return
    if press.action in ("ask", "msg", "add"):
        mode = {"ask": "ask", "msg": "message", "add": "reporter"}[press.action]
        text, failed = await run_sync(_begin, context, update, press.ticket_id, mode)
    elif press.action == "cn":
        text, buttons, failed = await run_sync(_progress_choices, context, update, press.ticket_id)
        await query.answer(text if failed else None, show_alert=failed)
        if not failed:
            await _answer(update, context, text, buttons)
        return
    elif press.action in ("cp", "cr"):
        text, failed = await _canned(
            context, update, press.action, press.ticket_id, press.version, press.canned
        )
    elif press.action == "can":
        text, buttons, failed = await run_sync(_confirm_cancel, context, update, press.ticket_id)
        await query.answer(text if failed else None, show_alert=failed)
        if not failed:
            await _answer(update, context, text, buttons)
        return
    elif press.action == "sv":
        text, failed = await run_sync(_save, context, update, press.ticket_id, press.canned or "")
    else:  # "cy": cancel, confirmed
        text, failed = await run_sync(_cancel, context, update, press.ticket_id, press.version)
    if failed:
        await query.answer(text, show_alert=True)
        return
    await query.answer()
    await _answer(update, context, text)


def _begin(context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int, mode: str) -> tuple[str, bool]:
    """Remembers that the sender's next message is for this ticket, if they may write on it."""
    step = Step.ASK if mode == "ask" else Step.MESSAGE
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
        try:
            ticket = load(session, ticket_id)
            policy.require(session, ticket, me, step)
            precheck(ticket, step, None)
        except TicketError as exc:
            return exc.localized(language), True
        conversations.put(session, PENDING, _key(update), {"ticket_id": ticket.id, "mode": mode}, utcnow())
        prompt = {
            "ask": "thread.prompt.ask",
            "message": "thread.prompt.message",
            "reporter": "thread.prompt.add",
        }
        return say(prompt[mode], language, ref=ticket.ref), False


def _progress_choices(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int
) -> tuple[str, list[list[dict[str, str]]], bool]:
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
        try:
            ticket = load(session, ticket_id)
            policy.require(session, ticket, me, Step.MESSAGE)
        except TicketError as exc:
            return exc.localized(language), [], True
        notes = canned_replies.for_category(ticket.category_code, "progress")
        added = canned_replies.added_for(session, ticket.category_code, "progress")
        if not notes and not added:
            return say("thread.no_canned", language), [], True
        buttons = [[_canned_button(n, language, callback("cp", ticket.id, None, n.id))] for n in notes]
        buttons += [[_added_button(a, callback("cp", ticket.id, None, a.reply_id))] for a in added]
        return say("thread.pick_progress", language), buttons, False


def _canned_button(note: canned_replies.CannedReply, language: str, data: str) -> dict[str, str]:
    text = note.text(language) or note.texts["zh-Hans"]
    return {"text": text[:64], "callback_data": data}


def _added_button(note: canned_replies.AddedReply, data: str) -> dict[str, str]:
    return {"text": f"✎ {note.text}"[:64], "callback_data": data}


def resolution_keyboard(
    context: ContextTypes.DEFAULT_TYPE, ticket_id: int, version: int | None, language: str
) -> list[list[dict[str, str]]]:
    """The canned resolution notes of the ticket's category, one tap each (shown when Resolve is pressed)."""
    if version is None:
        return []
    with database(context).session() as session:
        ticket = session.get(Ticket, ticket_id)
        category = ticket.category_code if ticket is not None else None
        added = canned_replies.added_for(session, category, "resolution")
        rows = [[_added_button(a, callback("cr", ticket_id, version, a.reply_id))] for a in added]
    notes = canned_replies.for_category(category, "resolution")
    return [[_canned_button(n, language, callback("cr", ticket_id, version, n.id))] for n in notes] + rows


def _confirm_cancel(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int
) -> tuple[str, list[list[dict[str, str]]], bool]:
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
        try:
            ticket = load(session, ticket_id)
            policy.require(session, ticket, me, Step.CANCEL)
            if not policy.is_reporter(me, ticket):
                raise IllegalTransition(ticket.ref, ticket.state, Step.CANCEL.value)
            precheck(ticket, Step.CANCEL, None)
        except TicketError as exc:
            return exc.localized(language), [], True
        yes = {
            "text": say("thread.button.cancel_yes", language),
            "callback_data": callback("cy", ticket.id, ticket.version),
        }
        return say("thread.cancel.ask", language, ref=ticket.ref), [[yes]], False


def _cancel(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int, version: int | None
) -> tuple[str, bool]:
    user = chat_user(update)
    with database(context).session() as session:
        language = assistant(context).person_for(session, user).preferred_language
    try:
        with database(context).session() as session:
            me = assistant(context).person_for(session, user)
            ticket = cancel(session, ticket_id, me, version if version is not None else -1, now=utcnow())
            return say("thread.cancel.done", language, ref=ticket.ref), False
    except TicketError as exc:
        return exc.localized(language), True


# --- canned notes ---------------------------------------------------------------------------------------


async def _canned(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    action: str,
    ticket_id: int,
    version: int | None,
    reply_id: str | None,
) -> tuple[str, bool]:
    """A progress note (cp) or a resolution (cr) with a curated note: each reporter reads it in their own
    curated language; only languages without curated texts are machine-translated. A note staff added is
    translated like a typed message (once per language: the translation is cached)."""
    note = canned_replies.find(reply_id or "")
    added = None if note is not None else await run_sync(_added, context, reply_id or "")
    step = Step.RESOLVE if action == "cr" else Step.MESSAGE
    draft = await run_sync(_draft, context, update, ticket_id, "message", "", step)
    if isinstance(draft, str):
        return draft, True
    if note is not None:
        words = await thread.prepare_words("", "zh-Hans", draft.targets, canned=note)
    elif added is not None:
        words = await thread.prepare_words(added[0], added[1], draft.targets)
    else:
        return say("fallback.rephrase", draft.writer_language), True
    if action == "cp":
        text, failed, _ = await run_sync(_write, context, update, draft, words, (), None)
        return text, failed
    return await run_sync(_resolve, context, update, draft, words, version)


def _added(context: ContextTypes.DEFAULT_TYPE, reply_id: str) -> tuple[str, str] | None:
    with database(context).session() as session:
        found = canned_replies.find_added(session, reply_id)
        return (found.text, found.language) if found is not None else None


def _save(context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int, kind: str) -> tuple[str, bool]:
    """Keeps what this staff member last wrote on the ticket (a message, or the resolution note) as a note
    for the ticket's category, to pick with one tap from now on."""
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or policy.is_reporter(me, ticket) or not me.is_staff:
            return say("bot.staff_only", language), True
        event_kind = "resolved" if kind == "resolution" else "message"
        event = session.scalar(
            select(TicketEvent)
            .where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.actor_id == me.id,
                TicketEvent.kind == event_kind,
            )
            .order_by(TicketEvent.id.desc())
            .limit(1)
        )
        data = (event.data or {}) if event is not None else {}
        words = data.get("message", data) if kind == "resolution" else data
        text = str(words.get("text") or data.get("note") or "")
        if not text or words.get("canned"):
            return say("thread.saved_nothing", language), True
        canned_replies.add(
            session, me.id, ticket.category_code, kind, text, str(words.get("language") or language)
        )
        return say("thread.saved", language), False


def save_button(ticket_id: int, kind: str, language: str) -> list[list[dict[str, str]]]:
    return [
        [
            {
                "text": say("thread.button.save", language),
                "callback_data": callback("sv", ticket_id, None, kind),
            }
        ]
    ]


def _resolve(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    draft: _Draft,
    words: thread.Words,
    version: int | None,
) -> tuple[str, bool]:
    user = chat_user(update)
    try:
        with database(context).session() as session:
            # A pending Resolve (the note it waits for) ends with this resolution, in the same transaction.
            conversations.forget(session, "resolve_note", user.key)
            me = assistant(context).person_for(session, user)
            ticket = resolve(
                session,
                draft.ticket_id,
                me,
                version if version is not None else -1,
                note=words.text,
                now=utcnow(),
                words=words.data(),
            )
            return say("staff.resolved", draft.writer_language, ref=ticket.ref), False
    except TicketError as exc:
        return exc.localized(draft.writer_language), True


async def resolution_words(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int, note: str
) -> dict[str, Any] | None:
    """A free-text resolution note translated for the reporters who will read it (None when there is
    nothing to translate or the ticket is gone: the note then goes as typed, as before)."""
    draft = await run_sync(_draft, context, update, ticket_id, "message", note, Step.RESOLVE)
    if isinstance(draft, str) or not note.strip():
        return None
    return (await thread.prepare_words(note, draft.language, draft.targets)).data()


# --- the next message -----------------------------------------------------------------------------------


def _draft(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int, mode: str, text: str, step: Step
) -> _Draft | str:
    """Who writes, in which language, and whose languages the message needs; an error text if they may
    not write on the ticket now."""
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
        try:
            ticket = load(session, ticket_id)
            policy.require(session, ticket, me, step)
            if step is not Step.RESOLVE:
                precheck(ticket, Step.ASK if mode == "ask" else Step.MESSAGE, None)
        except TicketError as exc:
            return exc.localized(language)
        written_in = detect(text, previous=language).language if text.strip() else language
        targets = thread.reader_languages(session, ticket, me, public=mode != "ask")
        mode = "reporter" if policy.is_reporter(me, ticket) else mode
        return _Draft(ticket.id, ticket.ref, mode, written_in, language, frozenset(targets))


def _write(
    context: ContextTypes.DEFAULT_TYPE,
    update: Update,
    draft: _Draft,
    words: thread.Words,
    photos: tuple[str, ...],
    location: tuple[float, float] | None,
) -> tuple[str, bool, list[list[dict[str, str]]] | None]:
    """Writes the message; the answer for the writer, whether it failed, and buttons for the answer (staff
    may keep a message they typed as a note for the category)."""
    user = chat_user(update)
    try:
        with database(context).session() as session:
            # Forgotten with the message, in one transaction: both happen, or (an error) neither.
            conversations.forget(session, PENDING, user.key)
            me = assistant(context).person_for(session, user)
            now = utcnow()
            if draft.mode == "ask":
                ticket = thread.ask(session, draft.ticket_id, me, words=words, now=now)
                return say("thread.sent.question", draft.writer_language, ref=ticket.ref), False, None
            waiting = load(session, draft.ticket_id).state == "waiting"
            ticket = thread.write(
                session, draft.ticket_id, me, words=words, photos=photos, location=location, now=now
            )
            if draft.mode != "reporter":
                sent = say("thread.sent.staff", draft.writer_language, ref=ticket.ref)
                typed = words.canned is None and bool(words.text)
                return (
                    sent,
                    False,
                    save_button(ticket.id, "progress", draft.writer_language) if typed else None,
                )
            key = "thread.sent.answer" if waiting else "thread.sent.reporter"
            return say(key, draft.writer_language, ref=ticket.ref), False, None
    except TicketError as exc:
        return exc.localized(draft.writer_language), True, None


def _target(
    context: ContextTypes.DEFAULT_TYPE, update: Update, replied_ref: str | None
) -> dict[str, Any] | None:
    """The ticket the message is for: the one whose button was pressed last, else the open ticket whose
    message the sender replied to (and may see)."""
    now = utcnow()
    with database(context).session() as session:
        pending = conversations.get(session, PENDING, _key(update), now)
        if pending is not None:
            return {**pending, "replied": False}
        if replied_ref is None:
            return None
        ticket = get_ticket(session, replied_ref)
        if ticket is None or ticket.state not in OPEN:
            return None
        me = assistant(context).person_for(session, chat_user(update))
        if not policy.may(session, ticket, me, Step.MESSAGE):
            return None
        return {"ticket_id": ticket.id, "mode": "message", "replied": True}


def _forget_pending(context: ContextTypes.DEFAULT_TYPE, update: Update) -> None:
    with database(context).session() as session:
        conversations.forget(session, PENDING, _key(update))


async def take_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The message (text, photo with caption, location) goes on a ticket if the sender pressed Reply /
    Ask / Message, or replied to a message about an open ticket; False when it is an ordinary message."""
    message = update.effective_message
    if message is None:
        return False
    replied = message.reply_to_message
    replied_ref = ref_in(replied.text or replied.caption or "") if replied is not None else None
    if replied is not None and (replied.from_user is None or not replied.from_user.is_bot):
        replied_ref = None
    target = await run_sync(_target, context, update, replied_ref)
    if target is None:
        return False
    text = (message.text or message.caption or "").strip()
    photos = (message.photo[-1].file_id,) if message.photo else ()
    location = (message.location.latitude, message.location.longitude) if message.location else None
    draft = await run_sync(
        _draft, context, update, int(target["ticket_id"]), str(target["mode"]), text, Step.MESSAGE
    )
    if isinstance(draft, str):
        if target["replied"]:
            return False  # a reply to a ticket no longer open is an ordinary message
        # The ticket moved on (resolved, cancelled, taken away) while the bot waited: nothing to wait for.
        await run_sync(_forget_pending, context, update)
        await _answer(update, context, draft)
        return True
    words = await thread.prepare_words(text, draft.language, draft.targets)
    answer, _, buttons = await run_sync(_write, context, update, draft, words, photos, location)
    await _answer(update, context, answer, buttons)
    return True


# --- /mytickets -----------------------------------------------------------------------------------------


def _open_tickets(
    context: ContextTypes.DEFAULT_TYPE, update: Update
) -> tuple[str, list[list[dict[str, str]]]]:
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
        mine = [x for x in tickets_for_reporter(session, me) if x.reporter_id == me.id and x.state in OPEN]
        rows: list[list[dict[str, str]]] = []
        for ticket in mine[:MAX_OPEN_LISTED]:
            for row in reporter_buttons(ticket, language):
                rows.append([{**b, "text": f"{ticket.ref} · {b['text']}"} for b in row])
        return say("thread.mytickets", language), rows


async def open_tickets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Under /mytickets: each open report with Reply / add details and Cancel."""
    text, rows = await run_sync(_open_tickets, context, update)
    if rows:
        await _answer(update, context, text, rows)
