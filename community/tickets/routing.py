"""Who gets a ticket: the place (point, landmark or picked grid) and the category's skill pick the owner.

The chain for a ticket is a list of (level, rule) rungs. Routing takes the first rung with an eligible
candidate; escalation starts above the current level; "Can't take" starts at the current level without the
people who declined. Every decision carries the candidates it looked at, for the event log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload, selectinload

from community.database import utcnow
from community.grids.models import Grid, GridLevel, Landmark
from community.grids.service import get_grid, get_landmark, grid_of_landmark, locate, street_grid_of
from community.people.models import Person, PersonRole, Role
from community.people.profile import covers, windows_of
from community.people.teams import team_members_offering
from community.settings import get_settings
from community.tickets.duty import off_duty_reason
from community.tickets.models import EscalationLevel, IssueCategory, Ticket
from community.tickets.states import OPEN_WORK


class Rule(StrEnum):
    VOLUNTEER = "volunteer"  # on-duty volunteer of the micro-grid with the skill, least open work
    GRID_MEMBER = "grid_member"  # 网格党组织成员 of the micro-grid's grid
    COMMITTEE = "committee"  # 社区大党委委员
    DESK = "desk"  # community desk: triage of unknown categories and reports without a place


ROLE_OF_RULE: dict[Rule, Role] = {
    Rule.VOLUNTEER: Role.VOLUNTEER,
    Rule.GRID_MEMBER: Role.GRID_MEMBER,
    Rule.COMMITTEE: Role.COMMITTEE_MEMBER,
    Rule.DESK: Role.DESK,
}

Rung = tuple[int, Rule]


@dataclass
class Place:
    source: str  # location | landmark | grid | none
    micro_grid: Grid | None
    grid: Grid | None
    landmark: Landmark | None
    lat: float | None
    lon: float | None
    notes: list[str] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "micro_grid": self.micro_grid.code if self.micro_grid else None,
            "grid": self.grid.code if self.grid else None,
            "landmark": self.landmark.code if self.landmark else None,
            "notes": self.notes,
        }


def resolve_place(
    session: Session,
    *,
    lat: float | None,
    lon: float | None,
    landmark_code: str | None,
    grid_code: str | None,
) -> Place:
    """The most precise place a report gives: its point, then its landmark, then the grid picked."""
    notes: list[str] = []
    landmark = get_landmark(session, landmark_code)
    if landmark_code and landmark is None:
        notes.append(f"unknown landmark {landmark_code}")
    has_point = lat is not None and lon is not None
    point_lat, point_lon = (
        (lat, lon) if has_point else ((landmark.lat, landmark.lon) if landmark else (None, None))
    )
    micro: Grid | None = None
    grid: Grid | None = None
    source = "none"
    if has_point:
        assert lat is not None and lon is not None
        micro = locate(session, lat, lon)
        if micro is not None:
            source = "location"
        else:
            notes.append("location outside every micro-grid")
    if micro is None and landmark is not None:
        found = grid_of_landmark(session, landmark.code)
        if found is not None and found.level == GridLevel.MICRO_GRID:
            micro, source = found, "landmark"
        elif found is not None and found.level == GridLevel.GRID:
            grid, source = found, "landmark"
    if micro is None and grid is None and grid_code:
        picked = get_grid(session, grid_code)
        if picked is None:
            notes.append(f"unknown grid {grid_code}")
        elif picked.level == GridLevel.MICRO_GRID:
            micro, source = picked, "grid"
        elif picked.level == GridLevel.GRID:
            grid, source = picked, "grid"
        else:
            notes.append(f"grid {grid_code} is the whole community")
    if micro is not None:
        grid = street_grid_of(session, micro)
    return Place(source, micro, grid, landmark, point_lat, point_lon, notes)


@dataclass
class Candidate:
    person: Person
    level: int
    rule: Rule
    open_work: int
    eligible: bool
    why: str
    # A member of a team that offers the category's skill (community/people/teams.py): the team's skill
    # counts as theirs.
    team: str | None = None
    # Serves the ticket's micro-grid (not only reached through a team).
    local: bool = True
    # Outside the duty hours the volunteer declared (none declared: never outside).
    outside_hours: bool = False

    def data(self) -> dict[str, Any]:
        return {
            "person_id": self.person.id,
            "name": self.person.display_name,
            "level": self.level,
            "rule": self.rule.value,
            "open_work": self.open_work,
            "eligible": self.eligible,
            "why": self.why,
            **({"team": self.team} if self.team else {}),
            **({"local": False} if not self.local else {}),
            **({"outside_hours": True} if self.outside_hours else {}),
        }


@dataclass
class Decision:
    person: Person | None
    level: int
    rule: Rule | None
    reason: str
    considered: list[dict[str, Any]]

    def data(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value if self.rule else None,
            "level": self.level,
            "chosen": self.person.id if self.person else None,
            "reason": self.reason,
            "candidates": self.considered,
        }


def chain_for(ticket: Ticket, category: IssueCategory | None) -> list[Rung]:
    """The rungs a ticket can climb, lowest first; the desk is the last resort when nobody else exists."""
    if category is None:
        rungs: list[Rung] = [(EscalationLevel.BACKBONE, Rule.DESK)]
        if ticket.grid_code:
            rungs.append((EscalationLevel.GRID_MEMBER, Rule.GRID_MEMBER))
        rungs.append((EscalationLevel.COMMITTEE, Rule.COMMITTEE))
        return rungs
    if ticket.micro_grid_code:
        rungs = [(EscalationLevel.BACKBONE, Rule.VOLUNTEER)]
    elif not ticket.grid_code:
        # A known problem but no place to send it: the desk asks the reporter where.
        return [(EscalationLevel.BACKBONE, Rule.DESK), (EscalationLevel.COMMITTEE, Rule.COMMITTEE)]
    else:
        rungs = []
    if ticket.grid_code:
        rungs.append((EscalationLevel.GRID_MEMBER, Rule.GRID_MEMBER))
    rungs += [(EscalationLevel.COMMITTEE, Rule.COMMITTEE), (EscalationLevel.TOP, Rule.DESK)]
    return rungs


def open_work(session: Session, person_ids: Iterable[int]) -> dict[int, int]:
    """Tickets each person owns that still need them (dispatched, accepted, reopened)."""
    ids = list(set(person_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Ticket.owner_id, func.count())
        .where(Ticket.owner_id.in_(ids), Ticket.state.in_(OPEN_WORK))
        .group_by(Ticket.owner_id)
    ).all()
    counts = {int(owner): int(n) for owner, n in rows}
    return {i: counts.get(i, 0) for i in ids}


def _people_with_role(session: Session, role: Role, grid_code: str | None, scoped: bool) -> list[Person]:
    # Only a volunteer's profile is looked at here; the roles load when (if) someone reads them.
    profile = selectinload(Person.volunteer) if role is Role.VOLUNTEER else lazyload(Person.volunteer)
    query = (
        select(Person)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .where(PersonRole.role == role)
        .options(lazyload(Person.roles), profile)
    )
    if scoped:
        query = query.where(PersonRole.grid_code == grid_code)
    unique: dict[int, Person] = {}
    for person in session.scalars(query.order_by(Person.id)):
        unique.setdefault(person.id, person)
    return list(unique.values())


def candidates(
    session: Session,
    ticket: Ticket,
    category: IssueCategory | None,
    rung: Rung,
    exclude: frozenset[int] = frozenset(),
    *,
    with_teams: bool = False,
) -> list[Candidate]:
    """Everyone the rung names, eligible or not (with why), least open work first, ties by person id.

    For volunteers, `with_teams` adds the members of teams offering the category's skill. Among the eligible,
    the micro-grid's own come before team members from elsewhere (they know the place: the team is the wider
    pool when the micro-grid has nobody with the skill on duty), then those inside their declared duty hours,
    then the least open work."""
    level, rule = rung
    via_team: dict[int, str] = {}
    local_ids: set[int] | None = None
    if rule is Rule.VOLUNTEER:
        if not ticket.micro_grid_code or category is None:
            return []
        people = _people_with_role(session, Role.VOLUNTEER, ticket.micro_grid_code, scoped=True)
        if with_teams:
            local_ids = {p.id for p in people}
            via_team = team_members_offering(session, category.skill)
            if set(via_team) - local_ids:
                people += list(
                    session.scalars(
                        select(Person)
                        .where(Person.id.in_(set(via_team) - local_ids))
                        .options(lazyload(Person.roles), selectinload(Person.volunteer))
                        .order_by(Person.id)
                    )
                )
    elif rule is Rule.GRID_MEMBER:
        if not ticket.grid_code:
            return []
        people = _people_with_role(session, Role.GRID_MEMBER, ticket.grid_code, scoped=True)
    else:
        people = _people_with_role(session, ROLE_OF_RULE[rule], None, scoped=False)
    work = open_work(session, (p.id for p in people))
    now, zone = utcnow(), get_settings().zone
    result = []
    for person in people:
        team = via_team.get(person.id)
        why = _ineligible_because(person, rule, category, exclude, team)
        windows = windows_of(person.volunteer) if rule is Rule.VOLUNTEER else []
        outside = bool(windows) and not covers(windows, now, zone)
        local = local_ids is None or person.id in local_ids
        eligible = why is None
        result.append(
            Candidate(person, level, rule, work[person.id], eligible, why or "eligible", team, local, outside)
        )
    result.sort(key=lambda c: (not c.eligible, not c.local, c.outside_hours, c.open_work, c.person.id))
    return result


def _ineligible_because(
    person: Person,
    rule: Rule,
    category: IssueCategory | None,
    exclude: frozenset[int],
    team: str | None = None,
) -> str | None:
    if person.id in exclude:
        return "declined or already holds it"
    if person.blocked_bot:
        # A task nobody can deliver is a task nobody does.
        return "blocked the bot"
    if rule is Rule.VOLUNTEER:
        if (off_duty := off_duty_reason(person)) is not None:
            return off_duty
        profile = person.volunteer
        assert profile is not None
        # A team member offers the team's skill, whatever their own list says.
        if team is None and category is not None and category.skill not in (profile.skills or []):
            return f"lacks skill {category.skill}"
    return None


def route(
    session: Session,
    ticket: Ticket,
    category: IssueCategory | None,
    *,
    min_level: int = EscalationLevel.BACKBONE,
    exclude: frozenset[int] = frozenset(),
) -> Decision:
    """The first rung at or above `min_level` with an eligible candidate picks its least-loaded one."""
    considered: list[dict[str, Any]] = []
    skipped: list[str] = []
    for rung in chain_for(ticket, category):
        level, rule = rung
        if level < min_level:
            continue
        found = candidates(session, ticket, category, rung, exclude, with_teams=True)
        considered += [c.data() for c in found]
        eligible = [c for c in found if c.eligible]
        if eligible:
            chosen = eligible[0]
            reason = f"{rule.value} at level {level}: least open work ({chosen.open_work}) of {len(eligible)}"
            if skipped:
                reason += "; nobody eligible as " + ", ".join(skipped)
            return Decision(chosen.person, level, rule, reason, considered)
        skipped.append(f"{rule.value} (level {level}, {len(found)} considered)")
    reason = "nobody eligible as " + ", ".join(skipped) if skipped else "no rung above the current level"
    return Decision(None, max(min_level, ticket.escalation_level), None, reason, considered)


def emergency_team(
    session: Session, ticket: Ticket, category: IssueCategory | None
) -> tuple[Decision, list[Candidate]]:
    """Owner at the highest rung with anyone eligible, plus every eligible person of every rung to alert.

    The desk joins only when no one else exists: an emergency is not a triage case.
    """
    rungs = chain_for(ticket, category)
    main = [r for r in rungs if r[1] is not Rule.DESK or r == rungs[0]]
    team: list[Candidate] = []
    considered: list[dict[str, Any]] = []
    for rung in main:
        found = candidates(session, ticket, category, rung)
        considered += [c.data() for c in found]
        team += [c for c in found if c.eligible]
    if not team:
        decision = route(session, ticket, category)
        return decision, []
    top_level = max(c.level for c in team)
    top = [c for c in team if c.level == top_level]
    owner = top[0]
    reason = f"emergency: owner {owner.rule.value} at level {top_level}; {len(team)} people alerted"
    decision = Decision(owner.person, top_level, owner.rule, reason, considered)
    unique: dict[int, Candidate] = {}
    for c in team:
        unique.setdefault(c.person.id, c)
    return decision, list(unique.values())
