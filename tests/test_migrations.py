"""The Alembic migrations build exactly the schema of the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from community.database import make_engine
from community.migrate import downgrade, upgrade
from community.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    base = request.getfixturevalue("postgres_url")  # the session's own database; use a schema-free copy
    admin = create_engine(
        "postgresql+psycopg://" + base.removeprefix("postgresql://"), isolation_level="AUTOCOMMIT"
    )
    name = base.rsplit("/", 1)[1] + "_mig"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    admin = create_engine(
        "postgresql+psycopg://" + base.removeprefix("postgresql://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_match_the_models(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrations_downgrade_to_nothing(empty_url: str) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")
    engine = make_engine(empty_url)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
