"""The transactional outbox: notifications are rows written in the transaction of the change causing them.

A relay (bot/) claims due messages, sends them and marks each sent or failed. Claims are leases: a relay that
dies mid-send loses its lease and another relay sends the message again, so delivery is at least once and
every message carries its id for the receiver to drop repeats. Attempts are counted when a message is
claimed, so a message that crashes the relay every time still reaches the dead letter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from community.database import Database, utcnow
from community.outbox.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from community.people.models import Person

DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 3600.0
ERROR_MAX_CHARS = 2000
# The payload key where a notification remembers how many of its parts were delivered (bot/telegram/jobs.py).
PARTS_SENT = "parts_sent"
# Telegram redelivers a webhook update for a day at most; a week of remembered update ids is ample, and
# without pruning the table grows by one row per message forever.
PROCESSED_UPDATES_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class ClaimedMessage:
    id: str
    recipient_id: int
    chat_id: str | None
    telegram_id: int | None
    kind: str
    ticket_id: int | None
    payload: dict[str, Any]
    attempts: int  # including the one this claim is for


def enqueue(
    session: Session,
    recipient: Person,
    kind: str,
    payload: dict[str, Any],
    ticket_id: int | None = None,
    *,
    now: datetime | None = None,
) -> OutboxMessage:
    """Write one notification in the caller's transaction; it is sent only if that transaction commits."""
    at = now or utcnow()
    message = OutboxMessage(
        id=str(uuid.uuid4()),
        recipient_id=recipient.id,
        ticket_id=ticket_id,
        kind=kind,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=at,
        created_at=at,
        last_error="",
    )
    session.add(message)
    return message


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after `attempts` failed tries: 5 s, 10 s, 20 s … capped at an hour."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))


def _due(now: datetime) -> list[Any]:
    return [
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    ]


def _deliverable_recipient() -> list[Any]:
    # Nobody to send to yet (a roster entry that never wrote to the bot) or blocked: the message waits.
    return [
        Person.blocked_bot.is_(False),
        or_(Person.chat_id.is_not(None), Person.telegram_id.is_not(None)),
    ]


def claim(
    database: Database,
    limit: int,
    now: datetime,
    lease_seconds: float,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[ClaimedMessage]:
    """Lease up to `limit` due messages, oldest first, for one relay; none is leased to two relays at once."""
    until = now + timedelta(seconds=lease_seconds)
    with database.session() as session:
        _bury_exhausted(session, now, max_attempts)
        query = (
            select(OutboxMessage.id)
            .join(Person, Person.id == OutboxMessage.recipient_id)
            .where(*_due(now), OutboxMessage.attempts < max_attempts, *_deliverable_recipient())
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
        if database.is_postgres:
            ids = list(session.scalars(query.with_for_update(of=OutboxMessage, skip_locked=True)))
            if ids:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(claimed_until=until, attempts=OutboxMessage.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
        else:
            # SQLite has no row locks to skip: each row is taken by a conditional update, which fails
            # harmlessly when another relay leased it between the select and the update.
            ids = []
            for message_id in session.scalars(query).all():
                taken = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id, *_due(now))
                    .values(claimed_until=until, attempts=OutboxMessage.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:
                    ids.append(message_id)
        if not ids:
            return []
        rows = session.execute(
            select(OutboxMessage, Person.chat_id, Person.telegram_id)
            .join(Person, Person.id == OutboxMessage.recipient_id)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .execution_options(populate_existing=True)
        ).all()
        return [
            ClaimedMessage(
                id=m.id,
                recipient_id=m.recipient_id,
                chat_id=chat_id,
                telegram_id=telegram_id,
                kind=m.kind,
                ticket_id=m.ticket_id,
                payload=dict(m.payload),
                attempts=m.attempts,
            )
            for m, chat_id, telegram_id in rows
        ]


def _bury_exhausted(session: Session, now: datetime, max_attempts: int) -> None:
    """Dead-letter messages whose last lease ran out without an answer (the relay died on its last try)."""
    session.execute(
        update(OutboxMessage)
        .where(*_due(now), OutboxMessage.attempts >= max_attempts)
        .values(status=OutboxStatus.DEAD, claimed_until=None, last_error="no answer after the last attempt")
        .execution_options(synchronize_session=False)
    )


def mark_sent(database: Database, message_id: str, now: datetime) -> None:
    with database.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status != OutboxStatus.SENT)
            .values(status=OutboxStatus.SENT, sent_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def mark_failed(
    database: Database,
    message_id: str,
    error: str,
    now: datetime,
    retry_after: float | None = None,
    permanent: bool = False,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    parts_sent: int | None = None,
) -> str:
    """Record a failed try; returns the message's new status (pending again, or dead).

    Telegram's own retry_after (a 429) wins over the back-off: it knows when it will take the message.
    `parts_sent`: how many parts of a notification of several (photos, place, text) reached the recipient
    before the failure; kept in the payload, so that the next try sends only the rest.
    """
    with database.session() as session:
        message = session.get(OutboxMessage, message_id, with_for_update=database.is_postgres)
        if message is None or message.status != OutboxStatus.PENDING:
            return message.status if message is not None else OutboxStatus.DEAD
        # attempts was counted by claim(); a failure reported without a claim still counts as a try.
        attempts = max(message.attempts, 1)
        message.attempts = attempts
        message.last_error = error[:ERROR_MAX_CHARS]
        message.claimed_until = None
        if parts_sent:
            message.payload = {**message.payload, PARTS_SENT: parts_sent}
        if permanent or attempts >= max_attempts:
            message.status = OutboxStatus.DEAD
        else:
            delay = retry_after if retry_after is not None else backoff_seconds(attempts)
            message.next_attempt_at = now + timedelta(seconds=max(0.0, delay))
        return message.status


def mark_blocked(database: Database, person_id: int, now: datetime | None = None) -> int:
    """The person blocked the bot (Telegram 403): stop trying them; returns how many messages died."""
    with database.session() as session:
        session.execute(
            update(Person)
            .where(Person.id == person_id)
            .values(blocked_bot=True)
            .execution_options(synchronize_session=False)
        )
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient_id == person_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(
                status=OutboxStatus.DEAD,
                claimed_until=None,
                last_error="recipient blocked the bot",
                next_attempt_at=now or utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)


def pending_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )
        or 0
    )


def prune_processed_updates(
    database: Database, now: datetime, kept: timedelta = PROCESSED_UPDATES_KEPT
) -> int:
    """Forgets the update ids recorded before `now - kept`; returns how many."""
    with database.session() as session:
        result = session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.at < now - kept))
        return int(result.rowcount or 0)
