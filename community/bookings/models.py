"""Service items of the micro-grid stations, their dated sessions and people's bookings of them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"  # not checked in by the session's start + grace: the place was freed


# The statuses that hold a place of the session.
HOLDING = (BookingStatus.BOOKED.value, BookingStatus.CHECKED_IN.value)


class ServiceItem(Base):
    """One item of knowledge/service_items.yml (loaded by community/bookings/knowledge.py)."""

    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    category_names: Mapped[dict[str, str]] = mapped_column(JSONType)
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSONType)
    station_code: Mapped[str] = mapped_column(ForeignKey("service_points.code"))
    # The micro-grid of the station (its landmark's): its volunteers check bookers in.
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"))
    team_code: Mapped[str | None] = mapped_column(String(40))
    capacity: Mapped[int] = mapped_column(Integer)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # [{"day": 0-6 (Monday 0), "start": "HH:MM", "language": "en" | ""}] in the community's zone.
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    keywords: Mapped[dict[str, list[str]]] = mapped_column(JSONType)
    sample: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class ServiceSession(Base):
    """One dated session of an item, made from its weekly schedule. `taken` counts the places held (booked or
    checked in) and is changed only by a compare-and-set against `capacity`."""

    __tablename__ = "service_sessions"
    __table_args__ = (
        UniqueConstraint("item_code", "starts_at", "language", name="uq_service_sessions_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(ForeignKey("service_items.code"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    language: Mapped[str] = mapped_column(String(10), default="")  # "" when the item has one language
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    # When the no-show sweep ran for it (community/bookings/reminders.py): once per session.
    no_shows_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    item: Mapped[ServiceItem] = relationship(lazy="joined")

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.taken)


class Booking(Base):
    """A person's place in a session. The check-in token is kept only as its SHA-256."""

    __tablename__ = "service_bookings"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_service_bookings_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("service_sessions.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    # Set by a compare-and-set when the reminder is queued: a restart or a second bot never sends it twice.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[ServiceSession] = relationship(lazy="joined")
