"""Extensions (延期) in the chat: "More time" on the holder's task card → how many working days → the reason
as the next message → a card to the level above, who approves or refuses with one tap.

Buttons (community/tickets/clock_notices.py): `xt:ask:<ticket>`, `xt:d:<ticket>:<days>`, `xt:ok:<request>`,
`xt:no:<request>`. Which ticket the holder is giving a reason for lives in the database (conversation state
"extension_reason", one hour), like a pending Resolve: any bot process takes the reason. Roles come from the
database (community/tickets/policy.py); a press by anyone else gets a polite refusal.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.jobs import deliver
from bot.telegram.render import send_text
from community.conversations import service as conversations
from community.database import utcnow
from community.i18n import t
from community.tickets import clock, clock_notices, policy
from community.tickets.errors import IllegalTransition, TicketError
from community.tickets.extension import decide_extension, request_extension
from community.tickets.models import Ticket, TicketState
from community.tickets.states import Step

PENDING = "extension_reason"


def _offer_days(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int
) -> tuple[dict[str, Any] | None, str]:
    """The days to choose from, for the holder of an accepted ticket; None with the refusal otherwise."""
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        lang = me.preferred_language
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not policy.may_request_extension(session, ticket, me):
            return None, say("bot.staff_only", lang)
        if ticket.state != TicketState.ACCEPTED:
            return None, IllegalTransition(ticket.ref, ticket.state, Step.EXTEND.value).localized(lang)
        choices = clock.community_calendar().rules.extension_working_days
        payload = {
            "text": t("clock.ask_days", lang, ref=ticket.ref),
            "buttons": clock_notices.days_buttons(ticket, list(choices), lang),
        }
        return payload, lang


def _wait_for_reason(context: ContextTypes.DEFAULT_TYPE, update: Update, ticket_id: int, days: int) -> str:
    user = chat_user(update)
    with database(context).session() as session:
        me = assistant(context).person_for(session, user)
        lang = me.preferred_language
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not policy.may_request_extension(session, ticket, me):
            return say("bot.staff_only", lang)
        if days not in clock.community_calendar().rules.extension_working_days:
            return say("fallback.rephrase", lang)
        conversations.put(session, PENDING, user.key, {"ticket_id": ticket_id, "days": days}, utcnow())
        return t("clock.ask_reason", lang, ref=ticket.ref, days=days)


def _decide(
    context: ContextTypes.DEFAULT_TYPE, update: Update, request_id: int, approve: bool
) -> tuple[str, bool]:
    """(answer, failed)."""
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        lang = me.preferred_language
    try:
        with database(context).session() as session:
            me = assistant(context).person_for(session, chat_user(update))
            _, ticket = decide_extension(session, request_id, me, approve, now=utcnow())
            if approve:
                assert ticket.due_at is not None
                when = clock_notices.when(ticket.due_at, lang)
                return t("clock.decided.approved", lang, ref=ticket.ref, when=when), False
            return t("clock.decided.refused", lang, ref=ticket.ref), False
    except TicketError as exc:
        return exc.localized(lang), True


async def on_extension_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    actor, language = await run_sync(person_of, context, update)
    press = clock_notices.parse(query.data)
    if not actor.is_staff:
        await query.answer(say("bot.staff_only", language), show_alert=True)
        return
    if press is None:
        await query.answer(say("fallback.rephrase", language), show_alert=True)
        return
    action, number, days = press
    chat_id = update.effective_chat.id
    if action == "ask":
        payload, text = await run_sync(_offer_days, context, update, number)
        if payload is None:
            await query.answer(text, show_alert=True)
            return
        await query.answer()
        await deliver(context.bot, chat_id, payload)
    elif action == "d":
        assert days is not None
        text = await run_sync(_wait_for_reason, context, update, number, days)
        await query.answer()
        await send_text(context.bot, chat_id, text)
    else:
        text, failed = await run_sync(_decide, context, update, number, action == "ok")
        await query.answer(text, show_alert=failed)
        await query.edit_message_reply_markup(None)
        if not failed:
            await send_text(context.bot, chat_id, text)


def _request_pending(context: ContextTypes.DEFAULT_TYPE, update: Update, reason: str) -> str | None:
    """Files the extension request the sender chose days for, with this reason; None when none is pending."""
    user = chat_user(update)
    now = utcnow()
    with database(context).session() as session:
        pending = conversations.get(session, PENDING, user.key, now)
        if pending is None:
            return None
        lang = assistant(context).person_for(session, user).preferred_language
    try:
        with database(context).session() as session:
            conversations.forget(session, PENDING, user.key)  # with the request: both happen, or neither
            me = assistant(context).person_for(session, user)
            done = request_extension(
                session, int(pending["ticket_id"]), me, int(pending["days"]), reason, now=now
            )
            names = ("、" if lang[:2] in ("zh", "ja") else ", ").join(
                p.display_name for p in done.deciders[:3]
            )
            return t("clock.requested", lang, ref=done.ticket.ref, name=names)
    except TicketError as exc:
        if getattr(exc, "field", None) != "reason":
            with database(context).session() as session:
                conversations.forget(session, PENDING, user.key)
        return exc.localized(lang)


async def reason_for_extension(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The text after choosing the days is the reason; False when no extension is waiting for one."""
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    answer = await run_sync(_request_pending, context, update, (message.text or "").strip())
    if answer is None:
        return False
    await send_text(context.bot, update.effective_chat.id, answer)
    return True
