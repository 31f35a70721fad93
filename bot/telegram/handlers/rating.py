"""The reporter's rating after resolution: 1–5 closes the ticket, "Not fixed" reopens it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import database, person_of, say
from community.database import utcnow
from community.people.models import Person
from community.tickets import notify
from community.tickets.errors import TicketError
from community.tickets.service import rate


def _rate(context: ContextTypes.DEFAULT_TYPE, reporter: Person, press: notify.Callback) -> str:
    with database(context).session() as session:
        me = session.get(Person, reporter.id)
        assert me is not None
        # Only the ticket's reporter may rate it: the service checks, from the database.
        ticket = rate(
            session, press.ticket_id, me, score=press.score, not_fixed=press.not_fixed, now=utcnow()
        )
        return ticket.ref


async def on_rating(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    reporter, language = await run_sync(person_of, context, update)
    press = notify.parse_callback(query.data)
    if press is None or press.kind != "rating":
        await query.answer(say("fallback.rephrase", language), show_alert=True)
        return
    try:
        ref = await run_sync(_rate, context, reporter, press)
    except TicketError as exc:
        await query.answer(exc.localized(language), show_alert=True)
        return
    await query.edit_message_reply_markup(None)
    if not press.not_fixed:
        # Closing the ticket sends the reporter its closing message through the outbox ("thank you, report …
        # is closed"); a second thank-you in the chat would say it twice, so the thanks is the button's toast.
        await query.answer(say("rating.thanks", language, score=press.score))
        return
    # Reopening tells everyone but the reporter (who acted): they hear it from here.
    await query.answer()
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, say("rating.reopened", language, ref=ref))
