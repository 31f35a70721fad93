"""Who may do what with a ticket: the one set of rules the steps, the queries and the views all ask.

Roles come from the person's database rows, never from what a chat client claims. A rule answers yes or
no; `require` turns a no into NotAllowed naming the ticket and the step.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.people.models import Person, PersonRole, Role
from community.tickets.errors import NotAllowed
from community.tickets.models import Assignment, EscalationLevel, Follower, Ticket
from community.tickets.states import Step


def roles_of(person: Person) -> set[tuple[str, str | None]]:
    return {(r.role, r.grid_code) for r in person.roles}


def is_committee(person: Person) -> bool:
    return person.has_role(Role.COMMITTEE_MEMBER)


def is_desk(person: Person) -> bool:
    return person.has_role(Role.DESK)


def is_grid_member_of(person: Person, ticket: Ticket) -> bool:
    return ticket.grid_code is not None and (Role.GRID_MEMBER.value, ticket.grid_code) in roles_of(person)


def is_reporter(person: Person, ticket: Ticket) -> bool:
    return person.id == ticket.reporter_id


def is_owner(person: Person, ticket: Ticket) -> bool:
    return person.id == ticket.owner_id


def has_active_assignment(session: Session, ticket: Ticket, person: Person) -> bool:
    return (
        session.scalar(
            select(Assignment.id).where(
                Assignment.ticket_id == ticket.id,
                Assignment.person_id == person.id,
                Assignment.active.is_(True),
            )
        )
        is not None
    )


def was_assigned(session: Session, ticket: Ticket, person: Person) -> bool:
    """Assigned at any time, also an assignment retired when someone else accepted."""
    return (
        session.scalar(
            select(Assignment.id)
            .where(Assignment.ticket_id == ticket.id, Assignment.person_id == person.id)
            .limit(1)
        )
        is not None
    )


def was_asked(session: Session, ticket: Ticket, person: Person) -> bool:
    return not is_reporter(person, ticket) and was_assigned(session, ticket, person)


def follows(session: Session, ticket: Ticket, person: Person) -> bool:
    return (
        session.scalar(
            select(Follower.id).where(Follower.ticket_id == ticket.id, Follower.person_id == person.id)
        )
        is not None
    )


def may_handle(session: Session, ticket: Ticket, person: Person) -> bool:
    """Assigned staff, the ticket's grid member, or any committee member; never the reporter."""
    if is_reporter(person, ticket):
        return False
    return (
        is_owner(person, ticket)
        or is_committee(person)
        or is_grid_member_of(person, ticket)
        or has_active_assignment(session, ticket, person)
    )


def may_reopen(session: Session, ticket: Ticket, person: Person) -> bool:
    return is_reporter(person, ticket) or is_desk(person) or may_handle(session, ticket, person)


def may_cancel(session: Session, ticket: Ticket, person: Person) -> bool:
    """Its reporter, the desk, a committee member or the ticket's grid member."""
    return (
        is_reporter(person, ticket)
        or is_desk(person)
        or is_committee(person)
        or is_grid_member_of(person, ticket)
    )


Rule = Callable[[Session, Ticket, Person], bool]

# Step → who may take it. Accept has the same rule as Resolve; the owner alone passes a ticket on or up.
STEP_RULES: dict[Step, Rule] = {
    Step.ACCEPT: may_handle,
    Step.RESOLVE: may_handle,
    Step.DECLINE: lambda _s, ticket, person: is_owner(person, ticket),
    Step.ESCALATE: lambda _s, ticket, person: is_owner(person, ticket),
    Step.REOPEN: may_reopen,
    Step.RATE: lambda _s, ticket, person: is_reporter(person, ticket),
    Step.CANCEL: may_cancel,
    Step.LOCATE: lambda _s, ticket, person: is_reporter(person, ticket),
    # The conversation: the holder asks; the reporter answers; both (and staff who may handle it) write.
    Step.ASK: lambda _s, ticket, person: is_owner(person, ticket) and not is_reporter(person, ticket),
    Step.ANSWER: lambda _s, ticket, person: is_reporter(person, ticket),
    Step.MESSAGE: lambda s, ticket, person: is_reporter(person, ticket) or may_handle(s, ticket, person),
}


