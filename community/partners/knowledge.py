"""knowledge/partners.yml: the offer vocabulary and the partners, validated against the other files.

Every problem names the file, the entry and the field; nothing is loaded when there is one. Loading upserts
the partners (community/knowledge/loader.py) and seeds a contact only where a partner has none, so a contact
the desk set in chat stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from community.knowledge.schema import (
    Code,
    Id,
    KnowledgeBase,
    KnowledgeError,
    PersonId,
    Texts,
    _Checker,
    _Strict,
)
from community.partners.models import PartnerContact
from community.people.models import Person
from community.people.teams import TeamsFile
from community.settings import get_settings

PARTNERS_FILE = "partners.yml"
PartnerKind = Literal["alliance_unit", "social_organisation", "merchant", "team"]
PARTNER_KINDS: tuple[str, ...] = ("alliance_unit", "social_organisation", "merchant", "team")


class OfferEntry(_Strict):
    id: Code
    names: Texts


class PartnerEntry(_Strict):
    id: Id
    sample: bool = True
    kind: PartnerKind
    names: Texts
    grid: Id
    offers: list[Code] = Field(min_length=1)
    contact: PersonId
    team: Id | None = None


@dataclass(frozen=True)
class PartnersFile:
    offers: list[OfferEntry]
    partners: list[PartnerEntry]


def read_partners(kb: KnowledgeBase, teams: TeamsFile) -> PartnersFile:
    """Validate `partners.yml` beside the other knowledge files; no file means no partners."""
    if not (kb.directory / PARTNERS_FILE).exists():
        return PartnersFile([], [])
    c = _Checker(kb.directory)
    data = c.read("partners", {"offers": list, "partners": list})
    if data is None:
        raise KnowledgeError(c.problems)
    offers = c.entries("partners", data["offers"], OfferEntry)
    partners = c.entries("partners", data["partners"], PartnerEntry)
    offer_ids = {o.id for o in offers}
    grids = {node.id for node in kb.grid_nodes()}
    people = {p.id for p in kb.people}
    team_ids = {t.id for t in teams.teams}
    for partner in partners:
        if partner.grid not in grids:
            c.add("partners", partner.id, "grid", f"no grid or micro-grid {partner.grid!r} in grids.yml")
        for index, offer in enumerate(partner.offers):
            if offer not in offer_ids:
                c.add(
                    "partners", partner.id, f"offers[{index}]", f"offer {offer!r} is not listed under offers"
                )
        if partner.contact not in people:
            c.add("partners", partner.id, "contact", f"no person {partner.contact!r} in the roster")
        if partner.kind == "team":
            if partner.team is None:
                c.add("partners", partner.id, "team", "a partner of kind team names its team")
            elif partner.team not in team_ids:
                c.add("partners", partner.id, "team", f"no team {partner.team!r} in teams.yml")
        elif partner.team is not None:
            c.add("partners", partner.id, "team", "only a partner of kind team names a team")
    if c.problems:
        raise KnowledgeError(c.problems)
    return PartnersFile(offers, partners)


def partner_rows(partners: PartnersFile) -> dict[str, dict[str, Any]]:
    return {
        p.id: {
            "kind": p.kind,
            "names": p.names.as_dict(),
            "grid_code": p.grid,
            "offers": list(p.offers),
            "team_code": p.team,
            "sample": p.sample,
        }
        for p in partners.partners
    }


def seed_contacts(session: Session, partners: PartnersFile, roster_prefix: str) -> None:
    """The file's contact for each partner that has no contact at all (one set in chat stays)."""
    keys = {roster_prefix + p.contact for p in partners.partners}
    people = {p.external_key: p for p in session.scalars(select(Person).where(Person.external_key.in_(keys)))}
    having = set(session.scalars(select(PartnerContact.partner_code).distinct()))
    for partner in partners.partners:
        person = people.get(roster_prefix + partner.contact)
        if partner.id in having or person is None:
            continue
        session.add(PartnerContact(partner_code=partner.id, person_id=person.id, made_in_chat=False))


@lru_cache(maxsize=4)
def _offer_names(directory: str, mtime: float) -> dict[str, dict[str, str]]:
    path = Path(directory) / PARTNERS_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        str(o["id"]): dict(o.get("names") or {})
        for o in data.get("offers") or []
        if isinstance(o, dict) and "id" in o
    }


def offer_names() -> dict[str, dict[str, str]]:
    """Offer code → its names per language, from the configured knowledge folder (read again on change)."""
    directory = get_settings().knowledge_dir
    path = directory / PARTNERS_FILE
    return _offer_names(str(directory), path.stat().st_mtime if path.is_file() else 0.0)
