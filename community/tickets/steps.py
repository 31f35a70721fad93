"""The staff's steps after filing: accept, decline, resolve, escalate, and the sweeper's reminder (the
reporter's steps are in reporter_steps.py). Each checks the policy, changes the ticket through the
compare-and-set core, and announces the change (who hears what is the table in fanout.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from community.people.models import Person
from community.tickets import clock, policy, routing
from community.tickets.errors import InvalidInput, NoCandidate, NotAllowed
from community.tickets.fanout import announce, staff_audience
from community.tickets.models import Assignment, Ticket, TicketEvent, TicketState
from community.tickets.states import EVENT_KIND, Step
from community.tickets.transition import (
    FOLLOW_ESCALATION,
    TAKEN,
    accept_sla,
    assign,
    begin,
    category_of,
    change,
    follow,
    load,
    require_aware,
    resolve_sla,
    retire_assignments,
    serial,
    sla_for_state,
    taken,
)

S = TicketState

# A ticket nobody at all can be routed to is retried after 5 minutes, then after twice as long each time,
# and from then on once a day: the sweeper and the event log do not grow by one row every 5 minutes forever.
UNROUTED_FIRST_RETRY = timedelta(minutes=5)
UNROUTED_LONGEST_RETRY = timedelta(days=1)


# --- staff steps -----------------------------------------------------------------------------------------


def accept(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Take the ticket. Exactly one of many simultaneous presses wins; the rest get AlreadyTaken."""
    require_aware(now)
    ticket = load(session, ticket_id)
    if not policy.may(session, ticket, actor, Step.ACCEPT):
        # Everyone who was asked hears who won, although the winner's acceptance retired their assignment
        # (possibly between our reading the ticket and reading the assignment: read it again).
        if policy.was_asked(session, ticket, actor):
            session.refresh(ticket)
            if ticket.state in TAKEN:
                raise taken(session, ticket, actor)
        raise NotAllowed(ticket.ref, Step.ACCEPT.value, actor.id)
    if ticket.state in TAKEN:
        raise taken(session, ticket, actor)
    category = category_of(session, ticket)
    level = max(ticket.escalation_level, policy.level_of(actor, ticket))
    previous_owner = ticket.owner_id
    due = clock.deadline(ticket, category, now, resolve_sla(category))
    change(
        session,
        ticket,
        Step.ACCEPT,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"owner_id": actor.id, "accepted_at": now, "due_at": due, "escalation_level": level},
        data={"previous_owner": previous_owner, "due_at": due.isoformat(), "level": level},
    )
    informed = staff_audience(session, ticket)
    # The others who were asked (an emergency alert, earlier levels) are told who has it and drop it from
    # their task lists; they stay followers where they were.
    retire_assignments(session, ticket, except_person=actor.id)
    assign(session, ticket, actor, level, now)
    announce(session, ticket, Step.ACCEPT, now=now, actor=actor, staff=informed, name=actor.display_name)
    return ticket


def decline(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str = "",
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Can't take: the owner passes the ticket to the next candidate, or up the chain."""
    ticket = begin(session, ticket_id, actor, Step.DECLINE, expected_version, now)
    category = category_of(session, ticket)
    declined = set(
        session.scalars(
            select(Assignment.person_id).where(
                Assignment.ticket_id == ticket.id, Assignment.declined.is_(True)
            )
        )
    )
    decision = routing.route(
        session, ticket, category, min_level=ticket.escalation_level, exclude=frozenset(declined | {actor.id})
    )
    if decision.person is None:
        raise NoCandidate(ticket.ref, Step.DECLINE.value)
    owner = decision.person
    due = clock.deadline(ticket, category, now, accept_sla(category))
    from_level = ticket.escalation_level
    change(
        session,
        ticket,
        Step.DECLINE,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"owner_id": owner.id, "escalation_level": decision.level, "due_at": due},
        reason=reason.strip() or "can't take",
        data={
            "routing": decision.data(),
            "declined_by": actor.id,
            "from_level": from_level,
            "to_level": decision.level,
            "due_at": due.isoformat(),
        },
    )
    # Writes only after the compare-and-set won: a failed step leaves nothing behind, even if the
    # caller catches the error and commits.
    for assignment in session.scalars(
        select(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.person_id == actor.id)
    ):
        assignment.active = False
        assignment.declined = True
    assign(session, ticket, owner, decision.level, now)
    announce(session, ticket, Step.DECLINE, now=now, actor=actor, desk=decision.rule is routing.Rule.DESK)
    return ticket


