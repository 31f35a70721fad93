"""The compare-and-set core: every change of a ticket goes through `change`.

`change` is an UPDATE on (id, version, state) that bumps the version, followed by exactly one appended
TicketEvent. Checks run in one order everywhere: who may act (policy: NotAllowed), then for Accept whether
someone already has it (AlreadyTaken), then the button's version (StaleVersion), then the state machine
(IllegalTransition), then the input (InvalidInput). Assignments, followers and deadlines live here too,
because every step writes them the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from community.grids.service import cached_get
from community.people.models import Person
from community.tickets import clock
from community.tickets.errors import AlreadyTaken, AlreadyYours, StaleVersion, TicketNotFound
from community.tickets.models import Assignment, Follower, IssueCategory, Ticket, TicketEvent, TicketState
from community.tickets.policy import actor_role, require
from community.tickets.states import EVENT_KIND, Step, allowed_from, next_state

S = TicketState

# Reports nobody's category covers go to the desk; these are the desk's own time limits.
DEFAULT_ACCEPT_SLA = timedelta(minutes=30)
DEFAULT_RESOLVE_SLA = timedelta(hours=24)

FOLLOW_DUPLICATE = "duplicate"  # a reporter of a linked duplicate: told what the reporter is told
FOLLOW_ESCALATION = "escalation"  # an earlier level: kept informed
FOLLOW_EMERGENCY = "emergency"  # alerted at once for an emergency

# Accept finds these states taken by someone else.
TAKEN = (S.ACCEPTED, S.RESOLVED, S.CLOSED)


def require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (UTC)")


def accept_sla(category: IssueCategory | None) -> timedelta:
    return timedelta(minutes=category.accept_sla_minutes) if category else DEFAULT_ACCEPT_SLA


def resolve_sla(category: IssueCategory | None) -> timedelta:
    return timedelta(minutes=category.resolve_sla_minutes) if category else DEFAULT_RESOLVE_SLA


def sla_for_state(category: IssueCategory | None, state: str) -> timedelta:
    return resolve_sla(category) if state == S.ACCEPTED else accept_sla(category)


def category_of(session: Session, ticket: Ticket) -> IssueCategory | None:
    return cached_get(session, IssueCategory, ticket.category_code) if ticket.category_code else None


def serial(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def load(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise TicketNotFound(f"#{ticket_id}")
    return ticket


def precheck(ticket: Ticket, step: Step, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise StaleVersion(ticket.ref, expected_version, ticket.version, ticket.state)
    next_state(step, ticket.state, ticket.ref)


def begin(
    session: Session, ticket_id: int, actor: Person, step: Step, expected_version: int | None, now: datetime
) -> Ticket:
    """What every step by a person starts with: an aware clock, the ticket as it is now, the actor's right to
    take the step (community/tickets/policy.py), and a version and a state the step can go from."""
    require_aware(now)
    ticket = load(session, ticket_id)
    require(session, ticket, actor, step)
    precheck(ticket, step, expected_version)
    return ticket


def _winner(session: Session, ticket: Ticket) -> tuple[int | None, str]:
    actor_id = session.scalar(
        select(TicketEvent.actor_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EVENT_KIND[Step.ACCEPT])
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    person = session.get(Person, actor_id) if actor_id is not None else None
    return actor_id, person.display_name if person else ""


def taken(session: Session, ticket: Ticket, actor: Person | None) -> AlreadyTaken:
    winner_id, name = _winner(session, ticket)
    # Telling a volunteer that a task "has been taken by" themselves reads like someone else has it.
    error = AlreadyYours if actor is not None and winner_id == actor.id else AlreadyTaken
    return error(ticket.ref, ticket.state, winner_id, name)


def change(
    session: Session,
    ticket: Ticket,
    step: Step,
    *,
    expected_version: int | None,
    actor: Person | None,
    channel: str,
    now: datetime,
    values: dict[str, Any] | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> TicketEvent:
    """Apply one step: UPDATE … WHERE id AND version AND state IN (…); then append its event."""
    expected = ticket.version if expected_version is None else expected_version
    precheck(ticket, step, expected)
    from_state = ticket.state
    to_state = next_state(step, from_state, ticket.ref)
    changes = {**(values or {}), "state": to_state.value, "version": expected + 1}
    clock.stamp(session, ticket, step.value, now, changes)  # the warning and "still on it" of a new deadline
    result = session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket.id,
            Ticket.version == expected,
            Ticket.state.in_(allowed_from(step)),
            *where,
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(ticket)
        if step is Step.ACCEPT and ticket.state in TAKEN:
            raise taken(session, ticket, actor)
        if ticket.version != expected:
            raise StaleVersion(ticket.ref, expected, ticket.version, ticket.state)
        next_state(step, ticket.state, ticket.ref)
        raise StaleVersion(ticket.ref, expected, ticket.version, ticket.state)  # a guard in `where` failed
    for key, value in changes.items():
        set_committed_value(ticket, key, value)
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=EVENT_KIND[step],
        actor_id=actor.id if actor else None,
        actor_role=actor_role(ticket, actor),
        channel=channel if actor else "system",
        from_state=from_state,
        to_state=to_state.value,
        reason=reason,
        data=data or {},
        at=now,
    )
    session.add(event)
    return event


def assign(session: Session, ticket: Ticket, person: Person, level: int, now: datetime) -> None:
    existing = session.scalar(
        select(Assignment).where(
            Assignment.ticket_id == ticket.id, Assignment.person_id == person.id, Assignment.active.is_(True)
        )
    )
    if existing is None:
        session.add(
            Assignment(ticket_id=ticket.id, person_id=person.id, level=level, active=True, created_at=now)
        )
    elif existing.level < level:
        existing.level = level


def retire_assignments(session: Session, ticket: Ticket, *, except_person: int | None = None) -> None:
    """Active assignments end (someone accepted, or the ticket was cancelled)."""
    query = update(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.active.is_(True))
    if except_person is not None:
        query = query.where(Assignment.person_id != except_person)
    session.execute(query.values(active=False).execution_options(synchronize_session="fetch"))


def follow(session: Session, ticket_id: int, person_id: int, reason: str) -> None:
    """Add a follower once; concurrent adds of the same pair are harmless (ON CONFLICT DO NOTHING)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Follower)
        .values(ticket_id=ticket_id, person_id=person_id, reason=reason)
        .on_conflict_do_nothing(index_elements=["ticket_id", "person_id"])
    )
