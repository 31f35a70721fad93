"""Where is a point: the grid tree, its micro-grids and landmarks.

Polygons are parsed and prepared once per process and database, because routing asks for every report. The
cache is dropped when this process writes grids (ORM session hooks) and, for writes by another process such
as the knowledge loader, when a cheap fingerprint of the grid rows changes (checked at most every
FINGERPRINT_TTL_SECONDS).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from itertools import chain
from typing import Any, TypeVar

import shapely
from shapely.geometry import Point, Polygon
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel, Landmark

FINGERPRINT_TTL_SECONDS = 30.0
T = TypeVar("T")


@dataclass(frozen=True)
class _Entry:
    code: str
    area: float
    polygon: Polygon


@dataclass
class _Index:
    generation: int
    fingerprint: str
    checked_at: float
    entries: tuple[_Entry, ...]  # smallest first, so the first hit is the smallest containing micro-grid


_lock = threading.Lock()
_generation = 0
_indexes: dict[str, _Index] = {}


def invalidate_cache() -> None:
    """Forget every prepared polygon; the next lookup reloads them."""
    global _generation
    with _lock:
        _generation += 1
        _indexes.clear()


REFERENCE_CACHE = "xijin.reference"


def cached_get(session: Session, model: type[T], key: str) -> T | None:
    """session.get for reference rows (grids, landmarks, categories) held for the session's lifetime.

    The identity map keeps objects only while something references them, so a sweep handling hundreds of
    tickets in one session would otherwise load the same grid rows again for every ticket.
    """
    cache: dict[tuple[type, str], Any] = session.info.setdefault(REFERENCE_CACHE, {})
    if (model, key) not in cache:
        cache[(model, key)] = session.get(model, key)
    return cache[(model, key)]


def _touches_grids(session: Session) -> bool:
    return any(isinstance(obj, Grid) for obj in chain(session.new, session.dirty, session.deleted))


@event.listens_for(Session, "after_flush")
def _grids_flushed(session: Session, _context: Any) -> None:
    if _touches_grids(session):
        session.info["grids_changed"] = True
        session.info.pop(REFERENCE_CACHE, None)
        invalidate_cache()


@event.listens_for(Session, "after_commit")
def _grids_committed(session: Session) -> None:
    # A lookup between the flush and the commit may have cached the old rows: drop them again.
    if session.info.pop("grids_changed", False):
        invalidate_cache()


@event.listens_for(Session, "after_rollback")
def _grids_rolled_back(session: Session) -> None:
    session.info.pop("grids_changed", None)


def _fingerprint(session: Session) -> str:
    rows = session.execute(
        select(Grid.code, Grid.parent_code, Grid.level, Grid.active, Grid.content_hash).order_by(Grid.code)
    ).all()
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


def _build(session: Session, generation: int, fingerprint: str) -> _Index:
    entries = []
    for grid in micro_grids(session):
        if not grid.polygon or len(grid.polygon) < 3:
            continue
        polygon = Polygon([(float(x), float(y)) for x, y in grid.polygon])
        if not polygon.is_valid:
            polygon = polygon.buffer(0)  # a self-touching ring from a hand-drawn file: repair, don't fail
        shapely.prepare(polygon)
        entries.append(_Entry(grid.code, polygon.area, polygon))
    entries.sort(key=lambda e: (e.area, e.code))
    return _Index(generation, fingerprint, time.monotonic(), tuple(entries))


def _index(session: Session) -> _Index:
    key = str(session.get_bind().url)
    with _lock:
        generation = _generation
        index = _indexes.get(key)
    now = time.monotonic()
    if index is not None and index.generation == generation:
        if now - index.checked_at < FINGERPRINT_TTL_SECONDS:
            return index
        fingerprint = _fingerprint(session)
        if fingerprint == index.fingerprint:
            index.checked_at = now
            return index
    else:
        fingerprint = _fingerprint(session)
    index = _build(session, generation, fingerprint)
    with _lock:
        if _generation == generation:
            _indexes[key] = index
    return index


def micro_grids(session: Session) -> list[Grid]:
    """Active micro-grids, by code."""
    return list(
        session.scalars(
            select(Grid).where(Grid.level == GridLevel.MICRO_GRID, Grid.active.is_(True)).order_by(Grid.code)
        )
    )


def locate_code(session: Session, lat: float, lon: float) -> str | None:
    """Code of the smallest active micro-grid whose polygon covers the point (its edge included)."""
    point = Point(lon, lat)
    for entry in _index(session).entries:
        if entry.polygon.covers(point):
            return entry.code
    return None


def locate(session: Session, lat: float, lon: float) -> Grid | None:
    """The smallest active micro-grid containing (lat, lon), or None outside every micro-grid."""
    code = locate_code(session, lat, lon)
    return cached_get(session, Grid, code) if code else None


def get_grid(session: Session, code: str | None) -> Grid | None:
    if not code:
        return None
    grid = cached_get(session, Grid, code)
    return grid if grid is not None and grid.active else None


def get_landmark(session: Session, code: str | None) -> Landmark | None:
    if not code:
        return None
    landmark = cached_get(session, Landmark, code)
    return landmark if landmark is not None and landmark.active else None


def grid_of_landmark(session: Session, landmark_code: str) -> Grid | None:
    """The micro-grid a landmark belongs to; a landmark filed under a larger grid is placed by its point."""
    landmark = get_landmark(session, landmark_code)
    if landmark is None:
        return None
    grid = get_grid(session, landmark.grid_code)
    if grid is not None and grid.level == GridLevel.MICRO_GRID:
        return grid
    located = locate(session, landmark.lat, landmark.lon)
    return located if located is not None else grid


def parent_chain(session: Session, grid: Grid) -> list[Grid]:
    """The grid followed by its ancestors up to the community: [micro-grid, grid, community]."""
    chain_: list[Grid] = [grid]
    seen = {grid.code}
    current = grid
    while current.parent_code and current.parent_code not in seen:
        parent = cached_get(session, Grid, current.parent_code)
        if parent is None:
            break
        chain_.append(parent)
        seen.add(parent.code)
        current = parent
    return chain_


def street_grid_of(session: Session, grid: Grid) -> Grid | None:
    """The grid (level `grid`) a micro-grid belongs to, or the grid itself."""
    return next((g for g in parent_chain(session, grid) if g.level == GridLevel.GRID), None)
