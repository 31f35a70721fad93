"""Red service map queries: the nearest open toilet, a place by name, what is near a landmark.

Distances are computed in Python with the haversine formula: the map has a few dozen points, so this is exact
and the same on SQLite and PostgreSQL (no PostGIS needed).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.geo import haversine_m
from community.grids.models import Landmark
from community.i18n import catalogue, pick, t
from community.knowledge.schema import SERVICE_TYPES
from community.servicemap.hours import describe, is_open
from community.servicemap.models import ServicePoint

WALKING_SPEED_M_PER_MIN = 4500 / 60  # 4.5 km/h, an unhurried tourist on bluestone
DETOUR_FACTOR = 1.3  # lanes are not straight lines: walking distance ≈ 1.3 × great-circle distance


class UnknownLandmark(LookupError):
    pass


@dataclass(frozen=True)
class Nearby:
    point: ServicePoint
    distance_m: float
    walk_min: int
    open_now: bool


@dataclass(frozen=True)
class PlaceMatch:
    """A place found by name: a service point or a landmark, with its title in the asker's language."""

    kind: Literal["service_point", "landmark"]
    code: str
    title: str
    lat: float
    lon: float
    score: float


def walking_minutes(distance_m: float) -> int:
    """Minutes on foot, rounded up, at least 1 (\"0 minutes\" reads as a mistake)."""
    return max(1, math.ceil(distance_m * DETOUR_FACTOR / WALKING_SPEED_M_PER_MIN))


def _check_type(type_: str | None) -> None:
    if type_ is not None and type_ not in SERVICE_TYPES:
        raise ValueError(f"unknown service point type {type_!r}; expected one of {', '.join(SERVICE_TYPES)}")


def nearest(
    session: Session,
    lat: float,
    lon: float,
    type: str | None = None,  # shadows the builtin on purpose: the name callers (and the NLU entity) use
    *,
    open_at: datetime | None = None,
    limit: int = 3,
) -> list[Nearby]:
    """The `limit` nearest active points (of `type`, if given). With `open_at`, only points open at that
    moment, and `open_now` refers to it; without, all points, `open_now` meaning right now."""
    _check_type(type_=type)
    query = select(ServicePoint).where(ServicePoint.active.is_(True))
    if type is not None:
        query = query.where(ServicePoint.type == type)
    moment = open_at or datetime.now(UTC)
    found: list[Nearby] = []
    for point in session.scalars(query):
        open_now = is_open(point.opening_hours, moment)
        if open_at is not None and not open_now:
            continue
        distance = haversine_m(lat, lon, point.lat, point.lon)
        found.append(Nearby(point, distance, walking_minutes(distance), open_now))
    found.sort(key=lambda n: (n.distance_m, n.point.code))
    return found[:limit]


def points_near_landmark(
    session: Session,
    landmark_code: str,
    type: str | None = None,
    *,
    open_at: datetime | None = None,
    limit: int = 3,
) -> list[Nearby]:
    """Nearest points to a landmark ("toilet near the Zhaoguan Pagoda")."""
    landmark = session.get(Landmark, landmark_code)
    if landmark is None or not landmark.active:
        raise UnknownLandmark(landmark_code)
    return nearest(session, landmark.lat, landmark.lon, type, open_at=open_at, limit=limit)


# --- Finding a place by name --------------------------------------------------------------------------------

_ASCII_WORD = re.compile(r"[a-z0-9]")


@lru_cache(maxsize=1)
def _to_simplified() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Casefolded, width-folded, punctuation as spaces, Traditional folded to Simplified: 昭關 finds 昭关."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    text = _to_simplified().convert(text)
    return " ".join(text.split())


def _contains(haystack: str, needle: str) -> bool:
    """`needle` inside `haystack`; Latin words must match whole words ("atm" is not in "treatment"), Han, kana
    and Hangul anywhere (they have no spaces between words)."""
    if not needle:
        return False
    before = r"(?<![a-z0-9])" if _ASCII_WORD.match(needle[0]) else ""
    after = r"(?![a-z0-9])" if _ASCII_WORD.match(needle[-1]) else ""
    if re.search(before + re.escape(needle) + after, haystack):
        return True
    # "小码头 街" or "xiao matou": compare without spaces too, when the name has no Latin word to protect.
    if not _ASCII_WORD.search(needle):
        return needle.replace(" ", "") in haystack.replace(" ", "")
    return False


