"""Shared fixtures: a fresh database on SQLite and on PostgreSQL for every test that asks for `db`.

PostgreSQL is the server at XIJIN_TEST_POSTGRES (default 127.0.0.1:5432, user postgres, trust auth). Each test
session creates its own database there, so parallel runs never see each other's rows. If the server cannot be
reached the tests that need it fail loudly in CI (CI=true) and are skipped with a loud reason elsewhere.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from community.database import Database
from community.models import Base

POSTGRES_ADMIN_URL = os.environ.get("XIJIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _admin_engine():  # type: ignore[no-untyped-def]
    url = "postgresql+psycopg://" + POSTGRES_ADMIN_URL.removeprefix("postgresql://")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@contextmanager
def own_postgres_database() -> Iterator[str]:
    """The URL of a new database on the PostgreSQL server, dropped at the end; fails loudly in CI (skips
    elsewhere) when the server cannot be reached."""
    name = f"xijin_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = f"POSTGRESQL UNREACHABLE at {POSTGRES_ADMIN_URL}: {exc!s:.200}"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must test PostgreSQL", pytrace=False)
        warnings.warn(message, stacklevel=1)
        pytest.skip(message)
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test session's own on the PostgreSQL server, dropped at the end."""
    with own_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def _truncate_all(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """An empty schema on each backend in turn."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
        Base.metadata.create_all(database.engine)
        yield database
        database.dispose()
    else:
        database = request.getfixturevalue("postgres_database")
        _truncate_all(database)
        yield database
        _truncate_all(database)


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()
