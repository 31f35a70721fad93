"""Reading what the desk writes in the step-by-step of a project: hands, offers, a place, a time window.

Each refusal is a ProjectError with a catalogue text, so the desk is asked again politely.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel
from community.partners.knowledge import offer_names
from community.projects.errors import ProjectError
from community.servicemap.hours import community_zone

MAX_HANDS = 50
_WHEN = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s+(\d{1,2}:\d{2})(?:\s*-\s*(\d{1,2}:\d{2}))?)?$")


def parse_hands(text: str) -> int:
    digits = text.strip()
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_HANDS:
        raise ProjectError("projects.error.bad_hands", max=MAX_HANDS)
    return int(digits)


def parse_skills(text: str) -> list[str]:
    """Offer codes, comma or space separated; "-" for none. Unknown codes are refused with the list."""
    words = [w for w in re.split(r"[,\s，、]+", text.strip().lower()) if w and w != "-"]
    known = offer_names()
    unknown = [w for w in words if w not in known]
    if unknown:
        raise ProjectError(
            "projects.error.bad_skills", got=", ".join(unknown), known=", ".join(sorted(known))
        )
    return list(dict.fromkeys(words))


def parse_place(session: Session, text: str) -> tuple[str | None, str | None]:
    """(grid, micro-grid) from a code or a name in any language; "-" for the whole community."""
    wanted = text.strip()
    if wanted in ("", "-"):
        return None, None
    for grid in session.scalars(select(Grid).where(Grid.active.is_(True)).order_by(Grid.code)):
        if wanted.lower() == grid.code or wanted in (grid.names or {}).values():
            if grid.level == GridLevel.MICRO_GRID:
                return grid.parent_code, grid.code
            if grid.level == GridLevel.GRID:
                return grid.code, None
            return None, None
    raise ProjectError("projects.error.bad_place", got=wanted)


def parse_when(text: str) -> tuple[datetime | None, datetime | None]:
    """ "2026-12-12", "2026-12-12 09:00" or "2026-12-12 09:00-12:00" in the community's time; "-" for none."""
    wanted = text.strip()
    if wanted in ("", "-"):
        return None, None
    m = _WHEN.match(wanted)
    try:
        if m is None:
            raise ValueError(wanted)
        zone = community_zone()
        day = datetime.strptime(m[1], "%Y-%m-%d").replace(tzinfo=zone)
        if m[2] is None:
            return day, day + timedelta(days=1)
        start = datetime.strptime(f"{m[1]} {m[2]}", "%Y-%m-%d %H:%M").replace(tzinfo=zone)
        end = datetime.strptime(f"{m[1]} {m[3]}", "%Y-%m-%d %H:%M").replace(tzinfo=zone) if m[3] else None
    except ValueError:
        raise ProjectError("projects.error.bad_when") from None
    if end is not None and end <= start:
        raise ProjectError("projects.error.bad_when")
    return start, end
