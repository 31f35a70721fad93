"""knowledge/service_items.yml: the stations' service items and the guided walk, validated against the other
knowledge files (stations, teams, languages) and loaded into `service_items` by `xijin knowledge load`.

Every problem names the file, the entry and the field; nothing is loaded when there is one. No file means no
items. Items that leave the file are deactivated (their sessions and bookings stay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from community.bookings.models import ServiceItem
from community.knowledge.schema import (
    Code,
    Id,
    Keywords,
    KnowledgeBase,
    KnowledgeError,
    LanguageCode,
    Texts,
    _Checker,
    _Strict,
)
from community.people.teams import read_teams

ITEMS_FILE = "service_items.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# "HH:MM", quoted in the file: YAML 1.1 reads an unquoted 17:30 as the number 1050, which strict mode rejects.
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class CategoryEntry(_Strict):
    id: Code
    names: Texts


class SlotEntry(_Strict):
    day: Weekday
    start: Clock
    language: LanguageCode | None = None


class ItemEntry(_Strict):
    id: Id
    sample: bool = True
    category: Code
    station: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
    team: Id | None = None
    capacity: int = Field(ge=1, le=500)
    duration_minutes: int = Field(ge=10, le=24 * 60)
    schedule: list[SlotEntry] = Field(min_length=1)
    languages: list[LanguageCode] = Field(default_factory=list)
    names: Texts
    descriptions: Texts
    keywords: Keywords


@dataclass(frozen=True)
class ItemsFile:
    categories: list[CategoryEntry]
    items: list[ItemEntry]


def read_items(kb: KnowledgeBase) -> ItemsFile:
    """Validate `service_items.yml` beside the other knowledge files; raise KnowledgeError listing all
    problems."""
    if not (kb.directory / ITEMS_FILE).exists():
        return ItemsFile([], [])
    c = _Checker(kb.directory)
    data = c.read("service_items", {"categories": list, "items": list})
    if data is None:
        raise KnowledgeError(c.problems)
    categories = c.entries("service_items", data["categories"], CategoryEntry)
    items = c.entries("service_items", data["items"], ItemEntry)
    category_ids = {category.id for category in categories}
    stations = {point.id for point in kb.service_points}
    teams = {team.id for team in read_teams(kb).teams}
    for item in items:
        if item.category not in category_ids:
            c.add("service_items", item.id, "category", f"category {item.category!r} is not listed")
        if item.station not in stations:
            c.add("service_items", item.id, "station", f"no service point {item.station!r}")
        if item.team is not None and item.team not in teams:
            c.add("service_items", item.id, "team", f"no team {item.team!r} in teams.yml")
        seen: set[tuple[str, str, str]] = set()
        for index, slot in enumerate(item.schedule):
            where = f"schedule[{index}]"
            if slot.language is not None and slot.language not in item.languages:
                c.add("service_items", item.id, f"{where}.language", f"{slot.language!r} is not in languages")
            key = (slot.day, slot.start, slot.language or "")
            if key in seen:
                c.add("service_items", item.id, where, "the same day, time and language twice")
            seen.add(key)
        for language, words in item.keywords.as_dict().items():
            for word in words:
                if not re.search(r"\w", word):
                    c.add("service_items", item.id, f"keywords.{language}", f"{word!r} has no letters")
    if c.problems:
        raise KnowledgeError(c.problems)
    return ItemsFile(categories, items)


def item_rows(kb: KnowledgeBase, items: ItemsFile) -> dict[str, dict[str, Any]]:
    """The rows of `service_items`; a station's micro-grid is its landmark's."""
    grid_of_landmark = {landmark.id: landmark.micro_grid for landmark in kb.landmarks}
    station_landmark = {point.id: point.landmark for point in kb.service_points}
    category_names = {category.id: category.names.as_dict() for category in items.categories}
    return {
        item.id: {
            "category": item.category,
            "category_names": category_names[item.category],
            "names": item.names.as_dict(),
            "descriptions": item.descriptions.as_dict(),
            "station_code": item.station,
            "grid_code": grid_of_landmark.get(station_landmark.get(item.station) or ""),
            "team_code": item.team,
            "capacity": item.capacity,
            "duration_minutes": item.duration_minutes,
            "schedule": [
                {"day": WEEKDAYS.index(slot.day), "start": slot.start, "language": slot.language or ""}
                for slot in item.schedule
            ],
            "languages": list(item.languages),
            "keywords": item.keywords.as_dict(),
            "sample": item.sample,
        }
        for item in items.items
    }


def active_items(session: Session) -> list[ServiceItem]:
    return list(session.scalars(select(ServiceItem).where(ServiceItem.active).order_by(ServiceItem.code)))
