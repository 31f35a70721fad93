"""What the map pages show, read from the database: the GeoJSON of grids, landmarks and service points with
texts in the page language, the nearest points to a person, one point's details, and the links to it.

Built on `community/servicemap` (export, hours, distances) so the web, the bot and the picture agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.geo import haversine_m
from community.i18n import LANGUAGE_NAMES, pick, t
from community.knowledge.schema import SERVICE_TYPES
from community.servicemap.export import export_geojson
from community.servicemap.hours import describe, is_open
from community.servicemap.models import ServicePoint
from community.servicemap.service import format_distance, service_label, type_name, walking_minutes

# A Telegram deep-link payload: at most 64 characters of A-Z, a-z, 0-9, _ and - (the Bot API's rule).
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# What the bot's /start handler recognises (bot/telegram/handlers/commands.py, POINT_PAYLOAD).
POINT_PAYLOAD_PREFIX = "point_"
NEAR_LIMIT_MAX = 10


@dataclass(frozen=True)
class Filters:
    """The map's filters: one service type (or all), only what is open at `at`."""

    type: str | None
    open_only: bool
    at: datetime

    @property
    def query(self) -> dict[str, str]:
        """The filters as query parameters, for links that keep them."""
        params: dict[str, str] = {}
        if self.type:
            params["type"] = self.type
        if self.open_only:
            params["open"] = "1"
        return params


def parse_moment(value: str | None) -> datetime | None:
    """`at=` as ISO 8601 ("2026-12-05T08:00"; without an offset it is community time); None if empty.
    Raises ValueError on anything else."""
    if not value:
        return None
    return datetime.fromisoformat(value.strip())


def make_filters(type_: str | None, open_: str | None, at: str | None) -> Filters:
    """Raises ValueError for an unknown type or a time that is not one."""
    type_ = (type_ or "").strip() or None
    if type_ is not None and type_ not in SERVICE_TYPES:
        raise ValueError(f"unknown service type {type_!r}")
    open_only = (open_ or "").strip().lower() in ("1", "true", "on", "yes")
    return Filters(type_, open_only, parse_moment(at) or datetime.now(UTC))


def language_label(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def point_path(code: str) -> str:
    return f"/map/points/{quote(code, safe='')}"


def telegram_link(bot_username: str, code: str) -> str | None:
    """The link that opens this point in the bot (`/start point_<code>`), or None without a bot name or
    when the code cannot be a deep-link payload."""
    payload = POINT_PAYLOAD_PREFIX + code
    if not bot_username or not _PAYLOAD.match(payload):
        return None
    return f"https://t.me/{quote(bot_username.lstrip('@'), safe='')}?start={payload}"


def _matches(point: ServicePoint | dict[str, Any], filters: Filters, open_now: bool) -> bool:
    kind = point.type if isinstance(point, ServicePoint) else point["type"]
    return (filters.type is None or kind == filters.type) and (not filters.open_only or open_now)


def map_geojson(session: Session, language: str, filters: Filters) -> dict[str, Any]:
    """The community's GeoJSON (community/servicemap/export.py) with each feature's title in `language`,
    and the service points filtered, each marked open or closed at `filters.at`."""
    collection = export_geojson(session)
    features: list[dict[str, Any]] = []
    for feature in collection["features"]:
        props = feature["properties"]
        props["title"] = pick(props.get("names") or {}, language)
        if props["kind"] == "service_point":
            open_now = is_open(props["opening_hours"], filters.at)
            if not _matches(props, filters, open_now):
                continue
            props.update(
                open_now=open_now,
                type_label=type_name(props["type"], language),
                hours_text=describe(props["opening_hours"], language),
                status_text=t("map.open_now" if open_now else "map.closed_now", language),
                url=f"{point_path(props['id'])}?lang={language}",
            )
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


@dataclass(frozen=True)
class PointRow:
    """A service point as a list or page shows it, in one language."""

    code: str
    type: str
    type_label: str
    title: str
    address: str
    lat: float
    lon: float
    open_now: bool
    hours_text: str
    services: list[str]
    languages: list[str]
    sample: bool
    distance_m: float | None = None
    walk_min: int | None = None
    distance_text: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.code,
            "type": self.type,
            "type_label": self.type_label,
            "title": self.title,
            "address": self.address,
            "lat": self.lat,
            "lon": self.lon,
            "open_now": self.open_now,
            "hours_text": self.hours_text,
            "distance_m": None if self.distance_m is None else round(self.distance_m),
            "walk_min": self.walk_min,
            "distance_text": self.distance_text,
            "url": point_path(self.code),
        }


def _row(
    point: ServicePoint, language: str, at: datetime, origin: tuple[float, float] | None = None
) -> PointRow:
    distance = walk = None
    distance_text = ""
    if origin is not None:
        distance = haversine_m(origin[0], origin[1], point.lat, point.lon)
        walk = walking_minutes(distance)
        distance_text = format_distance(distance, language)
    return PointRow(
        code=point.code,
        type=point.type,
        type_label=type_name(point.type, language),
        title=pick(point.names, language),
        address=pick(point.address or {}, language),
        lat=point.lat,
        lon=point.lon,
        open_now=is_open(point.opening_hours, at),
        hours_text=describe(point.opening_hours, language),
        services=[service_label(s, language) for s in point.services or []],
        languages=[language_label(code) for code in point.languages or []],
        sample=point.sample,
        distance_m=distance,
        walk_min=walk,
        distance_text=distance_text,
    )


def point_rows(session: Session, language: str, filters: Filters) -> list[PointRow]:
    """The points the filters let through, by type and then name: the list beside the map."""
    query = select(ServicePoint).where(ServicePoint.active.is_(True))
    if filters.type:
        query = query.where(ServicePoint.type == filters.type)
    rows = [_row(p, language, filters.at) for p in session.scalars(query)]
    rows = [r for r in rows if not filters.open_only or r.open_now]
    order = {kind: index for index, kind in enumerate(SERVICE_TYPES)}
    return sorted(rows, key=lambda r: (order.get(r.type, len(order)), r.title))


def nearest_rows(
    session: Session, language: str, filters: Filters, lat: float, lon: float, limit: int = 5
) -> list[PointRow]:
    """The `limit` nearest points the filters let through, nearest first (ties by code)."""
    query = select(ServicePoint).where(ServicePoint.active.is_(True))
    if filters.type:
        query = query.where(ServicePoint.type == filters.type)
    rows = [_row(p, language, filters.at, (lat, lon)) for p in session.scalars(query)]
    rows = [r for r in rows if not filters.open_only or r.open_now]
    rows.sort(key=lambda r: (r.distance_m or 0.0, r.code))
    return rows[: max(1, min(limit, NEAR_LIMIT_MAX))]


def point_row(
    session: Session, code: str, language: str, at: datetime, origin: tuple[float, float] | None = None
) -> PointRow | None:
    point = session.get(ServicePoint, code)
    if point is None or not point.active:
        return None
    return _row(point, language, at, origin)


def service_type_options(language: str) -> list[tuple[str, str]]:
    """(type, its name) for the filter, in the catalogue's order."""
    return [(kind, type_name(kind, language)) for kind in SERVICE_TYPES]
