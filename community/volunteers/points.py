"""Points of volunteers: a person's total and month, how they earned it, the monthly leaderboards, and the
desk's bonus (the only points not derived from work, always with a reason)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel
from community.i18n import is_curated, t
from community.outbox.service import enqueue
from community.people.models import Person, PersonRole, Role
from community.servicemap.hours import community_zone
from community.volunteers.ledger import RULES, build_ledger
from community.volunteers.models import PointBonus
from community.volunteers.rules import Rules

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
LEADERBOARD_SIZE = 10


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[first moment, first moment of the next month) of a calendar month in the community's time zone."""
    zone = community_zone()
    start = datetime(year, month, 1, tzinfo=zone)
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), following.astimezone(UTC)


def this_month(now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(community_zone())
    return month_bounds(local.year, local.month)


@dataclass
class Statement:
    """What /points shows a volunteer."""

    total: int
    month: int
    # rule → (how many credits, points) this month, in the order of RULES
    month_lines: dict[str, tuple[int, int]]
    bonuses: list[tuple[int, str]]  # this month's bonuses: (points, reason)


def statement(session: Session, rules: Rules, person_id: int, now: datetime) -> Statement:
    total = build_ledger(session, rules, EPOCH, now, [person_id]).points(person_id)
    start, _ = this_month(now)
    month = build_ledger(session, rules, start, now, [person_id])
    counts: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    for credit in month.credits:
        counts[credit.rule] += 1
        sums[credit.rule] += credit.points
    lines = {rule: (counts[rule], sums[rule]) for rule in RULES if counts[rule]}
    bonuses = [(c.points, c.reason) for c in month.credits if c.rule == "bonus"]
    return Statement(total, month.points(person_id), lines, bonuses)


def format_statement(item: Statement, language: str) -> str:
    lines = [t("points.statement.title", language, total=item.total, month=item.month)]
    for rule, (count, points) in item.month_lines.items():
        if rule != "bonus":
            lines.append(t(f"points.rule.{rule}", language, n=count, points=points))
    for points, reason in item.bonuses:
        lines.append(t("points.rule.bonus", language, points=f"{points:+d}", reason=reason))
    if not item.month_lines:
        lines.append(t("points.statement.nothing_yet", language))
    return "\n".join(lines)


def grid_members(session: Session, grid_code: str) -> list[int]:
    """Staff of a street grid: roles in the grid itself or in its micro-grids."""
    codes = {grid_code} | set(
        session.scalars(
            select(Grid.code).where(Grid.parent_code == grid_code, Grid.level == GridLevel.MICRO_GRID)
        )
    )
    staff = [r.value for r in Role if r.is_staff]
    return sorted(
        set(
            session.scalars(
                select(PersonRole.person_id).where(
                    PersonRole.grid_code.in_(codes), PersonRole.role.in_(staff)
                )
            )
        )
    )


def leaderboard(
    session: Session, rules: Rules, person_ids: Iterable[int], start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """(name, points) of these people in [start, end), best first, at most LEADERBOARD_SIZE; for a grid
    (`grid_members`) or a team (the team's member ids)."""
    ids = list(person_ids)
    totals = build_ledger(session, rules, start, end, ids).totals()
    names = {p.id: p.display_name for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    ranked = sorted(((names.get(pid, "?"), totals.get(pid, 0)) for pid in ids), key=lambda x: (-x[1], x[0]))
    return ranked[:LEADERBOARD_SIZE]


def format_leaderboard(title: str, ranked: list[tuple[str, int]], language: str) -> str:
    lines = [title]
    lines += [
        t("points.top.line", language, rank=n, name=name, points=pts)
        for n, (name, pts) in enumerate(ranked, 1)
    ]
    if not ranked:
        lines.append(t("points.top.empty", language))
    return "\n".join(lines)


class BonusRefused(ValueError):
    """Why a bonus was not recorded: a catalogue key and its parameters, for a polite answer."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def award_bonus(
    session: Session, rules: Rules, desk: Person, person: Person, points: int, reason: str, now: datetime
) -> PointBonus:
    """The desk records a bonus (or a correction, negative) with a reason; nobody else may. The volunteer is
    told through the outbox, in the same transaction."""
    if not desk.has_role(Role.DESK):
        raise BonusRefused("points.bonus.desk_only")
    reason = reason.strip()
    if len(reason) < rules.bonus.min_reason_length:
        raise BonusRefused("points.bonus.reason_needed", n=rules.bonus.min_reason_length)
    if points == 0 or abs(points) > rules.bonus.max_points:
        raise BonusRefused("points.bonus.out_of_range", max=rules.bonus.max_points)
    if not person.is_staff:
        raise BonusRefused("points.bonus.not_staff")
    bonus = PointBonus(person_id=person.id, points=points, reason=reason, awarded_by_id=desk.id, at=now)
    session.add(bonus)
    session.flush()
    language = person.preferred_language if is_curated(person.preferred_language) else "en"
    told = t("points.bonus.told", language, points=f"{points:+d}", reason=reason)
    enqueue(session, person, "points.bonus", {"text": told}, now=now)
    return bonus
