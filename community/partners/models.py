"""Partners (knowledge/partners.yml) in the database, and their contact persons."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base
from community.types import JSONType


class Partner(Base):
    """An alliance unit, social organisation, merchant or team, offering its side of the two-way list."""

    __tablename__ = "partners"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"))
    offers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    team_code: Mapped[str | None] = mapped_column(String(40))
    sample: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64))


class PartnerContact(Base):
    """A person who receives a partner's projects and claims them for it. Seeded from the file where a
    partner has none; a row made in chat (`made_in_chat`) is never undone by a reload."""

    __tablename__ = "partner_contacts"
    __table_args__ = (UniqueConstraint("partner_code", "person_id", name="uq_partner_contacts_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_code: Mapped[str] = mapped_column(ForeignKey("partners.code"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    made_in_chat: Mapped[bool] = mapped_column(Boolean, default=False)
