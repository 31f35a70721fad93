"""Extensions (延期): the holder of an accepted ticket asks for more time with a reason; someone a level above
in the escalation chain (a grid member above a volunteer, a committee member above a grid member) approves
or refuses with one tap. Approval is the EXTEND step (the resolve deadline moves, the version with it) and the
reporter hears the new expected time; refusal is an event and a message to the holder. Each request is
decided once: its status changes by compare-and-set from "pending".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from community.outbox.service import enqueue
from community.people.models import Person
from community.tickets import clock, clock_notices, policy
from community.tickets.errors import InvalidInput, NoCandidate, NotAllowed, TicketError, TicketNotFound
from community.tickets.models import ExtensionRequest, Ticket, TicketEvent, TicketState
from community.tickets.states import Step, next_state
from community.tickets.transition import change, load, require_aware

PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
REQUESTED_EVENT, REFUSED_EVENT = "extension_requested", "extension_refused"
REASON_CHARS = 500


class ExtensionPending(TicketError):
    key = "clock.error.pending"

    def __init__(self, ref: str) -> None:
        super().__init__(ref, f"ticket {ref}: an extension request is already pending")


class ExtensionDecided(TicketError):
    key = "clock.error.decided"

    def __init__(self, ref: str) -> None:
        super().__init__(ref, f"ticket {ref}: this extension request has been decided")


class ExtensionOutOfDate(TicketError):
    key = "clock.error.out_of_date"

    def __init__(self, ref: str) -> None:
        super().__init__(ref, f"ticket {ref}: the deadline moved since the request")


def _note(
    session: Session, ticket: Ticket, kind: str, actor: Person, channel: str, now: datetime, **data: Any
) -> None:
    """An event that leaves the state (and the version, so the holder's buttons stay good) as it is."""
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=kind,
            actor_id=actor.id,
            actor_role=policy.actor_role(ticket, actor),
            channel=channel,
            from_state=ticket.state,
            to_state=ticket.state,
            reason=str(data.pop("reason", "")),
            data=data,
            at=now,
        )
    )


@dataclass(frozen=True)
class Requested:
    request: ExtensionRequest
    ticket: Ticket
    deciders: list[Person]


def request_extension(
    session: Session,
    ticket_id: int,
    actor: Person,
    working_days: int,
    reason: str,
    *,
    now: datetime,
    channel: str = "telegram",
) -> Requested:
    """The holder asks; the deciders a level above get a card with Approve / Refuse."""
    require_aware(now)
    ticket = load(session, ticket_id)
    if not policy.may_request_extension(session, ticket, actor):
        raise NotAllowed(ticket.ref, Step.EXTEND.value, actor.id)
    next_state(Step.EXTEND, ticket.state, ticket.ref)  # accepted tickets only: the resolve deadline
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(ticket.ref, "reason", "an extension needs a reason")
    if working_days not in clock.community_calendar().rules.extension_working_days:
        raise InvalidInput(ticket.ref, "reason", f"{working_days} working days is not an offered extension")
    pending = session.scalar(
        select(ExtensionRequest.id).where(
            ExtensionRequest.ticket_id == ticket.id, ExtensionRequest.status == PENDING
        )
    )
    if pending is not None:
        raise ExtensionPending(ticket.ref)
    deciders = policy.extension_deciders(session, ticket, actor)
    if not deciders or ticket.due_at is None:
        raise NoCandidate(ticket.ref, Step.EXTEND.value)
    request = ExtensionRequest(
        ticket_id=ticket.id,
        requested_by=actor.id,
        working_days=working_days,
        reason=reason[:REASON_CHARS],
        due_at=ticket.due_at,
        status=PENDING,
        created_at=now,
    )
    session.add(request)
    session.flush()
    new_due = clock.extension_due(ticket.due_at, working_days)
    _note(
        session,
        ticket,
        REQUESTED_EVENT,
        actor,
        channel,
        now,
        reason=request.reason,
        request_id=request.id,
        working_days=working_days,
        due_at=ticket.due_at.isoformat(),
        deciders=[p.id for p in deciders],
    )
    for decider in deciders:
        card = clock_notices.request_card(session, ticket, request, actor, decider, new_due)
        enqueue(session, decider, "clock.extension_request", card, ticket_id=ticket.id, now=now)
    return Requested(request, ticket, deciders)


def decide_extension(
    session: Session,
    request_id: int,
    actor: Person,
    approve: bool,
    *,
    now: datetime,
    channel: str = "telegram",
) -> tuple[ExtensionRequest, Ticket]:
    """Approve (the deadline moves) or refuse (it stays); exactly one decision per request."""
    require_aware(now)
    request = session.get(ExtensionRequest, request_id, populate_existing=True)
    if request is None:
        raise TicketNotFound(f"#{request_id}")
    ticket = load(session, request.ticket_id)
    requester = session.get(Person, request.requested_by)
    assert requester is not None
    if not policy.may_decide_extension(session, ticket, actor, requester):
        raise NotAllowed(ticket.ref, Step.EXTEND.value, actor.id)
    if request.status != PENDING:
        raise ExtensionDecided(ticket.ref)
    holder = session.get(Person, ticket.owner_id) if ticket.owner_id else None
    moot = ticket.state != TicketState.ACCEPTED or ticket.due_at != request.due_at or holder is None
    if approve and moot:
        # Resolved, handed on or re-deadlined since the request. Checked before anything is written: a failed
        # decision leaves nothing behind, even if the caller catches the error and commits.
        raise ExtensionOutOfDate(ticket.ref)
    won = session.execute(
        update(ExtensionRequest)
        .where(ExtensionRequest.id == request.id, ExtensionRequest.status == PENDING)
        .values(status=APPROVED if approve else REFUSED, decided_by=actor.id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        raise ExtensionDecided(ticket.ref)
    session.refresh(request)
    if not approve:
        _note(session, ticket, REFUSED_EVENT, actor, channel, now, request_id=request.id)
        if holder is not None and ticket.due_at is not None:
            payload = clock_notices.refused(ticket, holder, actor)
            enqueue(session, holder, "clock.extension_refused", payload, ticket_id=ticket.id, now=now)
        return request, ticket
    assert holder is not None and ticket.due_at is not None
    new_due = clock.extension_due(request.due_at, request.working_days)
    change(
        session,
        ticket,
        Step.EXTEND,
        expected_version=ticket.version,
        actor=actor,
        channel=channel,
        now=now,
        values={"due_at": new_due, "sweep_lease_until": None},
        reason=request.reason,
        data={
            "request_id": request.id,
            "working_days": request.working_days,
            "missed_due_at": None,
            "from_due_at": request.due_at.isoformat(),
            "due_at": new_due.isoformat(),
            "requested_by": requester.id,
        },
        where=[Ticket.due_at == request.due_at],
    )
    enqueue(
        session,
        holder,
        "clock.extended",
        clock_notices.extended_card(session, ticket, holder),
        ticket_id=ticket.id,
        now=now,
    )
    clock_notices.tell_reporter(session, ticket, now, "extension")
    return request, ticket
