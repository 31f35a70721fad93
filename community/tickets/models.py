"""Tickets, their append-only event log, assignments, followers and ratings; issue categories."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class TicketState(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"
    WAITING = "waiting"  # the holder asked the reporter for details: the SLA clock is paused


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class EscalationLevel:
    """The contact chain: 微网格骨干 → 网格党组织成员 → 社区大党委委员."""

    BACKBONE = 0
    GRID_MEMBER = 1
    COMMITTEE = 2
    TOP = COMMITTEE


class IssueCategory(Base):
    __tablename__ = "issue_categories"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    keywords: Mapped[dict[str, list[str]]] = mapped_column(JSONType, default=dict)
    skill: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(20))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    accept_sla_minutes: Mapped[int] = mapped_column(Integer)
    resolve_sla_minutes: Mapped[int] = mapped_column(Integer)
    # "around_the_clock" (24×7) or "working_hours" (knowledge/calendar.yml): community/tickets/clock.py.
    sla_clock: Mapped[str] = mapped_column(
        String(20), default="around_the_clock", server_default="around_the_clock"
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Public reference shown to people; random, so one reporter cannot guess another's.
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    # "<channel>:<chat>:<message id>": the same message files one ticket however often it arrives.
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    channel: Mapped[str] = mapped_column(String(20), default="telegram")
    category_code: Mapped[str | None] = mapped_column(ForeignKey("issue_categories.code"), index=True)
    urgency: Mapped[str] = mapped_column(String(20), default=Urgency.NORMAL)
    state: Mapped[str] = mapped_column(String(20), index=True, default=TicketState.NEW)
    version: Mapped[int] = mapped_column(Integer, default=1)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    micro_grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"), index=True)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"), index=True)
    landmark_code: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    description_language: Mapped[str] = mapped_column(String(10), default="zh-Hans")
    # Machine translation for staff (Chinese); None when not needed or not available yet.
    description_zh: Mapped[str | None] = mapped_column(Text)
    photo_file_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    contact: Mapped[str | None] = mapped_column(String(80))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA deadline of the current step (accept while dispatched, resolve while accepted).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Lease taken by an escalation sweeper (SQLite has no SKIP LOCKED).
    sweep_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the holder is warned of `due_at` (cleared once warned: one warning per deadline), and when the
    # reporter of a long-open ticket next hears "still on it" (community/tickets/clock.py).
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    nudge_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class TicketEvent(Base):
    """Append-only: never updated or deleted. Metrics are derived from these rows."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # transition, routed, escalated, note, linked, rated
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    actor_role: Mapped[str] = mapped_column(String(30), default="system")
    channel: Mapped[str] = mapped_column(String(20), default="system")
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Assignment(Base):
    """Who was asked to act on a ticket, at which escalation level."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    level: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    declined: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follower(Base):
    """Reporters of linked duplicates and informed staff: told of each step."""

    __tablename__ = "ticket_followers"
    __table_args__ = (UniqueConstraint("ticket_id", "person_id", name="uq_ticket_followers_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    reason: Mapped[str] = mapped_column(String(30), default="duplicate")


class Rating(Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    score: Mapped[int | None] = mapped_column(Integer)  # 1..5, None when "not fixed"
    not_fixed: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExtensionRequest(Base):
    """A holder's request for more time (延期), decided once by someone a level above (extension.py)."""

    __tablename__ = "ticket_extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    working_days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # The deadline the request is about: a request for a deadline that has moved since is out of date.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | refused
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
