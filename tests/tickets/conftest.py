"""Fixtures of the ticket tests: the synthetic world on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from community.database import Database
from community.models import Base
from tests.tickets.world import World, build_world


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)


@pytest.fixture
def sqlite_world(sqlite_db: Database) -> World:
    return build_world(sqlite_db)


def _truncate(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg(postgres_database: Database) -> Iterator[Database]:
    """PostgreSQL only, emptied before and after."""
    _truncate(postgres_database)
    yield postgres_database
    _truncate(postgres_database)


@pytest.fixture
def pg_world(pg: Database) -> World:
    return build_world(pg)
