"""The two indices, derived from the event log for any period [start, end).

先锋指数 (vanguard index) of a member — anyone with a staff role — is the weighted mean of these parts, each
0–100 (weights in `knowledge/points.yml`, index.vanguard):

- response: offers accepted in time / offers (an offer is a task handed to them while it awaited acceptance —
  routed, rerouted, escalated or reopened to them; one that someone else took, or that was passed on, before
  its deadline does not count either way; one still waiting after its deadline counts as missed);
- resolution: their acceptances that they resolved for good before the period's end / their acceptances;
- satisfaction: ratings of their resolutions that were good (≥ good_rating_min) / ratings;
- points: their points in the period / the points target (points_target_per_30_days, prorated), at most 100;
- duty (volunteers only): their duty hours / the duty target (duty_hours_target_per_30_days, prorated), at
  most 100.

A part without data (no offers, no acceptances, no ratings; duty for a non-volunteer) is left out and the
remaining weights are scaled up; with no part at all there is no index ("—").

堡垒指数 (fortress index) of a grid — its party branch — is the weighted mean of (index.fortress):

- response, resolution, satisfaction: the grid's hotline rates for tickets first routed in the period
  (community/tickets/metrics.py), ×100;
- vanguard: the mean 先锋指数 of the grid's members who have one;
- coverage: the share of the period (up to now) in which at least one of the grid's volunteers was on duty.

Missing parts are left out the same way. Members belong to the grid of each role they hold (a micro-grid
counts for its grid); the committee and the desk belong to no grid and are listed under the community.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.database import utcnow
from community.grids.models import Grid, GridLevel
from community.people.models import Person, PersonRole, Role
from community.tickets.metrics import Metrics, compute_metrics
from community.volunteers.ledger import Figures, Ledger, build_ledger
from community.volunteers.rules import Rules

STAFF_ROLES = tuple(r.value for r in Role if r.is_staff)
NO_GRID = "-"


def weighted(parts: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """The weighted mean of the parts that have a value; None when none has (or their weights are 0)."""
    present = {k: v for k, v in parts.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(weights[k] for k in present)
    if not total:
        return None
    return sum(v * weights[k] for k, v in present.items()) / total


def _pct(rate: float | None) -> float | None:
    return None if rate is None else rate * 100


def _capped(value: float, target: float) -> float:
    return min(100.0, value / target * 100) if target > 0 else 0.0


@dataclass
class MemberIndex:
    person_id: int
    name: str
    volunteer: bool
    figures: Figures
    points: int
    parts: dict[str, float | None]
    index: float | None


@dataclass
class GridIndex:
    code: str
    names: dict[str, str]
    members: list[MemberIndex]
    metrics: Metrics | None
    coverage: float | None
    parts: dict[str, float | None]
    index: float | None


@dataclass
class IndexReport:
    start: datetime
    end: datetime
    grids: list[GridIndex] = field(default_factory=list)
    # The committee and the desk: members of no grid.
    community: list[MemberIndex] = field(default_factory=list)

    def member(self, person_id: int) -> MemberIndex | None:
        for member in [m for g in self.grids for m in g.members] + self.community:
            if member.person_id == person_id:
                return member
        return None


def _memberships(session: Session) -> tuple[dict[int, Person], dict[int, set[str]], set[int]]:
    """Staff persons, the street grids each belongs to, and who of them are volunteers."""
    grids = {g.code: g for g in session.scalars(select(Grid))}
    people: dict[int, Person] = {}
    belongs: dict[int, set[str]] = {}
    volunteers: set[int] = set()
    rows = session.execute(
        select(Person, PersonRole)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .where(PersonRole.role.in_(STAFF_ROLES))
    )
    for person, role in rows:
        people[person.id] = person
        belongs.setdefault(person.id, set())
        if role.role == Role.VOLUNTEER:
            volunteers.add(person.id)
        grid = grids.get(role.grid_code or "")
        if grid is not None and grid.level == GridLevel.MICRO_GRID:
            grid = grids.get(grid.parent_code or "")
        if grid is not None and grid.level == GridLevel.GRID:
            belongs[person.id].add(grid.code)
    return people, belongs, volunteers


def member_index(rules: Rules, ledger: Ledger, person: Person, volunteer: bool, days: float) -> MemberIndex:
    figures = ledger.figures.get(person.id) or Figures()
    points = ledger.points(person.id)
    share = days / 30
    parts: dict[str, float | None] = {
        "response": _pct(figures.response_rate),
        "resolution": _pct(figures.resolution_rate),
        "satisfaction": _pct(figures.satisfaction_rate),
        "points": _capped(points, rules.index.points_target_per_30_days * share),
        "duty": _capped(figures.duty_hours, rules.index.duty_hours_target_per_30_days * share)
        if volunteer
        else None,
    }
    index = weighted(parts, rules.index.vanguard.model_dump())
    return MemberIndex(person.id, person.display_name, volunteer, figures, points, parts, index)


def covered_seconds(spans: Iterable[tuple[datetime, datetime]]) -> float:
    """Seconds covered by the union of the spans."""
    total = 0.0
    current: tuple[datetime, datetime] | None = None
    for began, ended in sorted(spans):
        if current is None or began > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (began, ended)
        else:
            current = (current[0], max(current[1], ended))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def compute_indices(
    session: Session, rules: Rules, start: datetime, end: datetime, now: datetime | None = None
) -> IndexReport:
    """Both indices for [start, end): per grid, with its members, and the community's own members."""
    until = min(end, now or utcnow())
    ledger = build_ledger(session, rules, start, until)
    days = max((until - start) / timedelta(days=1), 1 / 24)
    people, belongs, volunteers = _memberships(session)
    members = {pid: member_index(rules, ledger, p, pid in volunteers, days) for pid, p in people.items()}
    metrics = compute_metrics(session, start, end)
    report = IndexReport(start, end)
    period_seconds = max((until - start).total_seconds(), 1.0)
    for grid in session.scalars(select(Grid).where(Grid.level == GridLevel.GRID).order_by(Grid.code)):
        own = sorted(
            (members[pid] for pid, codes in belongs.items() if grid.code in codes),
            key=lambda m: (-(m.index if m.index is not None else -1), m.name),
        )
        spans = [span for m in own if m.volunteer for span in ledger.sessions.get(m.person_id, [])]
        has_volunteers = any(m.volunteer for m in own)
        coverage = covered_seconds(spans) / period_seconds if has_volunteers else None
        grid_metrics = metrics.per_grid.get(grid.code)
        vanguards = [m.index for m in own if m.index is not None]
        parts: dict[str, float | None] = {
            "response": _pct(grid_metrics.response_rate) if grid_metrics else None,
            "resolution": _pct(grid_metrics.resolution_rate) if grid_metrics else None,
            "satisfaction": _pct(grid_metrics.satisfaction_rate) if grid_metrics else None,
            "vanguard": sum(vanguards) / len(vanguards) if vanguards else None,
            "coverage": _pct(coverage),
        }
        index = weighted(parts, rules.index.fortress.model_dump())
        report.grids.append(GridIndex(grid.code, grid.names, own, grid_metrics, coverage, parts, index))
    report.community = sorted(
        (members[pid] for pid, codes in belongs.items() if not codes), key=lambda m: m.name
    )
    return report
