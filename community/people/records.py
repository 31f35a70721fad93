"""Enrolment and teams in the database: invitations, the person-events log, teams and their members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class Invitation(Base):
    """A one-time invitation to a role in a grid. Only the code's SHA-256 is kept: a copy of the database
    does not let anyone enrol."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(30))
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"))
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set once, by a compare-and-set: two people opening the same link at once → one enrols.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class PersonEvent(Base):
    """One change to a person's roles, skills, duty hours or teams: who did what to whom, when and why.
    Appended, never updated."""

    __tablename__ = "person_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Team(Base):
    """A volunteer team (knowledge/teams.yml), of one of the five kinds, offering skills."""

    __tablename__ = "teams"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64))


class TeamMember(Base):
    """Membership of a team; seeded from the file, then changed in chat (`made_in_chat` rows and leaders
    set in chat are not undone by a reload)."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_code", "person_id", name="uq_team_members_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_code: Mapped[str] = mapped_column(ForeignKey("teams.code"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    leader: Mapped[bool] = mapped_column(Boolean, default=False)
    made_in_chat: Mapped[bool] = mapped_column(Boolean, default=False)
