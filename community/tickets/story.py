"""The whole story of a ticket on its task card: the conversation, how long it has waited, how often it was
reopened. A card stays one Telegram message: the latest messages are shown, each cut short, and the card's
"Full text" button gives everything (community/tickets/views.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from community.i18n import t
from community.people.models import Person
from community.tickets.models import Ticket, TicketEvent, TicketState
from community.tickets.notify import esc, local_time, shorten
from community.tickets.thread_notify import reads

S = TicketState

CARD_MESSAGES = 4  # the latest messages on a card
CARD_MESSAGE_CHARS = 160  # each, as the reader reads it (a translation with its original)


def waiting_since(session: Session, ticket: Ticket) -> datetime | None:
    """When the current wait began: the last step into WAITING from another state."""
    return session.scalar(
        select(TicketEvent.at)
        .where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.to_state == S.WAITING.value,
            TicketEvent.from_state != S.WAITING.value,
        )
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )


def messages(session: Session, ticket: Ticket) -> list[TicketEvent]:
    """The conversation on a ticket, oldest first."""
    return list(
        session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "message")
            .order_by(TicketEvent.id)
        )
    )


@dataclass(frozen=True)
class Story:
    lines: list[str]  # HTML, escaped
    shortened: bool  # something was left out: the card offers the full text


def reopened_count(session: Session, ticket: Ticket) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "reopened")
        )
        or 0
    )


def message_line(
    event: TicketEvent, ticket: Ticket, language: str, limit: int | None, staff: bool = True
) -> str:
    """One message as its reader reads it: time, who, the text (for staff translated, with its original)."""
    who = "thread.card.reporter" if event.actor_id == ticket.reporter_id else "thread.card.staff"
    data = event.data or {}
    text = reads(data, language, staff=staff).replace("\n", " · ")
    if data.get("photos"):
        text = f"{text} 📷×{len(data['photos'])}".strip()
    if data.get("location"):
        text = f"{text} 📍".strip()
    if limit is not None:
        text = shorten(text, limit)
    return f"• {local_time(event.at)[5:]} {t(who, language)}: {text}"


def story(session: Session, ticket: Ticket, person: Person) -> Story:
    lang = person.preferred_language
    lines: list[str] = []
    if ticket.state == TicketState.WAITING and (since := waiting_since(session, ticket)) is not None:
        lines.append(t("thread.card.waiting", lang, time=local_time(since)))
    if reopened := reopened_count(session, ticket):
        lines.append(t("thread.card.reopened", lang, count=reopened))
    thread = messages(session, ticket)
    shortened = len(thread) > CARD_MESSAGES
    if thread:
        lines.append(t("thread.card.thread", lang))
        if shortened:
            lines.append(t("thread.card.earlier", lang, count=len(thread) - CARD_MESSAGES))
        for event in thread[-CARD_MESSAGES:]:
            full = message_line(event, ticket, lang, None)
            line = message_line(event, ticket, lang, CARD_MESSAGE_CHARS)
            shortened = shortened or line != full
            lines.append(esc(line))
    return Story(lines, shortened)
