"""What the dashboard shows, inside a staff member's scope: open, overdue and escalated tickets per grid,
the tickets themselves, the volunteers on duty, the rates per grid, and the CSV export.

No reporter's name, phone or contact appears here: the office works with tickets, and the holder of a ticket
reads the reporter's contact in Telegram, where the policy of community/tickets/policy.py applies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel
from community.office.scope import Scope
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.servicemap.hours import local_time
from community.tickets.metrics import Metrics, compute_metrics
from community.tickets.models import IssueCategory, Ticket
from community.tickets.states import OPEN, OPEN_WORK

LIST_LIMIT = 500


def name_in(names: dict[str, str] | None, language: str, fallback: str) -> str:
    names = names or {}
    return names.get(language) or names.get("zh-Hans") or fallback


@dataclass
class GridCounts:
    code: str
    name: str
    level: str
    parent_code: str | None
    polygon: list[list[float]]
    open: int = 0
    overdue: int = 0
    escalated: int = 0


@dataclass
class TicketRow:
    ref: str
    state: str
    category: str
    grid: str
    micro_grid: str
    level: int
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    lat: float | None
    lon: float | None


@dataclass
class Board:
    grids: list[GridCounts]
    tickets: list[TicketRow]
    totals: dict[str, int] = field(default_factory=dict)


def _is_overdue(ticket: Ticket, now: datetime) -> bool:
    return ticket.due_at is not None and ticket.due_at < now


def visible_grids(session: Session, scope: Scope) -> list[Grid]:
    grids = session.scalars(
        select(Grid).where(Grid.active.is_(True), Grid.level != GridLevel.COMMUNITY).order_by(Grid.code)
    )
    return [g for g in grids if scope.sees_grid(g.code)]


def board(session: Session, scope: Scope, now: datetime, language: str) -> Board:
    """Open tickets in scope, counted per grid and micro-grid, and listed most overdue first."""
    grids = {
        g.code: GridCounts(
            g.code, name_in(g.names, language, g.code), g.level, g.parent_code, g.polygon or []
        )
        for g in visible_grids(session, scope)
    }
    categories = {c.code: name_in(c.names, language, c.code) for c in session.scalars(select(IssueCategory))}
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(Ticket.state.in_(OPEN), scope.tickets())
            .order_by(Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
        )
    )
    rows: list[TicketRow] = []
    totals = {"open": 0, "overdue": 0, "escalated": 0}
    for ticket in tickets:
        overdue = _is_overdue(ticket, now)
        escalated = ticket.escalation_level > 0
        totals["open"] += 1
        totals["overdue"] += overdue
        totals["escalated"] += escalated
        for code in {ticket.grid_code, ticket.micro_grid_code}:
            counts = grids.get(code or "")
            if counts is not None:
                counts.open += 1
                counts.overdue += overdue
                counts.escalated += escalated
        if len(rows) < LIST_LIMIT:
            rows.append(
                TicketRow(
                    ref=ticket.ref,
                    state=ticket.state,
                    category=categories.get(ticket.category_code or "", ticket.category_code or "—"),
                    grid=grids[ticket.grid_code].name
                    if ticket.grid_code in grids
                    else (ticket.grid_code or "—"),
                    micro_grid=ticket.micro_grid_code or "—",
                    level=ticket.escalation_level,
                    created_at=local_time(ticket.created_at),
                    due_at=local_time(ticket.due_at) if ticket.due_at else None,
                    overdue=overdue,
                    lat=ticket.lat,
                    lon=ticket.lon,
                )
            )
    # Each grid followed by its micro-grids, as the office reads the tree.
    ordered = sorted(
        grids.values(),
        key=lambda g: (
            g.code if g.level == GridLevel.GRID else (g.parent_code or ""),
            g.level != GridLevel.GRID,
            g.code,
        ),
    )
    return Board(ordered, rows, totals)


@dataclass
class OnDuty:
    name: str
    micro_grids: list[str]
    skills: list[str]
    open_work: int


def volunteers_on_duty(session: Session, scope: Scope) -> list[OnDuty]:
    """Volunteers on duty in the micro-grids of the scope, with their open work (display names only)."""
    rows = session.execute(
        select(Person.id, Person.display_name, PersonRole.grid_code, VolunteerProfile.skills)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .join(VolunteerProfile, VolunteerProfile.person_id == Person.id)
        .where(PersonRole.role == Role.VOLUNTEER, VolunteerProfile.on_duty.is_(True))
        .order_by(PersonRole.grid_code, Person.display_name)
    ).all()
    people: dict[int, OnDuty] = {}
    for person_id, name, grid_code, skills in rows:
        if not scope.sees_grid(grid_code):
            continue
        entry = people.setdefault(person_id, OnDuty(name or f"#{person_id}", [], list(skills or []), 0))
        entry.micro_grids.append(grid_code)
    if people:
        work = session.execute(
            select(Ticket.owner_id, func.count())
            .where(Ticket.owner_id.in_(sorted(people)), Ticket.state.in_(OPEN_WORK))
            .group_by(Ticket.owner_id)
        )
        for owner_id, count in work:
            people[owner_id].open_work = int(count)
    return sorted(people.values(), key=lambda p: (p.micro_grids, p.name))


def metrics_in_scope(session: Session, scope: Scope, start: datetime, end: datetime) -> Metrics:
    """The three rates and mean times over [start, end), per grid, of the tickets this scope sees."""
    if scope.everything:
        return compute_metrics(session, start, end)
    total = Metrics(start, end, None)
    # A grid member's whole grid in one pass; a volunteer's micro-grids one by one (not their whole grid).
    covered = set(scope.grids)
    parts = [compute_metrics(session, start, end, grid_code=g) for g in sorted(scope.grids)]
    parents = dict(
        session.execute(select(Grid.code, Grid.parent_code).where(Grid.code.in_(scope.micro_grids))).all()
    )
    for micro in sorted(scope.micro_grids):
        if parents.get(micro) not in covered:
            part = compute_metrics(session, start, end, grid_code=micro)
            # Named after the micro-grid: the volunteer sees their micro-grid, not their grid's figures.
            part.per_grid = {micro: part} if part.dispatched else {}
            parts.append(part)
    for part in parts:
        for name in (
            "dispatched",
            "accepted",
            "accepted_within_sla",
            "resolved",
            "rated",
            "satisfied",
            "overdue",
        ):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.minutes_to_accept.extend(part.minutes_to_accept)
        total.minutes_to_resolve.extend(part.minutes_to_resolve)
        for code, grid in part.per_grid.items():
            total.per_grid[code] = grid
    return total


CSV_COLUMNS = (
    "ref",
    "created_at",
    "state",
    "category",
    "urgency",
    "grid",
    "micro_grid",
    "escalation_level",
    "dispatched_at",
    "accepted_at",
    "resolved_at",
    "closed_at",
    "due_at",
    "overdue",
    "channel",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time(value).isoformat(" ", "minutes")
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula; reporters' words never reach this file, but
    # codes and names come from data files, so such a cell is quoted anyway.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_csv(session: Session, scope: Scope, start: datetime, end: datetime, now: datetime) -> str:
    """Tickets in scope created in [start, end): operational fields only, no reporter data."""
    tickets: Iterable[Ticket] = session.scalars(
        select(Ticket)
        .where(scope.tickets(), Ticket.created_at >= start, Ticket.created_at < end)
        .order_by(Ticket.created_at, Ticket.id)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for t in tickets:
        overdue = t.state in OPEN and _is_overdue(t, now)
        writer.writerow(
            [
                _cell(v)
                for v in (
                    t.ref,
                    t.created_at,
                    t.state,
                    t.category_code,
                    t.urgency,
                    t.grid_code,
                    t.micro_grid_code,
                    t.escalation_level,
                    t.dispatched_at,
                    t.accepted_at,
                    t.resolved_at,
                    t.closed_at,
                    t.due_at,
                    "yes" if overdue else "no",
                    t.channel,
                )
            ]
        )
    return out.getvalue()
