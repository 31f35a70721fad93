"""The web front end as a person meets it: `create_app` served by uvicorn on a free port, over a migrated
database with the knowledge base loaded (SQLite, then PostgreSQL), and Debian's Chromium driven by Playwright.

Fixtures for every web test:

- `web_site` (session, parametrised sqlite/postgresql): a `WebSite` with `.url` (the base URL, no trailing
  slash), `.settings`, `.database`, `.app`, `.backend`. Every test using it runs on SQLite, then on
  PostgreSQL. `serve_web_site(backend, folder, **settings)` serves one with other settings (see there).
- `client` : an httpx.Client with `base_url=web_site.url` (no browser: status codes, JSON, headers).
- `browser`: Chromium from /usr/bin/chromium (`CHROMIUM` env to point elsewhere), headless, per test
  (Playwright's sync API; write browser tests as plain `def` tests, not `async def`).
- `page`: a new page in a fresh context (phone-sized, English); `open_page(**context_options)` for others,
  e.g. `open_page(locale="ja-JP")` or `open_page(geolocation={...}, permissions=["geolocation"])`.
  After the test every page opened is saved as var/screenshots/<test>[-n].png for a person to look at;
  `screenshot(page, "name")` saves one in the middle of a test.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from community.database import Database
from community.grids.models import Grid
from community.knowledge.loader import load
from community.migrate import upgrade
from community.servicemap.models import ServicePoint
from community.settings import PROJECT_ROOT, Settings
from tests.conftest import own_postgres_database
from web.app import create_app

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
VENDOR = PROJECT_ROOT / "web" / "static" / "vendor"
TEST_BOT_USERNAME = "XijinTestBot"
PHONE = {"width": 412, "height": 915}
HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WebSite:
    url: str
    settings: Settings
    database: Database
    app: FastAPI
    backend: str


class _ServerThread:
    """uvicorn serving `app` in a thread of this process: the tests and the pages share the database."""

    def __init__(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{port}", daemon=True)

    def __enter__(self) -> _ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serve_web_site(backend: str, folder: Path, **overrides: Any) -> Iterator[WebSite]:
    """`create_app` served on a free port over a new database on `backend` ("sqlite" or "postgresql"),
    migrated and with the knowledge base loaded; `overrides` are settings (e.g. `rasa_url=...`).

    For a site with other settings, make a session fixture of your own:

        @pytest.fixture(scope="session", params=["sqlite", "postgresql"])
        def chat_site(request, tmp_path_factory):
            with serve_web_site(request.param, tmp_path_factory.mktemp("chat"), rasa_url=...) as site:
                yield site
    """
    if not (VENDOR / "leaflet" / "leaflet.js").exists():
        pytest.fail(
            "web/static/vendor is missing: scripts/setup.sh installs it (npm ci + scripts/vendor_static.sh)",
            pytrace=False,
        )
    with contextlib.ExitStack() as cleanup:
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'xijin.db'}"
        else:
            url = cleanup.enter_context(own_postgres_database())
        upgrade(url)
        database = Database(url)
        cleanup.callback(database.dispose)
        load(database, PROJECT_ROOT / "knowledge")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        values: dict[str, Any] = {
            "database_url": url,
            "web_host": "127.0.0.1",
            "web_port": port,
            "web_public_url": base,
            "telegram_bot_username": TEST_BOT_USERNAME,
            "map_tile_url": "",
            "translation_backend": "null",
        }
        values.update(overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        app = create_app(settings, database)
        cleanup.enter_context(_ServerThread(app, port))
        yield WebSite(base, settings, database, app, backend)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def web_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSite]:
    """The site with the default test settings, on SQLite, then on PostgreSQL."""
    with serve_web_site(request.param, tmp_path_factory.mktemp(f"web-{request.param}")) as site:
        yield site


@pytest.fixture
def client(web_site: WebSite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web_site.url, timeout=20, follow_redirects=False) as http:
        yield http


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("no Chromium: scripts/test.sh installs Debian's chromium package", pytrace=False)
    return path


@pytest.fixture
def browser() -> Iterator[Any]:
    # Per test, not per session: Playwright's sync API marks an asyncio loop as running in this thread while
    # it is started, and every async test (pytest-asyncio) after it would fail with "cannot be called from
    # a running event loop". Starting Chromium takes about a second.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's Chromium, not Playwright's download (whose host is not reachable from every machine).
        chromium = playwright.chromium.launch(executable_path=_chromium(), headless=True)
        yield chromium
        chromium.close()


def _file_name(nodeid: str) -> str:
    test = nodeid.split("::", 1)[-1].split("@", 1)[0]  # without a parallel run's group suffix
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", test).strip("_")[:150]


@pytest.fixture
def open_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []
    pages: list[Any] = []

    def opener(**context_options: Any) -> Any:
        options: dict[str, Any] = {"viewport": PHONE, "locale": "en-US", "device_scale_factor": 1}
        options.update(context_options)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield opener
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = _file_name(request.node.nodeid)
    for index, page in enumerate(pages):
        suffix = f"-{index + 1}" if len(pages) > 1 else ""
        with contextlib.suppress(Exception):  # a page the test closed has nothing to show
            page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Any]) -> Any:
    return open_page()


def screenshot(page: Any, name: str) -> Path:
    """Saves what `page` shows now as var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def hostile_point(web_site: WebSite) -> Iterator[str]:
    """A service point whose names try to inject markup (a bad edit of the knowledge base, or a rogue one)."""
    with web_site.database.session() as session:
        grid = session.get(Grid, "red_2")
        assert grid is not None
        session.add(
            ServicePoint(
                code="sp_hostile",
                type="toilet",
                names={lang: HOSTILE for lang in ("zh-Hans", "zh-Hant", "en", "ja", "ko")},
                address={"en": HOSTILE},
                # Where no other point is within 90 m: nothing covers its marker when a test clicks it.
                lat=32.2080,
                lon=119.4260,
                opening_hours="24h",
                services=["toilet", HOSTILE],
                languages=["en"],
            )
        )
    yield "sp_hostile"
    with web_site.database.session() as session:
        point = session.get(ServicePoint, "sp_hostile")
        if point is not None:
            session.delete(point)
