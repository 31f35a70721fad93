"""Projects, their claims by partners, supporters, the event history and the weekly summaries sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class ProjectState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLAIMED = "claimed"  # some or all hands claimed (pending or confirmed)
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATES = (ProjectState.PUBLISHED, ProjectState.CLAIMED)
PUBLIC_STATES = (
    ProjectState.PUBLISHED,
    ProjectState.CLAIMED,
    ProjectState.IN_PROGRESS,
    ProjectState.COMPLETED,
)


class ClaimState(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


class Project(Base):
    """A need the desk turned into a project: what, where, when, how many hands, which offers."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(10), default="zh-Hans")
    # The title and description in other languages, translated when it was published (thread_notify's way).
    translations: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"))
    micro_grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hands_needed: Mapped[int] = mapped_column(Integer, default=1)
    # Hands claimed and not refused: changed only by a compare-and-set (service.claim), never past the need.
    hands_claimed: Mapped[int] = mapped_column(Integer, default=0)
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    state: Mapped[str] = mapped_column(String(20), index=True, default=ProjectState.DRAFT)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectClaim(Base):
    """A partner's contact claims some hands; the desk confirms or refuses."""

    __tablename__ = "project_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    partner_code: Mapped[str] = mapped_column(ForeignKey("partners.code"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    hands: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default=ClaimState.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class ProjectSupporter(Base):
    """A resident who supports a project (from its page's link): they hear each step."""

    __tablename__ = "project_supporters"
    __table_args__ = (UniqueConstraint("project_id", "person_id", name="uq_project_supporters_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectEvent(Base):
    """One step of a project: appended, never updated. `data` holds the partner, hands, note words, and for
    `completed` the people credited (the points ledger reads them)."""

    __tablename__ = "project_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ProjectSummary(Base):
    """A weekly summary sent: the primary key is the ISO week, so two bot processes (or a restart) that both
    find it due insert once and send once."""

    __tablename__ = "project_summaries"

    week: Mapped[str] = mapped_column(String(10), primary_key=True)  # "2026-W49"
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
