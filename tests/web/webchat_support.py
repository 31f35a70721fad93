"""What the web chat and status tests share: the app in-process over the `db` fixture (SQLite, then
PostgreSQL), with the ticket tests' synthetic world, and a browser as a cookie jar.

Rasa is a closed port here: the pipeline answers with its degraded menu and its native payloads (a report for
the desk, the person's tickets), which is all these tests need. The Rasa-backed chat is tested in
tests/integration/test_webchat_rasa.py.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from community.database import Database
from community.language.service import DatabaseTranslationCache, set_translator
from community.language.translate import build_translator
from community.settings import Settings, get_settings
from tests.tickets.world import World, build_world
from web.app import create_app

BASE = "http://testserver"
SECRET = "webchat-test-secret"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def closed_port() -> int:
    """A port nothing listens on: Rasa refuses at once, and the pipeline answers degraded."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chat_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "rasa_url": f"http://127.0.0.1:{closed_port()}",
        "rasa_timeout_seconds": 2.0,
        "xijin_channel_secret": SECRET,
        "translation_backend": "null",
        "web_public_url": BASE,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class ChatSite:
    app: FastAPI
    database: Database
    world: World


class Browser:
    """One browser: its own cookie jar, the CSRF token its chat page carried."""

    def __init__(self, app: FastAPI, language: str = "en") -> None:
        self.http = TestClient(app, base_url=BASE, headers={"Accept-Language": language})
        self.csrf = ""

    def open_chat(self) -> str:
        page = self.http.get("/chat")
        assert page.status_code == 200
        found = _CSRF_META.search(page.text)
        assert found is not None
        self.csrf = found.group(1)
        return page.text

    def post(self, path: str, body: dict[str, Any], **headers: str) -> Any:
        body = {"message_id": uuid.uuid4().hex, **body}
        return self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf, **headers})

    def say(self, text: str) -> Any:
        return self.post("/chat/api/message", {"text": text})

    def press(self, payload: str) -> Any:
        return self.post("/chat/api/message", {"payload": payload})

    def texts(self, answer: Any) -> str:
        assert answer.status_code == 200, answer.text
        return "\n".join(r.get("text", "") for r in answer.json()["replies"])


@pytest.fixture
def chat_site(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatSite]:
    world = build_world(db)
    # The pipeline and the actions read the process's settings (the status link's base) and translator.
    monkeypatch.setenv("WEB_PUBLIC_URL", BASE)
    get_settings.cache_clear()
    set_translator(build_translator("null", DatabaseTranslationCache(db)))
    app = create_app(chat_settings(db.url), db)
    try:
        yield ChatSite(app, db, world)
    finally:
        set_translator(None)
        get_settings.cache_clear()
