"""The clock's sweeps, run with the escalation sweeper: the holder's warning before a deadline and the
reporter's "still on it" for a long-open ticket.

Each is exactly once per moment, across sweeps and sweeper processes: the ticket's `warn_at` (`nudge_at`)
changes by compare-and-set from the value read, and only the sweeper whose UPDATE changed the row writes the
event and the message, in the same transaction. A second sweeper's UPDATE finds the value gone (PostgreSQL
re-reads the row after the first commits; SQLite writes one at a time) and does nothing. The warning does not
bump the ticket version: the holder's buttons stay good.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from community.database import Database
from community.outbox.service import enqueue
from community.people.models import Person
from community.tickets import clock, clock_notices
from community.tickets.models import Ticket, TicketEvent, TicketState
from community.tickets.transition import require_aware

log = logging.getLogger(__name__)

BATCH = 200
WARNED_EVENT, NUDGED_EVENT = "warned", "still_on_it"


def _system_event(ticket: Ticket, kind: str, now: datetime, **data: object) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        actor_id=None,
        actor_role="system",
        channel="system",
        from_state=ticket.state,
        to_state=ticket.state,
        data=data,
        at=now,
    )


def warn(session: Session, ticket_id: int, now: datetime) -> bool:
    """Warn the holder of one ticket whose warning time came; False if another sweeper did, or it is moot."""
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None or ticket.warn_at is None or ticket.warn_at > now or ticket.owner_id is None:
        return False
    if ticket.state not in clock.WARNED_STATES or ticket.due_at is None or ticket.due_at <= now:
        return False
    won = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.warn_at == ticket.warn_at, Ticket.due_at == ticket.due_at)
        .values(warn_at=None)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        return False
    deadline = "resolve" if ticket.state == TicketState.ACCEPTED else "accept"
    session.add(_system_event(ticket, WARNED_EVENT, now, deadline=deadline, due_at=ticket.due_at.isoformat()))
    holder = session.get(Person, ticket.owner_id)
    if holder is not None:
        card = clock_notices.warning_card(session, ticket, holder)
        enqueue(session, holder, "clock.warning", card, ticket_id=ticket.id, now=now)
    return True


def nudge(session: Session, ticket_id: int, now: datetime) -> bool:
    """Tell the reporter of a long-open ticket that it is still being worked on; set the next time."""
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None or ticket.nudge_at is None or ticket.nudge_at > now:
        return False
    if ticket.state not in clock.NUDGED_STATES:
        return False
    following = clock.next_nudge(ticket, clock.category_of(session, ticket), now)
    won = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.nudge_at == ticket.nudge_at)
        .values(nudge_at=following)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        return False
    session.add(_system_event(ticket, NUDGED_EVENT, now, next_at=following.isoformat()))
    reporter = session.get(Person, ticket.reporter_id)
    if reporter is not None:
        payload = clock_notices.still_on_it(session, ticket, reporter)
        enqueue(session, reporter, "clock.still_on_it", payload, ticket_id=ticket.id, now=now)
    return True


def _due_ids(
    database: Database, now: datetime, column: InstrumentedAttribute[datetime | None], states: frozenset[str]
) -> list[int]:
    with database.session() as session:
        query = (
            select(Ticket.id)
            .where(column.is_not(None), column <= now, Ticket.state.in_(states))
            .order_by(column, Ticket.id)
            .limit(BATCH)
        )
        return list(session.scalars(query))


def _run(
    database: Database, ids: list[int], now: datetime, step: Callable[[Session, int, datetime], bool]
) -> list[int]:
    done = []
    for ticket_id in ids:
        try:
            with database.session() as session:
                if step(session, ticket_id, now):
                    done.append(ticket_id)
        except Exception:
            log.exception("clock sweep of ticket %s failed; it is tried again next sweep", ticket_id)
    return done


def sweep_clock(database: Database, now: datetime) -> dict[str, list[int]]:
    """Warnings due and "still on it" messages due before `now`; the ticket ids this sweeper handled."""
    require_aware(now)
    warned = _run(database, _due_ids(database, now, Ticket.warn_at, clock.WARNED_STATES), now, warn)
    nudged = _run(database, _due_ids(database, now, Ticket.nudge_at, clock.NUDGED_STATES), now, nudge)
    return {"warned": warned, "nudged": nudged}
