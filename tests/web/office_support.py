"""What the office and Open311 tests share: a database with the knowledge base loaded (the `db` fixture's
SQLite and PostgreSQL) and the web app on it with a TestClient. Test modules load it with
`pytest_plugins = ["tests.web.office_support"]`; tests/web/conftest.py serves the live site for browsers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from community.database import Database
from community.knowledge.loader import load
from community.language.service import set_translator
from community.language.translate import NullTranslator
from community.settings import PROJECT_ROOT, Settings
from web.app import create_app

PUBLIC_URL = "http://testserver"


@pytest.fixture
def loaded(db: Database) -> Iterator[Database]:
    load(db, PROJECT_ROOT / "knowledge")
    set_translator(NullTranslator())  # no Google from tests
    yield db
    set_translator(None)


@pytest.fixture
def settings(loaded: Database) -> Settings:
    return Settings(
        database_url=loaded.url,
        translation_backend="null",
        web_public_url=PUBLIC_URL,
        xijin_channel_secret="test-secret-for-the-web",
    )


@pytest.fixture
def api(loaded: Database, settings: Settings) -> Iterator[TestClient]:
    """The app in process (no server): requests and answers, status codes and bodies."""
    with TestClient(create_app(settings, loaded), base_url=PUBLIC_URL) as test_client:
        yield test_client
