"""Append-only logs of the volunteer side: duty switched on and off, and the desk's recorded bonuses.

Like the ticket events, these rows are never updated or deleted: duty hours, points and the indices are
derived from them (community/volunteers/points.py, indices.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow


class DutyEvent(Base):
    """One /duty on|off: a duty session runs from an `on` to the next `off` of the same person."""

    __tablename__ = "duty_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    on_duty: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PointBonus(Base):
    """Points the desk awards by hand, always with a reason; the only points not derived from work."""

    __tablename__ = "point_bonuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    awarded_by_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