def _score(query: str, name: str) -> float:
    if not name:
        return 0.0
    if query == name:
        return 3.0
    if len(name) >= 2 and _contains(query, name):
        return 2.0 + min(len(name), 40) / 100  # the name inside a sentence; longer names are more specific
    if len(query) >= 2 and _contains(name, query):
        return 1.0 + len(query) / len(name)  # a part of a name
    return 0.0


def find_by_name(session: Session, text: str, language: str, *, limit: int = 5) -> list[PlaceMatch]:
    """Service points and landmarks whose names (any language) or aliases match `text`, best first."""
    query = normalise(text)
    if len(query.replace(" ", "")) < 2:
        return []  # a single character matches half the map
    best: dict[tuple[str, str], PlaceMatch] = {}

    def consider(
        kind: Literal["service_point", "landmark"],
        code: str,
        names: dict[str, str],
        extra: list[str],
        lat: float,
        lon: float,
    ) -> None:
        score = 0.0
        for lang, name in names.items():
            s = _score(query, normalise(name))
            if s and lang == language:
                s += 0.05  # the asker's own language wins a tie
            score = max(score, s)
        for alias in extra:
            score = max(score, _score(query, normalise(alias)))
        if score > 0:
            match = PlaceMatch(kind, code, pick(names, language), lat, lon, round(score, 4))
            if (kind, code) not in best or best[(kind, code)].score < match.score:
                best[(kind, code)] = match

    for lm in session.scalars(select(Landmark).where(Landmark.active.is_(True))):
        consider("landmark", lm.code, lm.names, list(lm.aliases or []), lm.lat, lm.lon)
    for point in session.scalars(select(ServicePoint).where(ServicePoint.active.is_(True))):
        consider("service_point", point.code, point.names, [], point.lat, point.lon)
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.kind != "landmark", m.code))
    return ranked[:limit]


# --- Rendering ----------------------------------------------------------------------------------------------


def format_distance(distance_m: float, language: str) -> str:
    if distance_m < 1000:
        # Ten-metre steps: the coordinates are not better than that, and "87 m" promises too much.
        return t("map.distance.m", language, meters=max(10, round(distance_m / 10) * 10))
    return t("map.distance.km", language, km=f"{distance_m / 1000:.1f}")


def type_name(type_: str, language: str) -> str:
    return t(f"map.type.{type_}", language)


def service_label(key: str, language: str) -> str:
    """A service a point offers (`aed`, `wheelchair_loan`) in words; the key itself when not catalogued."""
    message = f"web.service.{key}"
    return t(message, language) if message in catalogue() else key.replace("_", " ")


def render_nearby(nearby: list[Nearby], language: str) -> str:
    """A chat message listing the places: name, distance, walk, open or closed, address and hours."""
    if not nearby:
        return t("map.nearby.none", language)
    types = {n.point.type for n in nearby}
    if len(types) == 1:
        header = t("map.nearby.header_type", language, type=type_name(next(iter(types)), language))
    else:
        header = t("map.nearby.header", language)
    lines = [header]
    for index, item in enumerate(nearby, start=1):
        point = item.point
        lines.append(
            t(
                "map.nearby.item",
                language,
                index=index,
                name=pick(point.names, language),
                distance=format_distance(item.distance_m, language),
                minutes=item.walk_min,
                status=t("map.open_now" if item.open_now else "map.closed_now", language),
            )
        )
        address = pick(point.address or {}, language)
        if address:
            lines.append(t("map.nearby.address", language, address=address))
        lines.append(t("map.nearby.hours", language, hours=describe(point.opening_hours, language)))
    return "\n".join(lines)


def map_url(lat: float, lon: float, zoom: int = 18) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map={zoom}/{lat:.6f}/{lon:.6f}"


def venue_payload(nearby: Nearby, language: str) -> dict[str, Any]:
    """A custom payload the bot renders as a Telegram venue (title and address are required there)."""
    point = nearby.point
    title = pick(point.names, language)
    return {
        "type": "venue",
        "latitude": point.lat,
        "longitude": point.lon,
        "title": title,
        "address": pick(point.address or {}, language) or title,
        "distance_m": round(nearby.distance_m),
        "walk_min": nearby.walk_min,
        "open_now": nearby.open_now,
        "map_url": map_url(point.lat, point.lon),
    }