def resolve(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    note: str,
    photo_file_ids: Sequence[str] = (),
    now: datetime,
    channel: str = "telegram",
    words: dict[str, Any] | None = None,
) -> Ticket:
    """Mark the work done with a note (and photos); the reporter is asked to rate it.

    `words` is the note as community/tickets/thread.py prepared it (a canned reply's curated texts or
    translations): each reporter then reads it in their own language."""
    ticket = begin(session, ticket_id, actor, Step.RESOLVE, expected_version, now)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(ticket.ref, "note", "a resolution needs a note")
    photos = list(photo_file_ids)
    change(
        session,
        ticket,
        Step.RESOLVE,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"resolved_at": now, "due_at": None},
        reason=note,
        data={"note": note, "photos": photos, **({"message": words} if words else {})},
    )
    announce(
        session,
        ticket,
        Step.RESOLVE,
        now=now,
        actor=actor,
        name=actor.display_name,
        note=note,
        photos=photos,
        words=words,
    )
    return ticket


def escalate_one_level(
    session: Session,
    ticket: Ticket,
    *,
    actor: Person | None,
    expected_version: int,
    cause: str,
    reason: str,
    now: datetime,
    channel: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> bool:
    """Move the ticket to the next rung above its level; False when there is nobody above."""
    category = category_of(session, ticket)
    decision = routing.route(session, ticket, category, min_level=ticket.escalation_level + 1)
    if decision.person is None:
        return False
    owner = decision.person
    previous_owner = ticket.owner_id
    from_level = ticket.escalation_level
    missed = ticket.due_at
    due = clock.deadline(ticket, category, now, sla_for_state(category, ticket.state))
    change(
        session,
        ticket,
        Step.ESCALATE,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={
            "owner_id": owner.id,
            "escalation_level": decision.level,
            "due_at": due,
            "sweep_lease_until": None,
        },
        reason=reason or decision.reason,
        data={
            "cause": cause,
            "from_level": from_level,
            "to_level": decision.level,
            "from_owner": previous_owner,
            "to_owner": owner.id,
            "missed_due_at": serial(missed) if cause == "overdue" else None,
            "due_at": due.isoformat(),
            "routing": decision.data(),
        },
        where=where,
    )
    assign(session, ticket, owner, decision.level, now)
    if previous_owner is not None and previous_owner != owner.id:
        follow(session, ticket.id, previous_owner, FOLLOW_ESCALATION)
    announce(
        session,
        ticket,
        Step.ESCALATE,
        now=now,
        actor=actor,
        reason=reason,
        level=decision.level,
        owner=owner.display_name,
    )
    return True


def unrouted_retry(session: Session, ticket: Ticket) -> timedelta:
    """5 minutes after the first try, doubling with each reminder already sent, at most a day."""
    reminders = session.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EVENT_KIND[Step.REMIND])
    )
    doublings = min(int(reminders or 0) + 1, 16)
    return min(UNROUTED_FIRST_RETRY * 2**doublings, UNROUTED_LONGEST_RETRY)


def remind(
    session: Session,
    ticket: Ticket,
    *,
    now: datetime,
    reason: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> None:
    """A missed deadline with nobody above: remind the owner and set a new deadline."""
    category = category_of(session, ticket)
    missed = ticket.due_at
    if ticket.state == S.NEW:
        due = now + unrouted_retry(session, ticket)  # routing is retried around the clock
    else:
        due = clock.deadline(ticket, category, now, sla_for_state(category, ticket.state))
    change(
        session,
        ticket,
        Step.REMIND,
        expected_version=ticket.version,
        actor=None,
        channel="system",
        now=now,
        values={"due_at": due, "sweep_lease_until": None},
        reason=reason,
        data={
            "cause": "overdue",
            "missed_due_at": serial(missed),
            "due_at": due.isoformat(),
            "level": ticket.escalation_level,
        },
        where=where,
    )
    announce(session, ticket, Step.REMIND, now=now)


def escalate(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str = "",
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """The owner asks the next level up to take over."""
    ticket = begin(session, ticket_id, actor, Step.ESCALATE, expected_version, now)
    done = escalate_one_level(
        session,
        ticket,
        actor=actor,
        expected_version=expected_version,
        cause="manual",
        reason=reason.strip(),
        now=now,
        channel=channel,
    )
    if not done:
        raise NoCandidate(ticket.ref, Step.ESCALATE.value)
    return ticket
