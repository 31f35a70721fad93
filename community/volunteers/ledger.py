"""The volunteer ledger: points and per-person figures replayed from the append-only logs.

Nothing here is stored: `build_ledger` reads ticket events, duty events and the desk's bonuses and derives,
for the period [start, end),

- credits (points with the rule that earned them, `knowledge/points.yml`):
  * accepted_in_time — an `accepted` event no later than the accept deadline (`due_at`) of the last event
    that handed the ticket out (routed, rerouted, escalated, reopened); earned by the one who accepted;
  * resolved — a `resolved` event not followed by a `reopened` ("not fixed") of the same ticket;
  * good_rating — a rating of good_rating_min or more; earned by whoever made the last resolution before it;
  * duty_hour — each whole hour of a duty session inside the period (a session longer than
    max_session_hours counts as that long: a forgotten /duty off does not earn all week);
  * bonus — a PointBonus row of the desk (with its reason);
- per person: offers (tasks handed to them awaiting acceptance, in the period) and how many they accepted
  in time (an offer someone else took, or that was passed on, before its deadline is not counted either
  way); the tickets they
  accepted and how many of them they resolved for good (the last resolution before `end` is theirs and was
  not reopened); ratings of their resolutions and how many
  were good; duty seconds.

A credit belongs to the period its event falls in, so a closed month's points change only if a resolution
of that month is later reopened as "not fixed".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.tickets.models import TicketEvent
from community.volunteers.models import DutyEvent, PointBonus
from community.volunteers.rules import Rules

HANDED_OUT = ("routed", "rerouted", "escalated")
AWAITING = ("dispatched", "reopened")
RULES = ("accepted_in_time", "resolved", "good_rating", "duty_hour", "project_done", "bonus")
CHUNK = 500


@dataclass(frozen=True)
class Credit:
    person_id: int
    rule: str
    points: int
    at: datetime
    ticket_id: int | None = None
    reason: str = ""


@dataclass
class Figures:
    """One person's counts in the period: the parts of the 先锋指数."""

    offers: int = 0
    offers_in_time: int = 0
    accepted: int = 0
    accepted_resolved: int = 0
    rated: int = 0
    good: int = 0
    duty_seconds: float = 0.0

    @property
    def response_rate(self) -> float | None:
        return self.offers_in_time / self.offers if self.offers else None

    @property
    def resolution_rate(self) -> float | None:
        return self.accepted_resolved / self.accepted if self.accepted else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.good / self.rated if self.rated else None

    @property
    def duty_hours(self) -> float:
        return self.duty_seconds / 3600


@dataclass
class Ledger:
    start: datetime
    end: datetime
    credits: list[Credit] = field(default_factory=list)
    figures: dict[int, Figures] = field(default_factory=lambda: defaultdict(Figures))
    # Duty sessions clipped to the period, per person: for the grids' coverage.
    sessions: dict[int, list[tuple[datetime, datetime]]] = field(default_factory=lambda: defaultdict(list))

    def points(self, person_id: int) -> int:
        return sum(c.points for c in self.credits if c.person_id == person_id)

    def totals(self) -> dict[int, int]:
        totals: dict[int, int] = defaultdict(int)
        for credit in self.credits:
            totals[credit.person_id] += credit.points
        return dict(totals)


def _due(event: Any) -> datetime | None:
    raw = (event.data or {}).get("due_at")
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return None
    return None


def _chosen(event: Any) -> int | None:
    routing = (event.data or {}).get("routing") or {}
    chosen = routing.get("chosen") if isinstance(routing, dict) else None
    return chosen if isinstance(chosen, int) else None


@dataclass
class _Offer:
    person_id: int
    at: datetime
    due: datetime | None


