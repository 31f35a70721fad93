"""Load a validated knowledge base into the database: an idempotent upsert, reported by content hash.

Entries that leave the files are deactivated (`active=False`), never deleted: tickets refer to grids,
categories and landmarks. Roster people are upserted by `external_key="roster:<id>"`; their roles and
volunteer profile are replaced to match the file. Everything runs inside the caller's transaction, and all
checks (the files by `load_knowledge`, clashes with people already in the database here) come before the
first write, so a rejected load changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.bookings.knowledge import item_rows, read_items
from community.bookings.models import ServiceItem
from community.database import Base, Database
from community.grids.models import Grid, Landmark
from community.knowledge.models import FaqEntry
from community.knowledge.schema import (
    FILES,
    KnowledgeBase,
    KnowledgeError,
    PersonEntry,
    Problem,
    load_knowledge,
)
from community.matters.models import MatterStandard
from community.matters.standards import read_standards, standard_rows

# Partners of the needs-as-projects part (issue #17): knowledge/partners.yml.
from community.partners.knowledge import partner_rows, read_partners, seed_contacts
from community.partners.models import Partner
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.people.records import Team
from community.people.teams import read_teams, seed_members, team_rows
from community.servicemap.models import ServicePoint
from community.tickets.models import IssueCategory

KINDS = (
    "faq",
    "grids",
    "landmarks",
    "service_points",
    "categories",
    "people",
    "teams",
    "standards",
    "partners",
    "service_items",
)
ROSTER_PREFIX = "roster:"
_STAFF_ROLES = frozenset(r.value for r in Role if r.is_staff)


def content_hash(values: dict[str, Any]) -> str:
    """Stable over dict order and runs: the hash decides "changed", so it must not depend on formatting."""
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class KindReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def total(self) -> int:
        return len(self.added) + len(self.changed) + self.unchanged


@dataclass
class LoadReport:
    kinds: dict[str, KindReport] = field(default_factory=lambda: {kind: KindReport() for kind in KINDS})

    @property
    def added(self) -> int:
        return sum(len(k.added) for k in self.kinds.values())

    @property
    def changed(self) -> int:
        return sum(len(k.changed) for k in self.kinds.values())

    @property
    def removed(self) -> int:
        return sum(len(k.removed) for k in self.kinds.values())

    @property
    def is_noop(self) -> bool:
        return self.added == self.changed == self.removed == 0

    def __str__(self) -> str:
        sizes = ", ".join(f"{k.total} {kind.replace('_', ' ')}" for kind, k in self.kinds.items())
        head = f"knowledge: {sizes}"
        if self.is_noop:
            return f"{head} — nothing changed"
        parts = []
        for label, attr in (("added", "added"), ("changed", "changed"), ("removed", "removed")):
            ids = [f"{kind}:{code}" for kind, k in self.kinds.items() for code in getattr(k, attr)]
            if ids:
                shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
                parts.append(f"{label} {len(ids)} ({shown})")
        return f"{head} — " + "; ".join(parts)


def _sync(
    session: Session,
    model: type[Base],
    key: str,
    desired: dict[str, dict[str, Any]],
    report: KindReport,
) -> None:
    """Upsert rows of one table by primary key and content hash; deactivate rows no longer desired."""
    existing: dict[str, Any] = {getattr(row, key): row for row in session.scalars(select(model))}
    for code, values in desired.items():
        digest = content_hash(values)
        row = existing.get(code)
        if row is None:
            session.add(model(**{key: code}, **values, content_hash=digest, active=True))
            report.added.append(code)
        elif row.content_hash != digest or not row.active:
            for name, value in values.items():
                setattr(row, name, value)
            # Coming back after a removal counts as added: it was not there for the bot a moment ago.
            (report.changed if row.active else report.added).append(code)
            row.active = True
            row.content_hash = digest
        else:
            report.unchanged += 1
    for code, row in sorted(existing.items()):
        if code not in desired and row.active:
            row.active = False
            report.removed.append(code)


def _grid_rows(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    return {
        node.id: {
            "parent_code": node.parent,
            "level": node.level,
            "names": node.names.as_dict(),
            "polygon": [list(vertex) for vertex in node.polygon],
            "red": node.red,
        }
        for node in kb.grid_nodes()
    }


def _landmark_rows(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    return {
        lm.id: {
            "grid_code": lm.micro_grid,
            "names": lm.names.as_dict(),
            "aliases": list(lm.aliases),
            "lat": lm.location.lat,
            "lon": lm.location.lon,
        }
        for lm in kb.landmarks
    }


def _point_rows(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    return {
        p.id: {
            "type": p.type,
            "names": p.names.as_dict(),
            "address": p.address.as_dict(),
            "lat": p.location.lat,
            "lon": p.location.lon,
            "opening_hours": p.opening_hours,
            "services": list(p.services),
            "languages": list(p.languages),
            "contact": p.contact,
            "landmark_code": p.landmark,
            "sample": p.sample,
        }
        for p in kb.service_points
    }


def _category_rows(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    return {
        c.id: {
            "names": c.names.as_dict(),
            "keywords": c.keywords.as_dict(),
            "skill": c.skill,
            "urgency": c.urgency,
            "emergency": c.emergency,
            "accept_sla_minutes": c.accept_sla_minutes,
            "resolve_sla_minutes": c.resolve_sla_minutes,
            "sla_clock": c.sla_clock,
        }
        for c in kb.categories
    }


def _faq_rows(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    return {f.id: {"answers": f.answers.as_dict(), "sample": f.sample} for f in kb.faq}


# --- People -------------------------------------------------------------------------------------------------


def _needs_profile(entry: PersonEntry) -> bool:
    return bool(entry.skills) or any(r.role == "volunteer" for r in entry.roles)


def _person_state(person: Person) -> tuple[Any, ...]:
    """What the roster decides about a person; compared before and after to tell changed from unchanged
    (Person has no content_hash column)."""
    profile = person.volunteer
    return (
        person.external_key,
        person.display_name,
        person.telegram_id,
        person.preferred_language,
        person.from_roster,
        tuple(sorted((r.role, r.grid_code or "") for r in person.roles)),
        # Duty is not the roster's: the file gives the starting state, then volunteers switch with /duty.
        None if profile is None else tuple(profile.skills),
    )


@dataclass
class _PeoplePlan:
    targets: dict[str, Person | None]  # roster id → the existing person to update (None: create)
    leaving: list[Person]  # roster people no longer in the file


def _plan_people(session: Session, kb: KnowledgeBase) -> _PeoplePlan:
    """Match roster entries to people already in the database, before any write.

    A Telegram id already taken by someone outside the roster is adopted when that person has no roster
    identity yet (a volunteer who wrote to the bot before the roster was loaded); otherwise it is a clash
    the file's author must resolve."""
    keys = {ROSTER_PREFIX + p.id: p for p in kb.people}
    by_key = {p.external_key: p for p in session.scalars(select(Person).where(Person.external_key.in_(keys)))}
    telegram_ids = [p.telegram_id for p in kb.people if p.telegram_id is not None]
    by_telegram = {
        p.telegram_id: p for p in session.scalars(select(Person).where(Person.telegram_id.in_(telegram_ids)))
    }
    problems: list[Problem] = []
    targets: dict[str, Person | None] = {}
    adopted: set[int] = set()
    for key, entry in keys.items():
        target = by_key.get(key)
        holder = by_telegram.get(entry.telegram_id) if entry.telegram_id is not None else None
        if holder is not None and holder is not target and holder.external_key not in keys:
            if target is None and holder.id not in adopted:
                target = holder
                adopted.add(holder.id)
            else:
                problems.append(
                    Problem(
                        f"{kb.directory.name}/{FILES['roster']}",
                        entry.id,
                        "telegram_id",
                        f"already belongs to person #{holder.id} ({holder.external_key}) in the database",
                    )
                )
        targets[entry.id] = target
    if problems:
        raise KnowledgeError(problems)
    kept = {p.id for p in targets.values() if p is not None}
    leaving = [
        p
        for p in session.scalars(select(Person).where(Person.from_roster.is_(True)).order_by(Person.id))
        if p.external_key not in keys and p.id not in kept
    ]
    return _PeoplePlan(targets, leaving)


