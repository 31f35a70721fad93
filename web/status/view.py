"""What a ticket's status page shows: public facts only.

State, category, place, when it was filed, the expected time (the ticket's current deadline), the history of
public steps and the community's public messages. Never a name, a phone number, the description (a reporter
may have written their own number into it) or anything about another person; no internal reasons or notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.i18n import catalogue, t
from community.servicemap.hours import local_time
from community.tickets import notify
from community.tickets.models import Ticket, TicketEvent, TicketState

# Event kinds the reporter may see, and the text each stands for. Others (reminders, reroutes between
# volunteers, locating on a map) are the staff's business.
_STATE_OF_KIND = {
    "created": TicketState.NEW,
    "routed": TicketState.DISPATCHED,
    "accepted": TicketState.ACCEPTED,
    "resolved": TicketState.RESOLVED,
    "reopened": TicketState.REOPENED,
    "cancelled": TicketState.CANCELLED,
    "linked": TicketState.DUPLICATE,
}
# The kind of a conversation message on a ticket (holder ↔ reporter); shown only when its data says public.
MESSAGE_KIND = "message"
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Step:
    at: str
    text: str


@dataclass(frozen=True)
class PublicMessage:
    at: str
    text: str
    translated: bool


@dataclass
class StatusView:
    ref: str
    state: str
    state_text: str
    category: str
    place: str
    filed: str
    expected_label: str = ""
    expected: str = ""
    overdue: bool = False
    closed: bool = False
    history: list[Step] = field(default_factory=list)
    messages: list[PublicMessage] = field(default_factory=list)


def _when(at: datetime) -> str:
    return f"{local_time(at):{TIME_FORMAT}}"


def state_text(state: str, language: str) -> str:
    """A state as the reporter reads it (chat.yml); a state added later without a text there reads as the
    staff's name for it, or as itself."""
    for key in (f"state.{state}", f"ticket.state.{state}"):
        if key in catalogue():
            return t(key, language)
    return state


def _step_text(event: TicketEvent, language: str) -> str | None:
    data: dict[str, Any] = event.data or {}
    if event.kind == "escalated":
        return t("webchat.status.event.escalated", language)
    if event.kind == "rated":
        score = data.get("rating")
        return t("webchat.status.event.rated", language, score=score) if score else None
    if event.kind == "reopened" and data.get("rating") == "not_fixed":
        return t("webchat.status.event.not_fixed", language)
    state = _STATE_OF_KIND.get(event.kind)
    return state_text(state, language) if state is not None else None


def _message(event: TicketEvent, language: str) -> PublicMessage | None:
    """A public message in the reader's language when a translation is stored, else as written."""
    data: dict[str, Any] = event.data or {}
    if data.get("public") is not True:
        return None
    original = data.get("text")
    translations = data.get("translations")
    translated = translations.get(language) if isinstance(translations, dict) else None
    if isinstance(translated, str) and translated and data.get("language") != language:
        # A canned reply's texts are curated, not machine-translated.
        return PublicMessage(_when(event.at), translated, not data.get("canned"))
    if isinstance(original, str) and original:
        return PublicMessage(_when(event.at), original, False)
    return None


def status_view(session: Session, ticket: Ticket, language: str, now: datetime) -> StatusView:
    view = notify.load_view(session, ticket)
    page = StatusView(
        ref=ticket.ref,
        state=ticket.state,
        state_text=state_text(ticket.state, language),
        category=notify.category_name(view, language),
        place=notify.place_name(view, language),
        filed=_when(ticket.created_at),
        closed=ticket.state in (TicketState.CLOSED, TicketState.CANCELLED, TicketState.DUPLICATE),
    )
    if ticket.due_at is not None and ticket.state in (
        TicketState.DISPATCHED,
        TicketState.REOPENED,
        TicketState.ACCEPTED,
    ):
        waiting = ticket.state != TicketState.ACCEPTED
        page.expected_label = t(
            "webchat.status.expected_accept" if waiting else "webchat.status.expected", language
        )
        page.expected = _when(ticket.due_at)
        page.overdue = ticket.due_at < now
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.at, TicketEvent.id)
    )
    for event in events:
        if event.kind == MESSAGE_KIND:
            message = _message(event, language)
            if message is not None:
                page.messages.append(message)
            continue
        text = _step_text(event, language)
        if text is not None:
            page.history.append(Step(_when(event.at), text))
    return page