def _replay(events: list[Any], rules: Rules, ledger: Ledger) -> None:
    """One ticket's events, in order: credits and figures for the period."""
    start, end = ledger.start, ledger.end

    def inside(moment: datetime) -> bool:
        return start <= moment < end

    owner: int | None = None
    offer: _Offer | None = None
    resolver: int | None = None
    acceptances: list[tuple[int, datetime]] = []  # (person, at) of acceptances in the period
    resolutions: list[tuple[int, datetime, bool]] = []  # (person, at, stands)
    for index, event in enumerate(events):
        kind, data = event.kind, event.data or {}
        if kind in HANDED_OUT:
            chosen = _chosen(event) if kind != "escalated" else (data.get("to_owner") or _chosen(event))
            if offer is not None and inside(offer.at):
                # Handed on before anyone accepted: the offer was missed when its deadline had passed.
                if offer.due is None or event.at > offer.due:
                    ledger.figures[offer.person_id].offers += 1
            offer = None
            if isinstance(chosen, int):
                owner = chosen
                if event.to_state in AWAITING:
                    offer = _Offer(chosen, event.at, _due(event))
        elif kind == "reopened" and owner is not None:
            offer = _Offer(owner, event.at, _due(event))
        elif kind == "accepted" and event.actor_id is not None:
            actor = event.actor_id
            deadline = offer.due if offer is not None else None
            in_time = deadline is None or event.at <= deadline
            if offer is not None and inside(offer.at):
                if offer.person_id == actor:
                    ledger.figures[actor].offers += 1
                    ledger.figures[actor].offers_in_time += int(in_time)
                elif not in_time:
                    ledger.figures[offer.person_id].offers += 1
            offer = None
            owner = actor
            if inside(event.at):
                if actor not in {p for p, _ in acceptances}:
                    ledger.figures[
                        actor
                    ].accepted += 1  # tickets, not acceptances: a reopened one counts once
                acceptances.append((actor, event.at))
                if in_time and rules.points.accepted_in_time:
                    ledger.credits.append(
                        Credit(
                            actor,
                            "accepted_in_time",
                            rules.points.accepted_in_time,
                            event.at,
                            event.ticket_id,
                        )
                    )
        elif kind == "resolved" and event.actor_id is not None:
            resolver = event.actor_id
            later = next(
                (e for e in events[index + 1 :] if e.kind in ("reopened", "rated", "accepted")), None
            )
            stands = later is None or later.kind != "reopened"
            resolutions.append((resolver, event.at, stands))
            if stands and inside(event.at) and rules.points.resolved:
                ledger.credits.append(
                    Credit(resolver, "resolved", rules.points.resolved, event.at, event.ticket_id)
                )
        if kind in ("rated", "reopened") and "rating" in data and resolver is not None and inside(event.at):
            rating = data["rating"]
            good = isinstance(rating, int) and rating >= rules.points.good_rating_min
            ledger.figures[resolver].rated += 1
            ledger.figures[resolver].good += int(good)
            if good and rules.points.good_rating:
                ledger.credits.append(
                    Credit(resolver, "good_rating", rules.points.good_rating, event.at, event.ticket_id)
                )
    if offer is not None and inside(offer.at) and offer.due is not None and offer.due < end:
        ledger.figures[offer.person_id].offers += 1  # still waiting after its deadline: missed
    # Resolution: a ticket accepted in the period counts for whoever made its last resolution before `end`,
    # if that resolution stands.
    final = next((r for r in reversed(resolutions) if r[1] < end), None)
    for person in {p for p, _ in acceptances}:
        if final is not None and final[0] == person and final[2]:
            ledger.figures[person].accepted_resolved += 1


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


# What the replay reads of an event: plain rows, not ORM objects (a month holds tens of thousands).
EVENT_COLUMNS = (
    TicketEvent.id,
    TicketEvent.ticket_id,
    TicketEvent.kind,
    TicketEvent.actor_id,
    TicketEvent.to_state,
    TicketEvent.data,
    TicketEvent.at,
)


def _ticket_part(session: Session, rules: Rules, ledger: Ledger, people: set[int] | None) -> None:
    # Every ticket with an event in the period: a credit can come from the reporter's rating, and an offer
    # is named only inside the routing data. For some people's credits only, the tickets they acted on
    # suffice: every credit of theirs is an event of theirs (accepted, resolved) or follows one (a rating).
    touched = select(TicketEvent.ticket_id).where(TicketEvent.at >= ledger.start, TicketEvent.at < ledger.end)
    if people is not None:
        touched = touched.where(
            TicketEvent.ticket_id.in_(select(TicketEvent.ticket_id).where(TicketEvent.actor_id.in_(people)))
        )
    ids = sorted(set(session.scalars(touched.distinct())))
    for chunk in _chunks(ids):
        by_ticket: dict[int, list[Any]] = {tid: [] for tid in chunk}
        # Every event of these tickets, also after `end`: a later "not fixed" takes a resolution's credit.
        for event in session.execute(
            select(*EVENT_COLUMNS)
            .where(TicketEvent.ticket_id.in_(chunk))
            .order_by(TicketEvent.ticket_id, TicketEvent.id)
        ):
            by_ticket[event.ticket_id].append(event)
        for events in by_ticket.values():
            _replay(events, rules, ledger)


