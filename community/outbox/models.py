"""The transactional outbox: notifications written with the change that causes them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up after the last try; kept for the desk to look at


class OutboxMessage(Base):
    __tablename__ = "outbox"

    # The message id: leases and the relay's delivery journal name a message by it.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # What to show, already in the recipient's language: {"text", "buttons", "venue", "photos", ...}
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The lease of the last claim ("owner/nonce"): every mark is a compare-and-set on it, so a relay whose
    # message was claimed again by another changes nothing. Kept after the mark, which makes marks idempotent.
    lease_token: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When retention emptied a dead message of its personal data (payload, error): community/retention.py.
    scrubbed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedUpdate(Base):
    """Telegram update ids already handled: a webhook retry is processed once."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("source", "update_id", name="uq_processed_updates_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    update_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
