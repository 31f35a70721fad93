"""People of the assistant: reporters, volunteers and grid staff, with roles scoped to a grid."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.database import Base, UTCDateTime, utcnow
from community.types import JSONType


class Role(StrEnum):
    RESIDENT = "resident"
    TOURIST = "tourist"
    VOLUNTEER = "volunteer"  # a micro-grid backbone: serves the micro-grids of its role rows
    GRID_MEMBER = "grid_member"  # 网格党组织成员: the grid's escalation level
    COMMITTEE_MEMBER = "committee_member"  # 社区大党委委员: the top of the chain
    DESK = "desk"  # the community desk: triage of unknown categories, consultations

    @property
    def is_staff(self) -> bool:
        return self not in (Role.RESIDENT, Role.TOURIST)


class Person(Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "telegram:<user id>", "terminal:<name>", "roster:<id>": one person per identity on a channel.
    external_key: Mapped[str] = mapped_column(String(80), unique=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[str | None] = mapped_column(String(40))
    display_name: Mapped[str] = mapped_column(String(120), default="")
    preferred_language: Mapped[str] = mapped_column(String(10), default="zh-Hans")
    phone: Mapped[str | None] = mapped_column(String(40))
    # When the person agreed that their phone be remembered for the next report
    # (community/outreach/contact.py); a phone without it is never offered to them.
    phone_consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when Telegram answers 403: the relay stops trying this person until they write again.
    blocked_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    from_roster: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the person's roles or skills are changed in chat (an invitation, the level above, themselves):
    # from then on the roster file no longer decides them (community/knowledge/loader.py).
    changed_in_chat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    roles: Mapped[list[PersonRole]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )
    volunteer: Mapped[VolunteerProfile | None] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )

    def has_role(self, *roles: Role) -> bool:
        return any(r.role in roles for r in self.roles)

    @property
    def is_staff(self) -> bool:
        return any(Role(r.role).is_staff for r in self.roles)


class PersonRole(Base):
    """A role, scoped to a grid where it has one (volunteer → micro-grid, grid member → grid)."""

    __tablename__ = "person_roles"
    __table_args__ = (UniqueConstraint("person_id", "role", "grid_code", name="uq_person_roles_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30), index=True)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"), index=True)
    # A row made in chat (an invitation, a move): loading the roster never removes it.
    made_in_chat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    person: Mapped[Person] = relationship(back_populates="roles")


class VolunteerProfile(Base):
    """Duty state and skills of a volunteer; toggled with /duty on|off."""

    __tablename__ = "volunteer_profiles"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    skills: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Weekly windows the volunteer usually serves in, [{"day": 0-6 (Monday 0), "start": "HH:MM", "end":
    # "HH:MM"}] in the community's zone (community/people/profile.py); routing prefers those inside one now.
    duty_hours: Mapped[list[dict[str, object]]] = mapped_column(JSONType, default=list, server_default="[]")

    person: Mapped[Person] = relationship(back_populates="volunteer")