def duty_sessions(
    session: Session, end: datetime, max_hours: int, person_ids: set[int] | None = None
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Each person's duty sessions from the DutyEvent log before `end`: an `on` opens one (another `on`
    while open changes nothing), an `off` closes it; one still open runs until `end`. Each lasts at most
    `max_hours`."""
    query = (
        select(DutyEvent).where(DutyEvent.at < end).order_by(DutyEvent.person_id, DutyEvent.at, DutyEvent.id)
    )
    if person_ids is not None:
        query = query.where(DutyEvent.person_id.in_(person_ids))
    longest = timedelta(hours=max_hours)
    sessions: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    opened: dict[int, datetime] = {}
    for event in session.scalars(query):
        if event.on_duty:
            opened.setdefault(event.person_id, event.at)
        elif event.person_id in opened:
            began = opened.pop(event.person_id)
            sessions[event.person_id].append((began, min(event.at, began + longest)))
    for person, began in opened.items():
        sessions[person].append((began, min(end, began + longest)))
    return sessions


def _duty_part(session: Session, rules: Rules, ledger: Ledger, person_ids: set[int] | None) -> None:
    for person, spans in duty_sessions(
        session, ledger.end, rules.points.max_session_hours, person_ids
    ).items():
        for began, ended in spans:
            clipped = (max(began, ledger.start), min(ended, ledger.end))
            if clipped[1] <= clipped[0]:
                continue
            ledger.sessions[person].append(clipped)
            seconds = (clipped[1] - clipped[0]).total_seconds()
            ledger.figures[person].duty_seconds += seconds
            hours = int(seconds // 3600)
            if hours and rules.points.duty_hour:
                ledger.credits.append(Credit(person, "duty_hour", hours * rules.points.duty_hour, clipped[0]))


def _bonus_part(session: Session, ledger: Ledger, person_ids: set[int] | None) -> None:
    query = select(PointBonus).where(PointBonus.at >= ledger.start, PointBonus.at < ledger.end)
    if person_ids is not None:
        query = query.where(PointBonus.person_id.in_(person_ids))
    for bonus in session.scalars(query.order_by(PointBonus.id)):
        ledger.credits.append(Credit(bonus.person_id, "bonus", bonus.points, bonus.at, None, bonus.reason))


def _project_part(session: Session, rules: Rules, ledger: Ledger, person_ids: set[int] | None) -> None:
    """project_done (issue #17): a `completed` project event names the people of its confirmed claims."""
    from community.projects.models import ProjectEvent  # the projects part is optional to the ledger

    if not rules.points.project_done:
        return
    query = select(ProjectEvent).where(
        ProjectEvent.kind == "completed", ProjectEvent.at >= ledger.start, ProjectEvent.at < ledger.end
    )
    for event in session.scalars(query.order_by(ProjectEvent.id)):
        for person in (event.data or {}).get("credited") or []:
            if isinstance(person, int) and (person_ids is None or person in person_ids):
                ledger.credits.append(Credit(person, "project_done", rules.points.project_done, event.at))


def build_ledger(
    session: Session, rules: Rules, start: datetime, end: datetime, person_ids: Iterable[int] | None = None
) -> Ledger:
    """Credits and figures of [start, end), for everyone; with `person_ids`, the credits of those people only
    (faster: /points, leaderboards). The indices need everyone's figures, offers included: they leave
    `person_ids` out."""
    people = set(person_ids) if person_ids is not None else None
    ledger = Ledger(start, end)
    _ticket_part(session, rules, ledger, people)
    _duty_part(session, rules, ledger, people)
    _bonus_part(session, ledger, people)
    _project_part(session, rules, ledger, people)
    if people is not None:
        ledger.credits = [c for c in ledger.credits if c.person_id in people]
    ledger.credits.sort(key=lambda c: (c.at, c.person_id, c.rule))
    return ledger
