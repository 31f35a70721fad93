"""Shared fixtures: a fresh database on SQLite and on PostgreSQL for every test that asks for `db`.

PostgreSQL is the server at XIJIN_TEST_POSTGRES (default 127.0.0.1:5432, user postgres, trust auth). Each test
session creates its own database there, so parallel runs never see each other's rows. If the server cannot be
reached the tests that need it fail loudly in CI (CI=true) and are skipped with a loud reason elsewhere.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _pytest.nodeid import NodeId
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


def empty_all_tables(database: Database) -> None:
    """Every table of the PostgreSQL schema emptied and every id sequence restarted.

    DELETE, not TRUNCATE: TRUNCATE gives each of the ~50 tables new files (0.25 s in all, per test, over a
    thousand tests); DELETE of a test's few rows takes 0.04 s. Children first, so no foreign key objects."""
    with database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        sequences = conn.execute(text("SELECT schemaname, sequencename FROM pg_sequences")).all()
        for schema, name in sequences:
            conn.execute(text(f'ALTER SEQUENCE "{schema}"."{name}" RESTART'))


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
        empty_all_tables(database)  # before, not after: the next test empties it anyway
        yield database


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


# --- Parallel runs (pytest-xdist, `--dist loadgroup`; scripts/test.sh) -------------------------------------
# An expensive fixture runs once per process that needs it: every test that shares the Rasa stack (or another
# session fixture per database) or a module's fixture is sent to the same worker, as one group, so each stack
# starts once in the whole run, not once per worker. The stack comes first: a test that uses it and the web
# site goes with the stack. A session fixture without parameters that costs minutes is named here too.
_GROUP_FIRST = ("stack",)
_ONCE = ("model_checks",)


def _xdist_group(item: pytest.Item) -> str | None:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    shared = []
    module_scoped = False
    for name in item.fixturenames:  # type: ignore[attr-defined]
        definitions = info.name2fixturedefs.get(name)
        if not definitions:
            continue
        scope = definitions[-1].scope
        if scope == "session" and name in params:
            shared.append(name)
        elif scope == "session" and name in _ONCE:
            return name
        elif scope == "module":
            module_scoped = True
    if shared:
        name = min(shared, key=lambda n: (n not in _GROUP_FIRST, n))
        return f"{name}-{params[name]}"
    if module_scoped:
        return item.nodeid.split("::", 1)[0]
    return None


# --- The model trained beside the tests (scripts/test.sh) -------------------------------------------------
# scripts/test.sh trains the model in the background while the tests that need none run; it writes the
# set-up's exit code to the file named by XIJIN_TEST_TRAINING when the training is over. The tests that need
# the model run last and wait for that file here.
TRAINING_STATUS = "XIJIN_TEST_TRAINING"
_NEEDS_MODEL = ("stack", "model_checks", "trained_model")


def wait_for_the_trained_model(timeout_seconds: float = 3600) -> None:
    """Returns when the model the test command trains is ready; fails (with the training's log) when its
    training failed. Returns at once when nothing trains beside the tests."""
    status = os.environ.get(TRAINING_STATUS)
    if not status:
        return
    path = Path(status)
    deadline = time.monotonic() + timeout_seconds
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the model's training did not end within {timeout_seconds:.0f} s", pytrace=False)
        time.sleep(2)
    code = path.read_text().strip()
    if code != "0":
        log = path.with_suffix(".log")
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
        pytest.fail(f"the model's training failed (exit {code}), {log}:\n{tail}", pytrace=False)


@pytest.fixture(scope="session")
def trained_model() -> None:
    """For a test that reads nlu/models/xijin.tar.gz itself."""
    wait_for_the_trained_model()


def _needs_model(item: pytest.Item) -> bool:
    return any(name in _NEEDS_MODEL for name in getattr(item, "fixturenames", ()))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): tests run by one worker of a parallel run")


def pytest_itemcollected(item: pytest.Item) -> None:
    group = _xdist_group(item)
    if group is not None:
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that need the trained model last, when it trains beside them (scripts/test.sh).

    pytest 9.2 reads an item's node id from `_id`; pytest-xdist 3.8 writes the group suffix into `_nodeid`,
    which 9.2 ignores, so without this every test would be scheduled on its own (pytest-xdist #1386)."""
    if os.environ.get(TRAINING_STATUS):
        items.sort(key=_needs_model)  # stable: the tests that wait for the training last, in pytest's order
    if not (hasattr(config, "workerinput") and getattr(config.option, "loadgroup", False)):
        return
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is not None and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{marker.args[0]}")  # type: ignore[attr-defined]
