"""How tickets read to the people who asked for them (shared by the chat actions and the bot's /mytickets)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from community.i18n import pick, t
from community.people.models import Person
from community.tickets.models import IssueCategory, Ticket
from community.tickets.queries import tickets_for_reporter

MAX_LISTED = 10


def ticket_line(session: Session, ticket: Ticket, language: str) -> str:
    category = session.get(IssueCategory, ticket.category_code) if ticket.category_code else None
    name = pick(category.names, language) if category else "—"
    state = t(f"state.{ticket.state}", language)
    return f"• {ticket.ref} · {name} · {state} · {ticket.created_at:%m-%d %H:%M}"


def reporter_tickets_text(session: Session, person: Person, language: str) -> str:
    """Only the person's own tickets (and those they follow), newest first."""
    tickets = tickets_for_reporter(session, person)[:MAX_LISTED]
    if not tickets:
        return t("tickets.none", language)
    return "\n".join([t("tickets.header", language), *(ticket_line(session, x, language) for x in tickets)])