def _sync_people(session: Session, kb: KnowledgeBase, plan: _PeoplePlan, report: KindReport) -> None:
    entries = {p.id: p for p in kb.people}
    # Clear Telegram ids that move between roster people first: the unique index would see a swap half-done.
    moving = [
        existing
        for rid, existing in plan.targets.items()
        if existing is not None and existing.telegram_id not in (None, entries[rid].telegram_id)
    ]
    for existing in moving:
        existing.telegram_id = None
    if moving:
        session.flush()

    for rid, entry in entries.items():
        person = plan.targets[rid]
        before = None if person is None else _person_state(person)
        if person is None:
            person = Person(external_key=ROSTER_PREFIX + rid)
            session.add(person)
        person.external_key = ROSTER_PREFIX + rid
        person.display_name = entry.name
        person.telegram_id = entry.telegram_id
        person.preferred_language = entry.language
        person.from_roster = True
        if person.changed_in_chat:
            # Enrolled, moved, removed or re-skilled in chat: the chat's decision stands over the seed file.
            if before is None or not before[4]:
                report.added.append(rid)
            elif before != _person_state(person):
                report.changed.append(rid)
            else:
                report.unchanged += 1
            continue
        # Diff the roles instead of replacing the list: delete-orphan would insert the new rows before
        # deleting the old ones and trip the (person, role, grid) unique constraint.
        wanted = [(r.role, r.grid) for r in entry.roles]
        for row in list(person.roles):
            if (row.role, row.grid_code) not in wanted:
                person.roles.remove(row)
        have = {(row.role, row.grid_code) for row in person.roles}
        for role, grid in wanted:
            if (role, grid) not in have:
                person.roles.append(PersonRole(role=role, grid_code=grid))
        if _needs_profile(entry):
            if person.volunteer is None:
                person.volunteer = VolunteerProfile(on_duty=entry.on_duty, skills=list(entry.skills))
            else:
                # on_duty is left alone: `xijin knowledge load` runs at every start, and must not undo the
                # /duty off of a volunteer who is away.
                if list(person.volunteer.skills) != list(entry.skills):
                    person.volunteer.skills = list(entry.skills)  # a new list, so the JSON column is flushed
        elif person.volunteer is not None:
            person.volunteer = None
        if before is None or not before[4]:
            report.added.append(rid)
        elif before != _person_state(person):
            report.changed.append(rid)
        else:
            report.unchanged += 1

    for person in plan.leaving:
        # Kept as a person (tickets and ratings refer to them) but no longer staff: nothing routes to them.
        # Roles given in chat stay: the file never gave them.
        for row in list(person.roles):
            if row.role in _STAFF_ROLES and not row.made_in_chat:
                person.roles.remove(row)
        if not person.has_role(Role.VOLUNTEER):
            person.volunteer = None
        person.from_roster = False
        report.removed.append(person.external_key.removeprefix(ROSTER_PREFIX))


