"""The SLA sweeper: tickets that missed their deadline move one level up the chain.

Several sweepers may run at once (bot replicas, a cron job). Each overdue ticket is handled exactly once
per missed deadline:

- PostgreSQL: a batch of overdue rows is locked with SELECT … FOR UPDATE SKIP LOCKED, so a second sweeper
  takes other rows and never waits;
- SQLite (no row locks): a conditional UPDATE of `sweep_lease_until` leases each row to one sweeper;
- on both, the escalation itself is a compare-and-set guarded by the missed `due_at`, so even a sweeper
  whose lease ran out cannot escalate a ticket a second time for the same deadline.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from community.database import Database
from community.tickets import notify
from community.tickets.filing import begin_write, dispatch
from community.tickets.models import Ticket, TicketState
from community.tickets.states import SWEPT
from community.tickets.steps import escalate_one_level, remind
from community.tickets.transition import category_of, require_aware

log = logging.getLogger(__name__)

DEFAULT_BATCH = 200
DEFAULT_LEASE_SECONDS = 120.0


def _overdue(now: datetime) -> list[object]:
    return [Ticket.state.in_(SWEPT), Ticket.due_at.is_not(None), Ticket.due_at < now]


def handle_overdue(session: Session, ticket_id: int, now: datetime) -> bool:
    """Escalate one overdue ticket (or remind its owner at the top, or retry routing a NEW one)."""
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None or ticket.state not in SWEPT or ticket.due_at is None or ticket.due_at >= now:
        return False
    # The missed deadline itself guards the update: it can be acted on once.
    guard = [Ticket.due_at == ticket.due_at, Ticket.due_at < now]
    if ticket.state == TicketState.NEW:
        if dispatch(
            session, ticket, category_of(session, ticket), notify.Notifier(session, ticket, now), now
        ):
            return True
        remind(session, ticket, now=now, reason="still nobody to route to", where=guard)
        return True
    if escalate_one_level(
        session,
        ticket,
        actor=None,
        expected_version=ticket.version,
        cause="overdue",
        reason="",
        now=now,
        channel="system",
        where=guard,
    ):
        return True
    remind(session, ticket, now=now, reason="deadline missed at the top of the chain", where=guard)
    return True


def _handle_batch(session: Session, ids: list[int], now: datetime, failed: set[int]) -> list[int]:
    done = []
    for ticket_id in ids:
        try:
            with session.begin_nested():
                if handle_overdue(session, ticket_id, now):
                    done.append(ticket_id)
        except Exception:
            log.exception("escalating ticket %s failed; it stays overdue and is retried", ticket_id)
            failed.add(ticket_id)
    return done


def escalate_overdue(
    database: Database,
    now: datetime,
    *,
    batch_size: int = DEFAULT_BATCH,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> list[int]:
    """Handle every ticket whose deadline passed before `now`; returns the ids this sweeper handled."""
    require_aware(now)
    if database.is_postgres:
        return _sweep_postgres(database, now, batch_size)
    return _sweep_sqlite(database, now, batch_size, lease_seconds)


def _sweep_postgres(database: Database, now: datetime, batch_size: int) -> list[int]:
    handled: list[int] = []
    failed: set[int] = set()
    while True:
        with database.session() as session:
            query = (
                select(Ticket.id).where(*_overdue(now)).order_by(Ticket.due_at, Ticket.id).limit(batch_size)
            )
            if failed:
                query = query.where(Ticket.id.not_in(failed))
            ids = list(session.scalars(query.with_for_update(of=Ticket, skip_locked=True)))
            if not ids:
                break
            done = _handle_batch(session, ids, now, failed)
        handled += done  # only once the batch committed
    return handled


def _sweep_sqlite(database: Database, now: datetime, batch_size: int, lease_seconds: float) -> list[int]:
    handled: list[int] = []
    failed: set[int] = set()
    until = now + timedelta(seconds=lease_seconds)
    lease_free = or_(Ticket.sweep_lease_until.is_(None), Ticket.sweep_lease_until < now)
    while True:
        with database.session() as session:
            ids = list(
                session.scalars(
                    select(Ticket.id)
                    .where(*_overdue(now), lease_free)
                    .order_by(Ticket.due_at, Ticket.id)
                    .limit(batch_size)
                )
            )
            leased = []
            for ticket_id in ids:
                result = session.execute(
                    update(Ticket)
                    .where(Ticket.id == ticket_id, *_overdue(now), lease_free)
                    .values(sweep_lease_until=until)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    leased.append(ticket_id)
        if not ids:
            break
        if not leased:
            continue  # another sweeper leased all of these; the next select skips them
        with database.session() as session:
            # One write transaction for the batch: one commit instead of one per ticket.
            begin_write(session)
            done = _handle_batch(session, leased, now, failed)
        handled += done
    return handled
