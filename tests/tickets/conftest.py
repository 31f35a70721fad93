"""Fixtures of the ticket tests: the synthetic world on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from community.database import Database
from tests.conftest import empty_all_tables
from tests.tickets.world import World, build_world


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)


@pytest.fixture
def sqlite_world(sqlite_db: Database) -> World:
    return build_world(sqlite_db)


@pytest.fixture
def pg(postgres_database: Database) -> Iterator[Database]:
    """PostgreSQL only, emptied before."""
    empty_all_tables(postgres_database)
    yield postgres_database


@pytest.fixture
def pg_world(pg: Database) -> World:
    return build_world(pg)
