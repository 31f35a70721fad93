"""`xijin open311 key add|list|revoke` (SQLite and PostgreSQL): the key is printed once, only its hash is
stored, it files requests until it is revoked."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from community.cli import main
from community.database import Database
from community.office.models import Open311Client
from community.settings import get_settings
from tests.web.office_data import RED_POINT

pytest_plugins = ["tests.web.office_support"]  # loaded, settings, api


@pytest.fixture
def cli_database(loaded: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The CLI's settings point at the test database (they are read again)."""
    monkeypatch.setenv("DATABASE_URL", loaded.url)
    get_settings.cache_clear()
    yield loaded
    get_settings.cache_clear()


def test_a_key_is_made_listed_used_and_revoked(
    cli_database: Database, api: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["open311", "key", "add", "Zhenjiang 12345 hotline"]) == 0
    made = re.search(r"client (\d+) \(Zhenjiang 12345 hotline\): key (x311_\S+)", capsys.readouterr().out)
    assert made is not None
    client_id, key = made.group(1), made.group(2)
    with cli_database.session() as session:
        stored = session.scalar(select(Open311Client))
        assert stored is not None and key not in (stored.key_hash, stored.key_prefix)

    assert main(["open311", "key", "list"]) == 0
    listing = capsys.readouterr().out
    assert key[:12] in listing and "active" in listing and key not in listing

    form = {"api_key": key, "service_code": "noise", "lat": str(RED_POINT[0]), "long": str(RED_POINT[1])}
    assert api.post("/open311/v2/requests.json", data=form).status_code == 201
    assert main(["open311", "key", "revoke", client_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert api.post("/open311/v2/requests.json", data=form).status_code == 403
    assert main(["open311", "key", "revoke", "999"]) == 1
    assert main(["open311", "key", "add", " "]) == 1
