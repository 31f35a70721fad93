"""knowledge/standards.yml: the 6 areas and 43 standards of 协商议事标准, the default support threshold and
the kinds of invitee of a 议事会. Validated like the other knowledge files (file, entry and field named),
loaded into `matter_standards` by community/knowledge/loader.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from community.knowledge.schema import (
    Code,
    Id,
    KnowledgeBase,
    KnowledgeError,
    RoleName,
    Texts,
    _Checker,
    _Strict,
)
from community.matters.models import MatterStandard

STANDARDS_FILE = "standards.yml"
AREAS = 6  # 6 大项
STANDARDS = 43  # 43 条


class InviteeKind(_Strict):
    id: Id
    names: Texts
    from_: Literal["teams", "roles"] = Field(alias="from")
    roles: list[RoleName] = Field(default_factory=list)


class StandardEntry(_Strict):
    id: Id
    names: Texts
    settled_in_community: bool = True
    invite: list[Id] = Field(default_factory=list)
    teams: list[Code] = Field(default_factory=list)
    threshold: int | None = Field(default=None, ge=1, le=100)


class AreaEntry(_Strict):
    id: Id
    names: Texts
    standards: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True)
class StandardsFile:
    default_threshold: int
    invitee_kinds: list[InviteeKind]
    areas: list[tuple[AreaEntry, list[StandardEntry]]]


class _Checks(_Checker):
    def name(self, kind: str) -> str:
        return f"{self.directory.name}/{STANDARDS_FILE}"


def read_standards(kb: KnowledgeBase, team_codes: set[str]) -> StandardsFile | None:
    """The validated file, or None when there is none; KnowledgeError naming file, entry and field."""
    directory: Path = kb.directory
    if not (directory / STANDARDS_FILE).exists():
        return None
    c = _Checks(directory)
    # `read` looks the file up under FILES[kind]: give it the path through a kind of our own.
    data = _read(c)
    if data is None:
        raise KnowledgeError(c.problems)
    threshold = data["default_threshold"]
    if isinstance(threshold, bool) or not 1 <= threshold <= 100:
        c.add("standards", None, "default_threshold", "expected a whole number from 1 to 100")
    kinds = c.entries("standards", data["invitee_kinds"], InviteeKind)
    kind_ids = {k.id for k in kinds}
    areas = c.entries("standards", data["areas"], AreaEntry)
    seen: set[str] = set(kind_ids) | {a.id for a in areas}
    parsed: list[tuple[AreaEntry, list[StandardEntry]]] = []
    total = 0
    for area in areas:
        standards = c.entries("standards", area.standards, StandardEntry)
        total += len(area.standards)
        for standard in standards:
            if standard.id in seen:
                c.add(
                    "standards", standard.id, "id", "duplicate id (an area, standard or invitee kind has it)"
                )
            seen.add(standard.id)
            for index, kind in enumerate(standard.invite):
                if kind not in kind_ids:
                    c.add("standards", standard.id, f"invite[{index}]", f"no invitee kind {kind!r}")
            for index, team in enumerate(standard.teams):
                if team_codes and team not in team_codes:
                    c.add("standards", standard.id, f"teams[{index}]", f"no team {team!r} in teams.yml")
        parsed.append((area, standards))
    if len(data["areas"]) != AREAS:
        c.add("standards", None, "areas", f"expected {AREAS} areas (大项), found {len(data['areas'])}")
    if total != STANDARDS:
        c.add("standards", None, "areas", f"expected {STANDARDS} standards (条) in all, found {total}")
    if c.problems:
        raise KnowledgeError(c.problems)
    return StandardsFile(int(threshold), kinds, parsed)


def _read(c: _Checks) -> dict[str, Any] | None:
    from community.knowledge import schema

    had = "standards" in schema.FILES
    schema.FILES.setdefault("standards", STANDARDS_FILE)
    try:
        return c.read("standards", {"default_threshold": int, "invitee_kinds": list, "areas": list})
    finally:
        if not had:
            del schema.FILES["standards"]


def standard_rows(standards: StandardsFile | None) -> dict[str, dict[str, Any]]:
    """The rows of `matter_standards`, by code; a standard's threshold is resolved against the default."""
    if standards is None:
        return {}
    rows: dict[str, dict[str, Any]] = {}
    for position, kind in enumerate(standards.invitee_kinds):
        data = {"from": kind.from_, "roles": list(kind.roles)}
        rows[kind.id] = {
            "level": "invitee",
            "area_code": None,
            "position": position,
            "names": kind.names.as_dict(),
            "data": data,
        }
    for position, (area, entries) in enumerate(standards.areas):
        rows[area.id] = {
            "level": "area",
            "area_code": None,
            "position": position,
            "names": area.names.as_dict(),
            "data": {},
        }
        for index, s in enumerate(entries):
            data = {
                "threshold": s.threshold or standards.default_threshold,
                "invite": list(s.invite),
                "teams": list(s.teams),
                "settled_in_community": s.settled_in_community,
            }
            rows[s.id] = {
                "level": "standard",
                "area_code": area.id,
                "position": index,
                "names": s.names.as_dict(),
                "data": data,
            }
    return rows


# --- Queries ------------------------------------------------------------------------------------------------


def areas(session: Session) -> list[MatterStandard]:
    query = select(MatterStandard).where(MatterStandard.level == "area", MatterStandard.active)
    return list(session.scalars(query.order_by(MatterStandard.position)))


def standards_of(session: Session, area_code: str) -> list[MatterStandard]:
    query = select(MatterStandard).where(
        MatterStandard.level == "standard", MatterStandard.area_code == area_code, MatterStandard.active
    )
    return list(session.scalars(query.order_by(MatterStandard.position)))


def row(session: Session, code: str | None, level: str) -> MatterStandard | None:
    found = session.get(MatterStandard, code) if code else None
    return found if found is not None and found.level == level and found.active else None
