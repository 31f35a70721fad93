"""Opening hours of service points: parse, evaluate in Shanghai time, describe in the user's language.

Format (as stored in `knowledge/service_points.yml` and `ServicePoint.opening_hours`):

- ``"24h"`` — always open;
- a list of ``{"days": ["mon", ...], "open": "HH:MM", "close": "HH:MM"}``.

``close: "24:00"`` means midnight. A ``close`` earlier than ``open`` runs past midnight (``17:00``–``02:00``);
the hours after midnight belong to the entry of the day *before*, the way a shop sign reads ("Fri 17:00–02:00"
is open at 01:00 on Saturday morning).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from community.i18n import t

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "24h"
MIDNIGHT = 24 * 60
_TIME = re.compile(r"^(\d{2}):(\d{2})$")


class HoursError(ValueError):
    """A syntax problem; `path` locates it inside the value (e.g. ``[1].close``) for the schema's message."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Span:
    days: frozenset[int]  # 0 = Monday, as datetime.weekday()
    open_min: int  # minutes after midnight, 0..1439
    close_min: int  # 1..1440; not after open_min means the span runs past midnight

    @property
    def overnight(self) -> bool:
        return self.close_min <= self.open_min

    def contains(self, weekday: int, minute: int) -> bool:
        if not self.overnight:
            return weekday in self.days and self.open_min <= minute < self.close_min
        # Before the close, the span that opened yesterday evening is still running.
        return (weekday in self.days and minute >= self.open_min) or (
            (weekday - 1) % 7 in self.days and minute < self.close_min
        )


@dataclass(frozen=True)
class OpeningHours:
    always: bool
    spans: tuple[Span, ...] = ()


def _parse_time(value: Any, path: str, *, closing: bool) -> int:
    # YAML 1.1 reads an unquoted 17:30 as the integer 1050: insist on strings and say why.
    if not isinstance(value, str):
        raise HoursError(path, f'expected a quoted time like "09:00", got {value!r} (quote times in YAML)')
    match = _TIME.match(value)
    if not match:
        raise HoursError(path, f"expected HH:MM, got {value!r}")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise HoursError(path, f"{value!r} is not a time of day")
    total = hours * 60 + minutes
    if closing and total == 0:
        raise HoursError(path, 'write midnight as "24:00" when closing')
    if not closing and total == MIDNIGHT:
        raise HoursError(path, 'opening at "24:00" is "00:00" of the next day')
    return total


def parse_hours(value: Any) -> OpeningHours:
    """Validate the stored form; raises HoursError naming the element at fault."""
    if isinstance(value, OpeningHours):
        return value
    if value == ALWAYS:
        return OpeningHours(always=True)
    if isinstance(value, str):
        raise HoursError("", f'expected "24h" or a list of {{days, open, close}}, got {value!r}')
    if not isinstance(value, list) or not value:
        raise HoursError("", 'expected "24h" or a non-empty list of {days, open, close}')
    spans: list[Span] = []
    for index, item in enumerate(value):
        where = f"[{index}]"
        if not isinstance(item, dict):
            raise HoursError(where, "expected a mapping with days, open and close")
        unknown = sorted(set(item) - {"days", "open", "close"})
        if unknown:
            raise HoursError(f"{where}.{unknown[0]}", "unknown field (expected days, open, close)")
        for key in ("days", "open", "close"):
            if key not in item:
                raise HoursError(f"{where}.{key}", "required")
        days = item["days"]
        if not isinstance(days, list) or not days:
            raise HoursError(
                f"{where}.days", "expected a non-empty list of mon, tue, wed, thu, fri, sat, sun"
            )
        numbers: set[int] = set()
        for day_index, day in enumerate(days):
            if day not in DAYS:
                raise HoursError(f"{where}.days[{day_index}]", f"{day!r} is not one of {', '.join(DAYS)}")
            if DAYS.index(day) in numbers:
                raise HoursError(f"{where}.days[{day_index}]", f"{day!r} is listed twice")
            numbers.add(DAYS.index(day))
        open_min = _parse_time(item["open"], f"{where}.open", closing=False)
        close_min = _parse_time(item["close"], f"{where}.close", closing=True)
        if open_min == close_min:
            raise HoursError(f"{where}.close", 'equals open; use "00:00"–"24:00" or "24h" for all day')
        spans.append(Span(frozenset(numbers), open_min, close_min))
    return OpeningHours(always=False, spans=tuple(spans))


def community_zone() -> ZoneInfo:
    """The community's time zone (the TIMEZONE setting, Asia/Shanghai for Xijindu)."""
    from community.settings import get_settings

    return get_settings().zone


def local_time(at: datetime) -> datetime:
    """`at` in the community's time. A naive datetime is taken as its wall-clock time: that is what a
    person means by "23:59" here, and the database only ever hands out aware UTC values."""
    zone = community_zone()
    if at.tzinfo is None:
        return at.replace(tzinfo=zone)
    return at.astimezone(zone)


def is_open(hours: OpeningHours | str | Sequence[Any], at: datetime) -> bool:
    parsed = parse_hours(hours)
    if parsed.always:
        return True
    local = local_time(at)
    minute = local.hour * 60 + local.minute
    return any(span.contains(local.weekday(), minute) for span in parsed.spans)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _describe_days(days: frozenset[int], language: str) -> str:
    if len(days) == 7:
        return t("map.day.daily", language)
    # Runs of consecutive weekdays read better as ranges: "Mon–Fri", "Sat, Sun".
    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    parts: list[str] = []
    for start, end in runs:
        start_name = t(f"map.day.{DAYS[start]}", language)
        end_name = t(f"map.day.{DAYS[end]}", language)
        if start == end:
            parts.append(start_name)
        elif end == start + 1:
            parts.append(start_name + t("map.day.sep", language) + end_name)
        else:
            parts.append(t("map.day.range", language, start=start_name, end=end_name))
    return t("map.day.sep", language).join(parts)


def describe(hours: OpeningHours | str | Sequence[Any], language: str) -> str:
    """A one-line description, e.g. "每天 06:00–24:00" or "Mon–Thu, Sun 17:00–23:00; Fri, Sat 17:00–02:00
    (next day)"."""
    parsed = parse_hours(hours)
    if parsed.always:
        return t("map.hours.24h", language)
    texts = []
    for span in parsed.spans:
        text = t(
            "map.hours.span",
            language,
            days=_describe_days(span.days, language),
            open=_hhmm(span.open_min),
            close=_hhmm(span.close_min),
        )
        if span.overnight:
            text += t("map.hours.next_day", language)
        texts.append(text)
    return t("map.hours.sep", language).join(texts)
