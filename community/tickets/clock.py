"""The hotline's clock: deadlines in working time for ordinary categories, around the clock for urgent ones.

A category's `sla_clock` (knowledge/categories.yml) is `around_the_clock` (24×7: urgent and emergency
matters) or `working_hours`: its minutes then run only inside the working hours of knowledge/calendar.yml —
weekday hours, public holidays off, adjusted working days (调休) on — in the community's time zone (the
TIMEZONE setting). A litter report filed at 23:00 with a 120-minute accept time is due at 10:30 the next
working morning, so the sweeper has nothing to escalate at night. Emergencies, urgent tickets and tickets
without a category (the desk sorts them, and they may be anything) run around the clock.

Every deadline a step sets also sets, here, when its holder is warned (`warn_at`) and when the reporter of a
long-open ticket next hears "still on it" (`nudge_at`); `stamp` is called by transition.change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from community.grids.service import cached_get
from community.knowledge.calendar import WorkCalendar, load_calendar
from community.settings import get_settings
from community.tickets.models import IssueCategory, Ticket, TicketState, Urgency

AROUND_THE_CLOCK = "around_the_clock"
WORKING_HOURS = "working_hours"
SLA_CLOCKS = (AROUND_THE_CLOCK, WORKING_HOURS)

# A calendar with no working hours left (a year far past the listed ones still has its weekdays, so this is
# a guard against a broken calendar, not a limit anyone reaches): ten years of days.
_MAX_DAYS = 3660
# States whose deadline the holder is warned of: waiting for Accept, or accepted and waiting for Resolve.
WARNED_STATES = frozenset({TicketState.DISPATCHED, TicketState.REOPENED, TicketState.ACCEPTED})
# States whose reporter hears "still on it": every state before resolution.
NUDGED_STATES = frozenset({TicketState.NEW, *WARNED_STATES})


@lru_cache(maxsize=4)
def _calendar(directory: Path) -> WorkCalendar:
    return load_calendar(directory)


def community_calendar() -> WorkCalendar:
    return _calendar(get_settings().knowledge_dir)


def community_zone() -> ZoneInfo:
    return get_settings().zone


# --- working-time arithmetic -----------------------------------------------------------------------------


def _spans(day: date, calendar: WorkCalendar, zone: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    """The day's working spans as UTC instants (arithmetic in UTC is right across any DST change)."""
    for start, end in calendar.hours_on(day):
        span_end = (
            datetime.combine(day + timedelta(days=1), time(0), zone)
            if end == time(23, 59, 59, 999999)
            else datetime.combine(day, end, zone)
        )
        yield datetime.combine(day, start, zone).astimezone(UTC), span_end.astimezone(UTC)


def add_working(start: datetime, minutes: float, calendar: WorkCalendar, zone: ZoneInfo) -> datetime:
    """`start` plus `minutes` of working time: the moment the last of them is used up."""
    remaining = timedelta(minutes=minutes)
    if remaining <= timedelta(0):
        return start
    day = start.astimezone(zone).date()
    for _ in range(_MAX_DAYS):
        for span_start, span_end in _spans(day, calendar, zone):
            begin = max(start, span_start)
            if begin >= span_end:
                continue
            available = span_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
    raise ValueError("the calendar has no working hours in the next ten years")


def working_minutes(start: datetime, end: datetime, calendar: WorkCalendar, zone: ZoneInfo) -> float:
    """Working minutes between two moments (0 when `end` is not after `start`)."""
    if end <= start:
        return 0.0
    total = timedelta(0)
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        for span_start, span_end in _spans(day, calendar, zone):
            overlap = min(end, span_end) - max(start, span_start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total.total_seconds() / 60


# --- a ticket's clock ------------------------------------------------------------------------------------


def around_the_clock(ticket: Ticket, category: IssueCategory | None) -> bool:
    if category is None or ticket.urgency == Urgency.EMERGENCY or category.emergency:
        return True
    return (category.sla_clock or AROUND_THE_CLOCK) == AROUND_THE_CLOCK


def deadline(ticket: Ticket, category: IssueCategory | None, start: datetime, sla: timedelta) -> datetime:
    """`start` + `sla` on the ticket's clock."""
    if around_the_clock(ticket, category):
        return start + sla
    return add_working(start, sla.total_seconds() / 60, community_calendar(), community_zone())


def _share(
    ticket: Ticket, category: IssueCategory | None, start: datetime, end: datetime, share: float
) -> datetime:
    if around_the_clock(ticket, category):
        return start + (end - start) * share
    calendar, zone = community_calendar(), community_zone()
    return add_working(start, working_minutes(start, end, calendar, zone) * share, calendar, zone)


def warning_at(
    ticket: Ticket, category: IssueCategory | None, start: datetime, due: datetime
) -> datetime | None:
    """When the holder is warned of a deadline set at `start`: after the calendar's share of the time."""
    if due <= start:
        return None
    moment = _share(ticket, category, start, due, community_calendar().rules.warn_at_share_of_sla)
    return moment if moment < due else None


def next_nudge(ticket: Ticket, category: IssueCategory | None, after: datetime) -> datetime:
    hours = community_calendar().rules.still_on_it_every_working_hours
    return deadline(ticket, category, after, timedelta(hours=hours))


def extension_due(due: datetime, working_days: int) -> datetime:
    """An extension moves the deadline by whole working days of the calendar (a working day is a day's
    hours, whatever the category's clock: approvers grant "one more working day", not "24 hours")."""
    calendar, zone = community_calendar(), community_zone()
    day_minutes = sum(
        (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() / 60
        for start, end in calendar.adjusted_day_hours
    )
    return add_working(due, day_minutes * working_days, calendar, zone)


def category_of(session: Session, ticket: Ticket) -> IssueCategory | None:
    return cached_get(session, IssueCategory, ticket.category_code) if ticket.category_code else None


def stamp(session: Session, ticket: Ticket, step: str, now: datetime, changes: dict[str, Any]) -> None:
    """What a step's new deadline means for the warning and the reporter's "still on it" (see module doc)."""
    if "due_at" in changes:
        due = changes["due_at"]
        warn = None
        if due is not None and changes.get("state") in WARNED_STATES:
            warn = warning_at(ticket, category_of(session, ticket), now, due)
        changes["warn_at"] = warn
    if step in ("route", "reopen"):
        changes["nudge_at"] = next_nudge(ticket, category_of(session, ticket), now)


def expected_by(session: Session, ticket: Ticket) -> datetime | None:
    """When the reporter may expect a fix: the resolve deadline once accepted; before that, the accept
    deadline plus the resolve time on the ticket's clock."""
    if ticket.due_at is None:
        return None
    if ticket.state == TicketState.ACCEPTED:
        return ticket.due_at
    if ticket.state in (TicketState.DISPATCHED, TicketState.REOPENED):
        from community.tickets.transition import resolve_sla  # transition imports this module

        category = category_of(session, ticket)
        return deadline(ticket, category, ticket.due_at, resolve_sla(category))
    return None
