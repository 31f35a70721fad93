"""knowledge/calendar.yml: the community's working hours, public holidays and adjusted working days (调休),
and the clock's rules (warning share, "still on it" interval, extension lengths).

Validated whole before use, like the other knowledge files: a mistake is rejected with the file, the entry
and the field named (community/knowledge/schema.py's Problem and KnowledgeError), never half-read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, StringConstraints, ValidationError

from community.knowledge.schema import KnowledgeError, Problem, _error_message, _field_path, _Strict

CALENDAR_FILE = "calendar.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$")

Span = Annotated[str, StringConstraints(pattern=_SPAN.pattern)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class DayEntry(_Strict):
    date: date
    name: Name


class YearEntry(_Strict):
    year: int = Field(ge=2000, le=2100)
    provisional: bool
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    holidays: list[DayEntry]
    working_days: list[DayEntry]


class WeekEntry(_Strict):
    mon: list[Span]
    tue: list[Span]
    wed: list[Span]
    thu: list[Span]
    fri: list[Span]
    sat: list[Span]
    sun: list[Span]


class ClockRules(_Strict):
    warn_at_share_of_sla: float = Field(gt=0, lt=1)
    still_on_it_every_working_hours: int = Field(gt=0, le=24 * 30)
    extension_working_days: list[int] = Field(min_length=1, max_length=3)


class CalendarFile(_Strict):
    working_hours: WeekEntry
    adjusted_day_hours: list[Span] = Field(min_length=1)
    clock: ClockRules
    years: list[YearEntry] = Field(min_length=1)


Hours = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class WorkCalendar:
    """Working hours per weekday (0 = Monday), days off and adjusted working days, and the clock's rules."""

    week: tuple[Hours, ...]
    adjusted_day_hours: Hours
    holidays: frozenset[date]
    working_days: frozenset[date]
    rules: ClockRules
    years: tuple[int, ...]

    def hours_on(self, day: date) -> Hours:
        if day in self.working_days:
            return self.adjusted_day_hours
        if day in self.holidays:
            return ()
        return self.week[day.weekday()]


def _spans(raw: list[str]) -> Hours:
    """ "08:30-12:00" → (08:30, 12:00); "24:00" as an end means the end of the day."""
    out = []
    for span in raw:
        start, end = span.split("-")
        end_time = time(23, 59, 59, 999999) if end == "24:00" else time.fromisoformat(end)
        out.append((time.fromisoformat(start), end_time))
    return tuple(out)


def _span_problems(label: str, field: str, spans: list[str]) -> list[Problem]:
    problems = []
    hours = _spans(spans)
    for index, (start, end) in enumerate(hours):
        if start >= end:
            problems.append(
                Problem(label, None, f"{field}[{index}]", f"ends before it starts ({spans[index]!r})")
            )
        if index and start < hours[index - 1][1]:
            problems.append(
                Problem(label, None, f"{field}[{index}]", "overlaps or comes before the span above it")
            )
    return problems


def _checks(label: str, parsed: CalendarFile) -> list[Problem]:
    problems: list[Problem] = []
    week = parsed.working_hours
    for day in WEEKDAYS:
        problems += _span_problems(label, f"working_hours.{day}", getattr(week, day))
    problems += _span_problems(label, "adjusted_day_hours", parsed.adjusted_day_hours)
    if not any(getattr(week, day) for day in WEEKDAYS):
        problems.append(Problem(label, None, "working_hours", "no working hours on any day of the week"))
    seen_years: set[int] = set()
    seen_days: dict[date, str] = {}
    for entry in parsed.years:
        year_label = str(entry.year)
        if entry.year in seen_years:
            problems.append(Problem(label, year_label, "year", "listed twice"))
        seen_years.add(entry.year)
        for kind in ("holidays", "working_days"):
            for index, day in enumerate(getattr(entry, kind)):
                where = f"{kind}[{index}].date"
                if day.date.year != entry.year:
                    problems.append(Problem(label, year_label, where, f"{day.date} is not in {entry.year}"))
                if day.date in seen_days:
                    problems.append(
                        Problem(
                            label, year_label, where, f"{day.date} is also listed as {seen_days[day.date]}"
                        )
                    )
                seen_days[day.date] = kind
                if kind == "working_days" and day.date.weekday() < 5:
                    # 调休 makes a weekend day a working day; a weekday already is one.
                    problems.append(
                        Problem(label, year_label, where, f"{day.date} is a weekday, not a 调休 day")
                    )
    return problems


def parse_calendar(raw: Any, label: str) -> WorkCalendar:
    """Validate the file's content; raise KnowledgeError listing every problem (file, entry, field)."""
    if not isinstance(raw, dict):
        raise KnowledgeError([Problem(label, None, None, "expected a mapping at the top level")])
    try:
        parsed = CalendarFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            entry = None
            if len(loc) >= 2 and loc[0] == "years" and isinstance(loc[1], int):
                year = raw["years"][loc[1]] if isinstance(raw.get("years"), list) else None
                entry = str(year.get("year")) if isinstance(year, dict) else f"#{loc[1] + 1}"
                loc = loc[2:]
            problems.append(Problem(label, entry, _field_path(loc) or None, _error_message(error)))
        raise KnowledgeError(problems) from None
    problems = _checks(label, parsed)
    if problems:
        raise KnowledgeError(problems)
    week = parsed.working_hours
    return WorkCalendar(
        week=tuple(_spans(getattr(week, day)) for day in WEEKDAYS),
        adjusted_day_hours=_spans(parsed.adjusted_day_hours),
        holidays=frozenset(d.date for y in parsed.years for d in y.holidays),
        working_days=frozenset(d.date for y in parsed.years for d in y.working_days),
        rules=parsed.clock,
        years=tuple(sorted(y.year for y in parsed.years)),
    )


def load_calendar(directory: Path) -> WorkCalendar:
    path = directory / CALENDAR_FILE
    label = f"{directory.name}/{CALENDAR_FILE}"
    if not path.is_file():
        raise KnowledgeError([Problem(label, None, None, "file not found")])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeError([Problem(label, None, None, f"not valid YAML: {exc}")]) from None
    return parse_calendar(raw, label)
