"""Fixtures of the action tests: the knowledge base in the test database (both backends), the actions
pointed at it, no machine translation, a fixed clock for opening hours, and a dispatcher."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from rasa_sdk.executor import CollectingDispatcher

import actions
from community.database import Database
from community.knowledge.loader import load_into_database
from community.knowledge.schema import KnowledgeBase, load_knowledge
from community.language.service import set_translator
from community.language.translate import NullTranslator
from tests.actions.support import CHANNEL_SECRET, PROJECT_ROOT

# Monday 2 June 2025, 11:00 in Xijindu (03:00 UTC): every service point with daytime hours is open.
DAYTIME = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
# The same Monday at 02:30 in Xijindu: only the points open around the clock are.
NIGHT = datetime(2025, 6, 1, 18, 30, tzinfo=UTC)


def _action_modules() -> list[object]:
    return [
        importlib.import_module(f"actions.{info.name}")
        for info in pkgutil.iter_modules(actions.__path__)
        if not info.name.startswith("_")
    ]


@pytest.fixture(scope="session")
def knowledge_base() -> KnowledgeBase:
    """knowledge/ parsed and validated once; each test loads it into its own empty schema."""
    return load_knowledge(PROJECT_ROOT / "knowledge")


@pytest.fixture(autouse=True)
def null_translator() -> Iterator[None]:
    """No Google: languages without curated texts are answered in English with a note."""
    set_translator(NullTranslator())
    yield
    set_translator(None)


@pytest.fixture
def kb(db: Database, knowledge_base: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The test database (SQLite, then PostgreSQL) with knowledge/ loaded, used by every action.

    The actions call `actions.common.database()`; modules that imported the name have their own binding,
    so it is replaced in each of them (a new module importing it is covered without editing this list).
    """
    with db.session() as session:
        load_into_database(session, knowledge_base)
    for module in _action_modules():
        if hasattr(module, "database"):
            monkeypatch.setattr(module, "database", lambda: db)
    return db


@pytest.fixture(autouse=True)
def channel_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """The secret the actions check identities with: the one `make_metadata` signs with."""
    monkeypatch.setattr("actions.common.channel_secret", lambda: CHANNEL_SECRET)
    return CHANNEL_SECRET


@pytest.fixture(autouse=True)
def daytime(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Opening hours are checked at a fixed moment, so which points are open does not depend on the clock."""
    monkeypatch.setattr("actions.services.utcnow", lambda: DAYTIME)
    return DAYTIME


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def domain() -> dict:  # type: ignore[type-arg]
    from tests.actions.support import DOMAIN

    return DOMAIN
