"""Notifications addressed to a person of the web chat: the outbox rows the Telegram relay leaves to us.

The chat page asks for them every few seconds. Each row is taken by a compare-and-set (pending → sent), so
two tabs of one browser show a notification once between them, and a crash between the read and the answer
loses at most what was on its way to one page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from community.database import Database
from community.outbox.models import OutboxMessage, OutboxStatus
from community.people.models import Person

BATCH = 20


def take_notifications(database: Database, external_key: str, now: datetime) -> list[dict[str, Any]]:
    """The person's pending notifications, oldest first, marked sent; [] for someone unknown."""
    with database.session() as session:
        person_id = session.scalar(select(Person.id).where(Person.external_key == external_key))
        if person_id is None:
            return []
        rows = session.execute(
            select(OutboxMessage.id, OutboxMessage.payload)
            .where(OutboxMessage.recipient_id == person_id, OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(BATCH)
        ).all()
        taken: list[dict[str, Any]] = []
        for message_id, payload in rows:
            done = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.SENT, sent_at=now, claimed_until=None, attempts=1)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount == 1:
                taken.append(dict(payload))
        return taken
