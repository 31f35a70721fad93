"""Subscriptions to an area's announcements, and the announcements the desk sends."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class Subscription(Base):
    """A resident or tourist asked for the announcements of one area (a grid or a micro-grid)."""

    __tablename__ = "subscriptions"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnnouncementStatus(StrEnum):
    DRAFT = "draft"  # written, audience or review still open
    SENDING = "sending"  # its notifications are in the outbox
    DONE = "done"  # every notification settled; the counts are final and the desk was told
    CANCELLED = "cancelled"


class Announcement(Base):
    """Written once in Chinese by the desk; each recipient reads it in their language.

    `texts` maps a language to {"text", "source"}: source "curated" (the desk wrote it), "converted"
    (Simplified → Traditional by OpenCC), "machine" (reviewed in the preview before sending) or "original"
    (no translation could be made: the Chinese with a note). The counts are written when the last of its
    notifications settles; until then they are derived from the outbox (community/outreach/announce.py).
    """

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    text_zh: Mapped[str] = mapped_column(Text)
    texts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # "everyone", "grid:<code>", "micro_grid:<code>", "volunteers", "team:<code>", "reporters"
    audience: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default=AnnouncementStatus.DRAFT, index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AnnouncementDelivery(Base):
    """One recipient of an announcement and its outbox message; deleted once the counts are final."""

    __tablename__ = "announcement_deliveries"

    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    # None: nothing was queued (the person had blocked the bot already); `outcome` says so from the start.
    outbox_id: Mapped[str | None] = mapped_column(String(36), index=True)
    outcome: Mapped[str | None] = mapped_column(String(10))