def may(session: Session, ticket: Ticket, person: Person, step: Step) -> bool:
    return STEP_RULES[step](session, ticket, person)


def require(session: Session, ticket: Ticket, person: Person, step: Step) -> None:
    if not may(session, ticket, person, step):
        raise NotAllowed(ticket.ref, step.value, person.id)


def may_see(session: Session, ticket: Ticket, person: Person) -> bool:
    """A reporter their own tickets and those they follow; staff the tickets of their grid or their work."""
    if person.id in (ticket.reporter_id, ticket.owner_id):
        return True
    if person.has_role(Role.DESK, Role.COMMITTEE_MEMBER) or is_grid_member_of(person, ticket):
        return True
    return follows(session, ticket, person) or was_assigned(session, ticket, person)


def contact_of(session: Session, ticket: Ticket) -> str | None:
    """The reporter's contact as given with the report, else the phone on their profile.

    A phone the reporter let the report form remember (phone_consented_at) is theirs to give per report: a
    report filed with "No contact" does not show it.
    """
    if ticket.contact:
        return ticket.contact
    return session.scalar(
        select(Person.phone).where(Person.id == ticket.reporter_id, Person.phone_consented_at.is_(None))
    )


def visible_contact(session: Session, ticket: Ticket, person: Person) -> str | None:
    """The reporter's contact: for the person holding the ticket (and the reporter) only."""
    if is_reporter(person, ticket):
        return ticket.contact
    if not is_owner(person, ticket):
        return None
    return contact_of(session, ticket)


def level_of(person: Person, ticket: Ticket) -> int:
    """The rung a person stands on for this ticket, for the level an acceptance records."""
    if is_committee(person):
        return EscalationLevel.COMMITTEE
    if is_grid_member_of(person, ticket):
        return EscalationLevel.GRID_MEMBER
    return EscalationLevel.BACKBONE


def actor_role(ticket: Ticket, person: Person | None) -> str:
    """The capacity in which a person acts on this ticket, for the event log."""
    if person is None:
        return "system"
    if is_reporter(person, ticket):
        return "reporter"
    roles = roles_of(person)
    if ticket.micro_grid_code and (Role.VOLUNTEER.value, ticket.micro_grid_code) in roles:
        return Role.VOLUNTEER.value
    if is_grid_member_of(person, ticket):
        return Role.GRID_MEMBER.value
    for role in (Role.COMMITTEE_MEMBER, Role.DESK, Role.VOLUNTEER, Role.GRID_MEMBER):
        if any(r == role.value for r, _ in roles):
            return role.value
    return next(iter(sorted(r for r, _ in roles)), "resident")


# --- extensions (延期): the holder asks, the level above decides (community/tickets/extension.py) ---------


def may_request_extension(session: Session, ticket: Ticket, person: Person) -> bool:
    return is_owner(person, ticket) and not is_reporter(person, ticket)


def may_decide_extension(session: Session, ticket: Ticket, person: Person, requester: Person) -> bool:
    """Someone a level above the requester on this ticket (another committee member at the top); never the
    requester, never the reporter."""
    if person.id == requester.id or is_reporter(person, ticket):
        return False
    above = min(level_of(requester, ticket) + 1, EscalationLevel.TOP)
    return level_of(person, ticket) >= above


def extension_deciders(session: Session, ticket: Ticket, requester: Person) -> list[Person]:
    """Who is asked: the ticket's grid members above a volunteer, else (or above a grid member) the
    committee members; the requester is never asked."""
    above = min(level_of(requester, ticket) + 1, EscalationLevel.TOP)
    wanted = []
    if above <= EscalationLevel.GRID_MEMBER and ticket.grid_code is not None:
        wanted.append(
            (PersonRole.role == Role.GRID_MEMBER.value) & (PersonRole.grid_code == ticket.grid_code)
        )
    for condition in [*wanted, PersonRole.role == Role.COMMITTEE_MEMBER.value]:
        query = (
            select(Person)
            .join(PersonRole, PersonRole.person_id == Person.id)
            .where(condition, Person.id != requester.id, Person.id != ticket.reporter_id)
            .order_by(Person.id)
        )
        found = {person.id: person for person in session.scalars(query)}
        if found:
            return list(found.values())
    return []


def may_go_on_duty(person: Person) -> bool:
    return person.has_role(Role.VOLUNTEER)
