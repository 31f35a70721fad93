"""The reporter's steps, and the ones anyone may take on a report: reopen, rate, cancel, locate.

Each checks the policy, changes the ticket through the compare-and-set core, and announces the change (who
hears what is the table in fanout.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.service import locate
from community.people.models import Person
from community.tickets import clock, clock_notices, policy
from community.tickets.errors import InvalidInput
from community.tickets.fanout import announce, staff_audience
from community.tickets.models import Rating, Ticket, Urgency
from community.tickets.states import OPEN, Step
from community.tickets.transition import (
    accept_sla,
    assign,
    begin,
    category_of,
    change,
    load,
    precheck,
    require_aware,
    retire_assignments,
)


def _reopen(
    session: Session,
    ticket: Ticket,
    actor: Person,
    expected_version: int,
    reason: str,
    now: datetime,
    channel: str,
    rating: str | None,
) -> None:
    category = category_of(session, ticket)
    due = clock.deadline(ticket, category, now, accept_sla(category))
    data: dict[str, Any] = {"due_at": due.isoformat()}
    if rating:
        data["rating"] = rating
    change(
        session,
        ticket,
        Step.REOPEN,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"due_at": due, "sweep_lease_until": None},
        reason=reason,
        data=data,
    )
    owner = session.get(Person, ticket.owner_id) if ticket.owner_id else None
    if owner is not None:
        assign(session, ticket, owner, ticket.escalation_level, now)
    announce(session, ticket, Step.REOPEN, now=now, actor=actor, reason=reason)
    clock_notices.tell_reporter(session, ticket, now, "reopen")


def reopen(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Reopen a resolved ticket (the reporter, its staff or the desk), with a reason."""
    ticket = begin(session, ticket_id, actor, Step.REOPEN, expected_version, now)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(ticket.ref, "reason", "reopening needs a reason")
    _reopen(session, ticket, actor, expected_version, reason, now, channel, rating=None)
    return ticket


def rate(
    session: Session,
    ticket_id: int,
    actor: Person,
    *,
    score: int | None = None,
    not_fixed: bool = False,
    now: datetime,
    channel: str = "telegram",
    expected_version: int | None = None,
) -> Ticket:
    """The reporter's verdict on a resolution: 1–5 closes the ticket, "not fixed" reopens it.

    Rating buttons carry no version: they stay valid for as long as the ticket is resolved.
    """
    require_aware(now)
    ticket = load(session, ticket_id)
    policy.require(session, ticket, actor, Step.RATE)
    step = Step.REOPEN if not_fixed else Step.RATE
    precheck(ticket, step, expected_version)
    version = ticket.version if expected_version is None else expected_version
    if not_fixed:
        _reopen(
            session, ticket, actor, version, "not fixed (reporter's rating)", now, channel, rating="not_fixed"
        )
        session.add(Rating(ticket_id=ticket.id, person_id=actor.id, score=None, not_fixed=True, at=now))
        return ticket
    if score is None or not 1 <= int(score) <= 5:
        raise InvalidInput(ticket.ref, "score", "a rating is 1 to 5")
    score = int(score)
    change(
        session,
        ticket,
        Step.RATE,
        expected_version=version,
        actor=actor,
        channel=channel,
        now=now,
        values={"closed_at": now, "due_at": None},
        reason=f"rated {score}",
        data={"rating": score},
    )
    session.add(Rating(ticket_id=ticket.id, person_id=actor.id, score=score, not_fixed=False, at=now))
    announce(session, ticket, Step.RATE, now=now, actor=actor, score=str(score))
    return ticket


def cancel(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str = "",
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Withdraw an open ticket: its reporter, the desk, a committee member or the ticket's grid member."""
    ticket = begin(session, ticket_id, actor, Step.CANCEL, expected_version, now)
    reason = (reason or "").strip()
    if not reason:
        if not policy.is_reporter(actor, ticket):
            raise InvalidInput(ticket.ref, "reason", "staff cancelling a report must say why")
        reason = "withdrawn by the reporter"
    staff = staff_audience(session, ticket)
    change(
        session,
        ticket,
        Step.CANCEL,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"closed_at": now, "due_at": None, "sweep_lease_until": None},
        reason=reason,
    )
    retire_assignments(session, ticket)
    announce(session, ticket, Step.CANCEL, now=now, actor=actor, staff=staff, reason=reason)
    return ticket


def add_location(
    session: Session,
    ticket_id: int,
    actor: Person,
    lat: float,
    lon: float,
    *,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """The reporter says where it is after filing (an emergency alert goes out before the location is known):
    the ticket gets the place, and the staff on it get the location at once."""
    require_aware(now)
    ticket = load(session, ticket_id)
    policy.require(session, ticket, actor, Step.LOCATE)
    micro = locate(session, lat, lon)
    values: dict[str, Any] = {"lat": lat, "lon": lon}
    if micro is not None and ticket.micro_grid_code is None:
        values |= {"micro_grid_code": micro.code, "grid_code": micro.parent_code}
    change(
        session,
        ticket,
        Step.LOCATE,
        expected_version=None,
        actor=actor,
        channel=channel,
        now=now,
        values=values,
        data={"lat": lat, "lon": lon},
    )
    announce(session, ticket, Step.LOCATE, now=now, actor=actor)
    return ticket


def open_emergency_of(session: Session, reporter: Person, now: datetime, within: timedelta) -> Ticket | None:
    """The reporter's latest emergency still open and filed within `within`, without a location yet."""
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.reporter_id == reporter.id,
            Ticket.urgency == Urgency.EMERGENCY,
            Ticket.state.in_(OPEN),
            Ticket.lat.is_(None),
            Ticket.created_at >= now - within,
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )
