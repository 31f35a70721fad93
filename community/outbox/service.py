"""The transactional outbox: notifications are rows written in the transaction of the change causing them.

A relay (bot/) claims due messages, sends them and marks each sent or failed. A claim is a lease: a token
(the relay's name and a nonce) and an expiry. Every mark is a compare-and-set on the token, so a relay whose
message was claimed again (its lease ran out, another relay took it) changes nothing and is told so; a relay
sends only while its lease has time left. A relay that dies mid-send loses its lease and the message is sent
again, so delivery is at least once; the relay's delivery journal (journal.py) closes most of that window.
Attempts are counted when a message is claimed, so a message that crashes the relay every time still reaches
the dead letter.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from community.database import Database, utcnow
from community.outbox.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from community.people.models import Person

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 3600.0
ERROR_MAX_CHARS = 2000
# The payload key where a notification remembers how many of its parts were delivered (bot/telegram/jobs.py).
PARTS_SENT = "parts_sent"
# Telegram redelivers a webhook update for a day at most; a week of remembered update ids is ample, and
# without pruning the table grows by one row per message forever.
PROCESSED_UPDATES_KEPT = timedelta(days=7)


def relay_owner() -> str:
    """This process's name in lease tokens: the host and pid say which relay holds a message."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Lease:
    """One claim of one message: `token` is compared on every mark, `until` is when another may take it."""

    message_id: str
    token: str
    until: datetime


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
    lease: Lease


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


# People of the web chat ("web:<id>"): their notifications wait in the outbox until their chat page fetches
# them (web/chat/inbox.py); the Telegram relay never takes them.
WEB_KEY_PREFIX = "web:"


def _deliverable_recipient() -> list[Any]:
    # Nobody to send to yet (a roster entry that never wrote to the bot) or blocked: the message waits.
    return [
        Person.blocked_bot.is_(False),
        or_(Person.chat_id.is_not(None), Person.telegram_id.is_not(None)),
        Person.external_key.not_like(WEB_KEY_PREFIX + "%"),
    ]


def claim(
    database: Database,
    limit: int,
    now: datetime,
    lease_seconds: float,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    owner: str | None = None,
) -> list[ClaimedMessage]:
    """Lease up to `limit` due messages, oldest first, for one relay; none is leased to two relays at once."""
    until = now + timedelta(seconds=lease_seconds)
    token = f"{owner or relay_owner()}/{uuid.uuid4().hex[:12]}"
    leased = {"claimed_until": until, "lease_token": token, "attempts": OutboxMessage.attempts + 1}
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
                    .values(**leased)
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
                    .values(**leased)
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
                lease=Lease(m.id, token, until),
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


def _held(lease: Lease) -> list[Any]:
    return [
        OutboxMessage.id == lease.message_id,
        OutboxMessage.lease_token == lease.token,
        OutboxMessage.status == OutboxStatus.PENDING,
    ]


def _lost(session: Session, lease: Lease, what: str) -> None:
    holder = session.scalar(select(OutboxMessage.lease_token).where(OutboxMessage.id == lease.message_id))
    logger.warning(
        "outbox %s: lease %s lost (now held by %s); %s changes nothing",
        lease.message_id,
        lease.token,
        holder,
        what,
    )


def mark_sent(database: Database, lease: Lease, now: datetime) -> bool:
    """Compare-and-set pending → sent on the lease. False (and a warning) if the lease was lost: another
    relay claimed the message since. A lease past its time that nobody took is still good: nobody else can
    have sent the message. Marking twice with the same lease is harmless."""
    with database.session() as session:
        done = session.execute(
            update(OutboxMessage)
            .where(*_held(lease))
            .values(status=OutboxStatus.SENT, sent_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:
            return True
        already = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.id == lease.message_id,
                OutboxMessage.lease_token == lease.token,
                OutboxMessage.status == OutboxStatus.SENT,
            )
        )
        if already:
            return True
        _lost(session, lease, "marking it sent")
        return False


def mark_failed(
    database: Database,
    lease: Lease,
    error: str,
    now: datetime,
    retry_after: float | None = None,
    permanent: bool = False,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    parts_sent: int | None = None,
) -> OutboxStatus | None:
    """Record a failed try; returns the message's new status (pending again, or dead), or None when the lease
    was lost (nothing changed: the message belongs to another relay now).

    Telegram's own retry_after (a 429) wins over the back-off: it knows when it will take the message.
    `parts_sent`: how many parts of a notification of several (photos, place, text) reached the recipient
    before the failure; kept in the payload, so that the next try sends only the rest.
    """
    with database.session() as session:
        query = select(OutboxMessage).where(*_held(lease))
        message = session.scalar(query.with_for_update() if database.is_postgres else query)
        if message is None:
            _lost(session, lease, "recording a failure")
            return None
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
        return OutboxStatus(message.status)


def release(
    database: Database,
    lease: Lease,
    *,
    parts_sent: int | None = None,
    not_before: datetime | None = None,
    untried: bool = False,
) -> bool:
    """Give a claimed message back without a verdict: due again at once (or at `not_before`).

    `untried`: the relay did not try it (its chat is on hold after a 429), so the claim's attempt is not
    counted. `parts_sent` keeps the parts a dead relay's journal says went out. False if the lease was lost.
    """
    with database.session() as session:
        query = select(OutboxMessage).where(*_held(lease))
        message = session.scalar(query.with_for_update() if database.is_postgres else query)
        if message is None:
            return False
        message.claimed_until = None
        if untried:
            message.attempts = max(0, message.attempts - 1)
        if not_before is not None:
            message.next_attempt_at = not_before
        if parts_sent and parts_sent > int(message.payload.get(PARTS_SENT) or 0):
            message.payload = {**message.payload, PARTS_SENT: parts_sent}
        return True


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
