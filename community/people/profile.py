"""A volunteer's own profile: skills and weekly duty hours.

Duty hours are weekly windows in the community's zone, written the way people say them:
`mon-fri 18:00-22:00; sat 09:00-12:00` (or 周一-周五 18:00-22:00). A window may run past midnight
(`fri 22:00-02:00`). They say when a volunteer usually serves; /duty on|off still says whether they serve at
all, and routing prefers, among those on duty, the ones inside one of their windows now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.people.models import VolunteerProfile

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_WORDS: dict[str, int] = {name: i for i, name in enumerate(DAY_NAMES)}
for _prefix in ("周", "週", "星期"):
    for _i, _char in enumerate("一二三四五六日"):
        _DAY_WORDS[_prefix + _char] = _i
    _DAY_WORDS[_prefix + "天"] = 6
for _i, _char in enumerate("月火水木金土日"):
    _DAY_WORDS[_char] = _i
    _DAY_WORDS[_char + "曜"] = _i
    _DAY_WORDS[_char + "曜日"] = _i
for _i, _char in enumerate("월화수목금토일"):
    _DAY_WORDS[_char] = _i
    _DAY_WORDS[_char + "요일"] = _i
_EVERY_DAY = {"daily", "every", "每天", "毎日", "매일"}
_WINDOW = re.compile(r"^(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})\s*[-–~～]\s*(?P<end>\d{1,2}:\d{2})$")
MAX_WINDOWS = 14


class ProfileError(ValueError):
    """A profile edit that cannot be understood; `key` is the catalogue text to answer with."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Window:
    day: int  # Monday 0
    start: str  # "HH:MM"
    end: str  # "HH:MM"; not after start: the window runs into the next day

    def data(self) -> dict[str, object]:
        return {"day": self.day, "start": self.start, "end": self.end}

    def __str__(self) -> str:
        return f"{DAY_NAMES[self.day]} {self.start}-{self.end}"


def _clock(text: str) -> str:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return "24:00"
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ProfileError("enrol.hours.bad", part=text)
    return f"{hours:02d}:{minutes:02d}"


def _days(spec: str) -> list[int]:
    word = spec.lower()
    if word in _EVERY_DAY:
        return list(range(7))
    if "-" in word or "–" in word or "至" in word:
        first, last = re.split(r"[-–至]", word, maxsplit=1)
        if first not in _DAY_WORDS or last not in _DAY_WORDS:
            raise ProfileError("enrol.hours.bad", part=spec)
        a, b = _DAY_WORDS[first], _DAY_WORDS[last]
        return [(a + i) % 7 for i in range((b - a) % 7 + 1)]
    days = []
    for part in re.split(r"[,，、/]", word):
        if part not in _DAY_WORDS:
            raise ProfileError("enrol.hours.bad", part=spec)
        days.append(_DAY_WORDS[part])
    return days


def parse_duty_hours(text: str) -> list[Window]:
    """`mon-fri 18:00-22:00; sat 09:00-12:00` → windows; "none" (or 无/なし/없음) clears them."""
    text = text.strip()
    if text.lower() in ("none", "clear", "无", "無", "なし", "없음", "-"):
        return []
    windows: list[Window] = []
    for part in re.split(r"[;；\n]", text):
        part = part.strip()
        if not part:
            continue
        match = _WINDOW.match(part)
        if match is None:
            raise ProfileError("enrol.hours.bad", part=part)
        start, end = _clock(match["start"]), _clock(match["end"])
        if start == end or start == "24:00":
            raise ProfileError("enrol.hours.bad", part=part)
        windows += [Window(day, start, end) for day in _days(match["days"])]
    if not windows:
        raise ProfileError("enrol.hours.bad", part=text)
    if len(windows) > MAX_WINDOWS:
        raise ProfileError("enrol.hours.too_many", most=str(MAX_WINDOWS))
    return sorted(set(windows), key=lambda w: (w.day, w.start))


def windows_of(profile: VolunteerProfile | None) -> list[Window]:
    raw = (profile.duty_hours if profile is not None else None) or []
    return [Window(int(str(w["day"])), str(w["start"]), str(w["end"])) for w in raw]


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def covers(windows: list[Window], now: datetime, zone: ZoneInfo) -> bool:
    """Whether one of the windows holds `now` (aware), read in the community's zone."""
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    for w in windows:
        start, end = _minutes(w.start), _minutes(w.end)
        if start < end:
            if w.day == today and start <= minute < end:
                return True
        else:  # runs past midnight
            if (w.day == today and minute >= start) or (w.day == yesterday and minute < end):
                return True
    return False


def format_windows(windows: list[Window]) -> str:
    return "; ".join(str(w) for w in windows)


def known_skills(session: Session) -> set[str]:
    """Skills a volunteer may have: those the categories need and those the teams offer."""
    from community.people.records import Team

    # Imported here: routing imports this module, and community.tickets (the package) imports routing.
    from community.tickets.models import IssueCategory

    skills = {c.skill for c in session.scalars(select(IssueCategory).where(IssueCategory.active.is_(True)))}
    for team in session.scalars(select(Team).where(Team.active.is_(True))):
        skills.update(team.skills or [])
    return skills


def parse_skills(session: Session, text: str) -> list[str]:
    """`electrical,plumbing` → the skills, each one known; an unknown one is named back."""
    wanted = [s.strip().lower() for s in re.split(r"[,，、\s]+", text) if s.strip()]
    known = known_skills(session)
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise ProfileError(
            "enrol.error.unknown_skills", skills=", ".join(unknown), known=", ".join(sorted(known))
        )
    return list(dict.fromkeys(wanted))
