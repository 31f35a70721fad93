"""What a person may see: a reporter their own tickets and those they follow; staff their work.

Who may see what is decided in policy.py; these are the reads that follow its rules.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from community.people.models import Person
from community.tickets.duty import set_duty
from community.tickets.models import Assignment, Follower, Ticket, TicketEvent
from community.tickets.policy import may_see, visible_contact
from community.tickets.states import OPEN_WORK

__all__ = [
    "get_ticket",
    "get_ticket_for_person",
    "set_duty",
    "tasks_for_staff",
    "ticket_events",
    "tickets_for_reporter",
    "visible_contact",
]


def get_ticket(session: Session, ref: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.ref == ref.strip().upper()))


def _followed_ids(person: Person) -> object:
    return select(Follower.ticket_id).where(Follower.person_id == person.id)


def tickets_for_reporter(session: Session, person: Person) -> list[Ticket]:
    """The person's own reports and the ones they follow, newest first."""
    return list(
        session.scalars(
            select(Ticket)
            .where(or_(Ticket.reporter_id == person.id, Ticket.id.in_(_followed_ids(person))))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )


def get_ticket_for_person(session: Session, ref: str, person: Person) -> Ticket | None:
    """The ticket if this person may see it; None for a foreign ticket, exactly as for an unknown ref."""
    ticket = get_ticket(session, ref)
    if ticket is None or not may_see(session, ticket, person):
        return None
    return ticket


def tasks_for_staff(session: Session, person: Person) -> list[Ticket]:
    """Open work the person owns or is assigned to, most urgent deadline first."""
    assigned = select(Assignment.ticket_id).where(
        Assignment.person_id == person.id, Assignment.active.is_(True)
    )
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.state.in_(OPEN_WORK), or_(Ticket.owner_id == person.id, Ticket.id.in_(assigned)))
        .order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
    )
    return list(tickets)


def ticket_events(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    )
