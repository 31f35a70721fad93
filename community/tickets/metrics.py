"""The hotline rates, derived from the append-only event log only.

The population of a period is the cohort of tickets first routed (event `routed`) in [start, end); their
outcomes count when they happened before `end`, so a report over a closed period never changes:

- response rate: first acceptance no later than the accept deadline set when first routed / dispatched;
- resolution rate: tickets whose last resolution before `end` still stands (resolved or closed) / dispatched;
- satisfaction rate: tickets whose latest rating is 4 or 5 / tickets rated ("not fixed" counts as an
  unsatisfied rating, as 12345 hotlines count 未解决);
- mean minutes from first routing to first acceptance, and to the last resolution;
- time a ticket waited for its reporter's answer (state `waiting`, the SLA clock paused) counts in none of
  these: it is taken out of both times and moves the accept deadline on;
- overdue: tickets that missed at least one deadline (a sweeper escalation or reminder).

Duplicates are never routed and so are not counted: they are the same problem, already counted once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from community.i18n import t
from community.tickets.models import IssueCategory, Ticket, TicketEvent
from community.tickets.notify import local_time

CHUNK = 500
WAITING = "waiting"  # TicketState.WAITING: the SLA clock paused for the reporter's answer
NO_GRID = "-"


@dataclass
class Metrics:
    start: datetime
    end: datetime
    grid_code: str | None = None
    dispatched: int = 0
    accepted: int = 0
    accepted_within_sla: int = 0
    resolved: int = 0
    rated: int = 0
    satisfied: int = 0
    overdue: int = 0
    minutes_to_accept: list[float] = field(default_factory=list, repr=False)
    minutes_to_resolve: list[float] = field(default_factory=list, repr=False)
    per_grid: dict[str, Metrics] = field(default_factory=dict)

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_rate(self) -> float | None:
        return self._rate(self.accepted_within_sla, self.dispatched)

    @property
    def resolution_rate(self) -> float | None:
        return self._rate(self.resolved, self.dispatched)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate(self.satisfied, self.rated)

    @property
    def mean_minutes_to_accept(self) -> float | None:
        return fmean(self.minutes_to_accept) if self.minutes_to_accept else None

    @property
    def mean_minutes_to_resolve(self) -> float | None:
        return fmean(self.minutes_to_resolve) if self.minutes_to_resolve else None


@dataclass
class _Outcome:
    routed_at: datetime
    accept_due: datetime
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    state: str | None = None
    rating: int | str | None = None
    overdue: bool = False
    # [start, end) of each wait for the reporter's answer; end None while still waiting
    waits: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    def waited(self, until: datetime) -> timedelta:
        """Time spent waiting for the reporter between the first routing and `until`."""
        total = timedelta(0)
        for start, end in self.waits:
            start, end = max(start, self.routed_at), min(end or until, until)
            if end > start:
                total += end - start
        return total


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def _parse(moment: object) -> datetime | None:
    if isinstance(moment, str):
        try:
            return datetime.fromisoformat(moment)
        except ValueError:
            return None
    return None


def _outcome(events: list[TicketEvent], accept_sla: timedelta) -> _Outcome | None:
    routed = next((e for e in events if e.kind == "routed"), None)
    if routed is None:
        return None
    due = _parse((routed.data or {}).get("due_at")) or routed.at + accept_sla
    outcome = _Outcome(routed_at=routed.at, accept_due=due)
    for event in events:
        data = event.data or {}
        if event.to_state == WAITING and event.from_state != WAITING:
            outcome.waits.append((event.at, None))
        elif event.from_state == WAITING and event.to_state != WAITING and outcome.waits:
            outcome.waits[-1] = (outcome.waits[-1][0], event.at)
        if event.to_state:
            outcome.state = event.to_state
        if event.kind == "accepted" and outcome.accepted_at is None:
            outcome.accepted_at = event.at
        elif event.kind == "resolved":
            outcome.resolved_at = event.at
        if "rating" in data and event.kind in ("rated", "reopened"):
            outcome.rating = data["rating"]
        if data.get("cause") == "overdue":
            outcome.overdue = True
    return outcome


def _add(metrics: Metrics, outcome: _Outcome) -> None:
    metrics.dispatched += 1
    if outcome.accepted_at is not None:
        metrics.accepted += 1
        waited = outcome.waited(outcome.accepted_at)
        metrics.minutes_to_accept.append(_minutes(outcome.accepted_at - waited, outcome.routed_at))
        if outcome.accepted_at <= outcome.accept_due + waited:
            metrics.accepted_within_sla += 1
    if outcome.resolved_at is not None and outcome.state in ("resolved", "closed"):
        metrics.resolved += 1
        waited = outcome.waited(outcome.resolved_at)
        metrics.minutes_to_resolve.append(_minutes(outcome.resolved_at - waited, outcome.routed_at))
    if outcome.rating is not None:
        metrics.rated += 1
        if isinstance(outcome.rating, int) and outcome.rating >= 4:
            metrics.satisfied += 1
    if outcome.overdue:
        metrics.overdue += 1


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def compute_metrics(
    session: Session, start: datetime, end: datetime, grid_code: str | None = None
) -> Metrics:
    """Rates for tickets first routed in [start, end), overall and per grid; `grid_code` may name a
    grid or a micro-grid to restrict the cohort."""
    first_routed = (
        select(TicketEvent.ticket_id.label("ticket_id"), func.min(TicketEvent.at).label("at"))
        .where(TicketEvent.kind == "routed")
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    query = (
        select(Ticket.id, Ticket.grid_code, Ticket.category_code)
        .join(first_routed, first_routed.c.ticket_id == Ticket.id)
        .where(first_routed.c.at >= start, first_routed.c.at < end)
    )
    if grid_code:
        query = query.where(or_(Ticket.grid_code == grid_code, Ticket.micro_grid_code == grid_code))
    cohort = {tid: (grid or NO_GRID, category) for tid, grid, category in session.execute(query)}
    slas = {c.code: timedelta(minutes=c.accept_sla_minutes) for c in session.scalars(select(IssueCategory))}
    metrics = Metrics(start, end, grid_code)
    ids = sorted(cohort)
    for chunk in _chunks(ids):
        by_ticket: dict[int, list[TicketEvent]] = {tid: [] for tid in chunk}
        for event in session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id.in_(chunk), TicketEvent.at < end)
            .order_by(TicketEvent.ticket_id, TicketEvent.id)
        ):
            by_ticket[event.ticket_id].append(event)
        for tid, events in by_ticket.items():
            grid, category = cohort[tid]
            outcome = _outcome(events, slas.get(category or "", timedelta(minutes=30)))
            if outcome is None:
                continue
            _add(metrics, outcome)
            _add(metrics.per_grid.setdefault(grid, Metrics(start, end, grid)), outcome)
    metrics.per_grid = dict(sorted(metrics.per_grid.items()))
    return metrics


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _mins(minutes: float | None) -> str:
    return "—" if minutes is None else f"{minutes:.1f}"


def format_metrics(metrics: Metrics, language: str) -> str:
    """A plain-text report for the desk or the committee, in their language."""
    scope = metrics.grid_code or t("ticket.metrics.all_grids", language)
    lines = [
        t(
            "ticket.metrics.title",
            language,
            start=local_time(metrics.start),
            end=local_time(metrics.end),
            scope=scope,
        ),
        t("ticket.metrics.dispatched", language, n=metrics.dispatched),
        t(
            "ticket.metrics.response_rate",
            language,
            rate=_pct(metrics.response_rate),
            n=metrics.accepted_within_sla,
            total=metrics.dispatched,
        ),
        t(
            "ticket.metrics.resolution_rate",
            language,
            rate=_pct(metrics.resolution_rate),
            n=metrics.resolved,
            total=metrics.dispatched,
        ),
        t(
            "ticket.metrics.satisfaction_rate",
            language,
            rate=_pct(metrics.satisfaction_rate),
            n=metrics.satisfied,
            total=metrics.rated,
        ),
        t("ticket.metrics.mean_accept", language, minutes=_mins(metrics.mean_minutes_to_accept)),
        t("ticket.metrics.mean_resolve", language, minutes=_mins(metrics.mean_minutes_to_resolve)),
        t("ticket.metrics.overdue", language, n=metrics.overdue),
    ]
    if len(metrics.per_grid) > 1 or (metrics.per_grid and not metrics.grid_code):
        lines.append(t("ticket.metrics.per_grid", language))
        for code, grid in metrics.per_grid.items():
            lines.append(
                t(
                    "ticket.metrics.grid_line",
                    language,
                    grid=code,
                    n=grid.dispatched,
                    response=_pct(grid.response_rate),
                    resolution=_pct(grid.resolution_rate),
                    satisfaction=_pct(grid.satisfaction_rate),
                )
            )
    return "\n".join(lines)
