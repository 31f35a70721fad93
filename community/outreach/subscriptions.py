"""Residents and tourists subscribe to the announcements of an area (a grid or a micro-grid)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel
from community.outreach.models import Subscription
from community.people.models import Person

AREA_LEVELS = (GridLevel.GRID.value, GridLevel.MICRO_GRID.value)


def areas(session: Session) -> list[Grid]:
    """The areas one can subscribe to: each grid followed by its micro-grids."""
    grids = list(
        session.scalars(select(Grid).where(Grid.active, Grid.level.in_(AREA_LEVELS)).order_by(Grid.code))
    )
    tops = [g for g in grids if g.level == GridLevel.GRID]
    ordered: list[Grid] = []
    for top in tops:
        ordered.append(top)
        ordered += [g for g in grids if g.parent_code == top.code]
    return ordered + [g for g in grids if g not in ordered]


def area(session: Session, code: str) -> Grid | None:
    found = session.get(Grid, code)
    return found if found is not None and found.active and found.level in AREA_LEVELS else None


def subscribe(session: Session, person: Person, grid: Grid, now: datetime) -> bool:
    """True when the subscription is new; subscribing twice keeps one row."""
    if session.get(Subscription, (person.id, grid.code)) is not None:
        return False
    session.add(Subscription(person_id=person.id, grid_code=grid.code, created_at=now))
    session.flush()
    return True


def unsubscribe(session: Session, person: Person, grid_code: str) -> bool:
    result = session.execute(
        delete(Subscription).where(Subscription.person_id == person.id, Subscription.grid_code == grid_code)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def subscriptions_of(session: Session, person: Person) -> list[Grid]:
    return list(
        session.scalars(
            select(Grid)
            .join(Subscription, Subscription.grid_code == Grid.code)
            .where(Subscription.person_id == person.id)
            .order_by(Grid.code)
        )
    )