def load_into_database(session: Session, kb: KnowledgeBase) -> LoadReport:
    """Upsert `kb` in the caller's transaction (no commit here)."""
    report = LoadReport()
    plan = _plan_people(session, kb)  # may raise; nothing has been written yet
    teams = read_teams(kb)  # likewise
    # 有事好商量 (issue #17): the 6 areas and 43 standards, validated before any write as well.
    matter_standards = read_standards(kb, {t.id for t in teams.teams})
    partners = read_partners(kb, teams)  # likewise (issue #17)
    items = read_items(kb)  # likewise: the stations' service items (community/bookings)
    # Parents before children: the grid tree references itself, landmarks reference micro-grids, service
    # points reference landmarks, roles reference grids. Flushing between steps keeps that order on both
    # backends without relying on the unit of work's sort.
    steps: list[tuple[str, type[Base], str, Callable[[KnowledgeBase], dict[str, dict[str, Any]]]]] = [
        ("grids", Grid, "code", _grid_rows),
        ("landmarks", Landmark, "code", _landmark_rows),
        ("service_points", ServicePoint, "code", _point_rows),
        ("categories", IssueCategory, "code", _category_rows),
        ("faq", FaqEntry, "topic", _faq_rows),
    ]
    for kind, model, key, rows in steps:
        _sync(session, model, key, rows(kb), report.kinds[kind])
        session.flush()
    _sync_people(session, kb, plan, report.kinds["people"])
    session.flush()
    _sync(session, Team, "code", team_rows(teams), report.kinds["teams"])
    session.flush()
    seed_members(session, teams, ROSTER_PREFIX)
    session.flush()
    _sync(session, MatterStandard, "code", standard_rows(matter_standards), report.kinds["standards"])
    session.flush()
    # Partners (issue #17) after people and teams: contacts are roster people, team partners name teams.
    _sync(session, Partner, "code", partner_rows(partners), report.kinds["partners"])
    session.flush()
    seed_contacts(session, partners, ROSTER_PREFIX)
    session.flush()
    # The stations' service items refer to service points and grids (community/bookings).
    _sync(session, ServiceItem, "code", item_rows(kb, items), report.kinds["service_items"])
    session.flush()
    return report


def load(database: Database, directory: Path) -> LoadReport:
    """Validate `directory` and load it in one transaction of its own."""
    kb = load_knowledge(directory)
    with database.session() as session:
        return load_into_database(session, kb)
