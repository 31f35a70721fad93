"""Matters (有事好商量), their supports, sign-ups and events, and the standards they are filed under."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class MatterState(StrEnum):
    RAISED = "raised"  # a resident wrote it; the desk has not filed it yet
    FILED = "filed"  # under an area and a standard; residents of the micro-grid may support it
    MEETING_CALLED = "meeting_called"  # a 议事会 has a date, a place and invitees
    DECIDED = "decided"  # the meeting's outcome is recorded and was sent
    CLOSED = "closed"  # settled without a meeting, or declined, with a reason

    @property
    def is_open(self) -> bool:
        return self in (MatterState.RAISED, MatterState.FILED, MatterState.MEETING_CALLED)


class MatterStandard(Base):
    """A row of knowledge/standards.yml: an area (大项), a standard (条) or an invitee kind.

    `data` of a standard: threshold, invite (invitee kinds), teams, settled_in_community; of an invitee kind:
    from ("teams" | "roles") and roles."""

    __tablename__ = "matter_standards"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    level: Mapped[str] = mapped_column(String(12), index=True)  # "area", "standard", "invitee"
    area_code: Mapped[str | None] = mapped_column(String(40), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Matter(Base):
    """What a resident raised. `translations` holds the text in the curated languages (machine translated at
    raising, the original kept); the raiser is kept for notifications and never shown on the public page."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10))
    translations: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    place: Mapped[str] = mapped_column(String(200), default="")
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"), index=True)
    raiser_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(12), default="telegram")
    state: Mapped[str] = mapped_column(String(16), default=MatterState.RAISED, index=True)
    area_code: Mapped[str | None] = mapped_column(String(40))
    standard_code: Mapped[str | None] = mapped_column(String(40))
    threshold: Mapped[int] = mapped_column(Integer, default=3)
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    meeting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    meeting_place: Mapped[str] = mapped_column(String(200), default="")
    # The outcome or the closing reason as written, with its translations ({text, language, translations}).
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatterEvent(Base):
    """One step of a matter, appended, never changed. `data` holds only what the public page may show;
    `actor_id` is for the record and is never shown."""

    __tablename__ = "matter_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class MatterSupport(Base):
    """One resident's support; the key makes a second support of the same person impossible."""

    __tablename__ = "matter_supports"
    __table_args__ = (UniqueConstraint("matter_id", "person_id", name="uq_matter_supports_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatterParticipant(Base):
    """Someone the 议事会 concerns: invited (units concerned, 两代表一委员) or signed up (a resident)."""

    __tablename__ = "matter_participants"
    __table_args__ = (UniqueConstraint("matter_id", "person_id", name="uq_matter_participants_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    invited_as: Mapped[str | None] = mapped_column(String(40))  # an invitee kind; None: signed up
    signed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
