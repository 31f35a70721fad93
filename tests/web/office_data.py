"""Data the office and Open311 tests share: roster people, a tourist, reports filed as the chat files them."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select

from community.database import Database
from community.people.models import Person, PersonRole, Role
from community.tickets.filing import file_report
from community.tickets.models import Ticket

T = TypeVar("T")
# Points inside micro-grids of two different grids (the old street's red grid, the riverside).
RED_POINT = (32.2100, 119.4300)
RIVER_POINT = (32.2130, 119.4300)


def roster(database: Database, key: str) -> int:
    with database.session() as session:
        person_id = session.scalar(select(Person.id).where(Person.external_key == f"roster:{key}"))
        assert person_id is not None, key
        return person_id


def tourist(database: Database, telegram_id: int, name: str = "Visitor") -> int:
    with database.session() as session:
        person = Person(
            external_key=f"telegram:{telegram_id}",
            telegram_id=telegram_id,
            chat_id=str(telegram_id),
            display_name=name,
            preferred_language="en",
            roles=[PersonRole(role=Role.TOURIST)],
        )
        session.add(person)
        session.flush()
        return person.id


@dataclass
class Filed:
    ref: str
    grid_code: str | None
    micro_grid_code: str | None


def file_chat_report(
    database: Database,
    reporter_id: int,
    category: str,
    point: tuple[float, float],
    now: datetime,
    *,
    description: str = "",
    contact: str | None = None,
) -> Filed:
    """A report as the chat files it (channel telegram), routed at once."""
    with database.session() as session:
        reporter = session.get(Person, reporter_id)
        assert reporter is not None
        ticket: Ticket = file_report(
            session,
            reporter=reporter,
            category_code=category,
            lat=point[0],
            lon=point[1],
            description=description,
            description_language="en",
            contact=contact,
            now=now,
        ).ticket
        return Filed(ticket.ref, ticket.grid_code, ticket.micro_grid_code)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs `coroutine` on an event loop of its own in another thread.

    Playwright's sync API (the session's browser in tests/web/conftest.py) keeps an event loop running in
    the main thread, and pytest-asyncio cannot start its own there once a browser test has run.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
