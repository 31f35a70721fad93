"""The real stack for integration tests: a migrated database with the knowledge base loaded (SQLite, then
PostgreSQL), the real Rasa server and action server (started once per test session and database, under
supervisord, as `xijin run` starts them), and the real telegram.ext.Application with Telegram faked at the
request layer."""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import Application

from bot.pipeline import Assistant
from bot.rasa_client import RasaClient
from bot.services import MODEL, Services
from bot.telegram.app import build_application
from community.database import Database
from community.knowledge.loader import load
from community.language.service import set_translator
from community.language.translate import NullTranslator
from community.migrate import upgrade
from community.settings import PROJECT_ROOT, Settings
from tests.conftest import own_postgres_database, wait_for_the_trained_model
from tests.integration.telegram_fake import FakeTelegram


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def application_without_rasa(database: Database, *, rate_limiter: bool) -> AsyncIterator[Application]:
    """The real Application with Telegram faked (`app.bot_data["telegram"]`) and Rasa nowhere: for what works
    without understanding — staff commands, the outbox relay."""
    telegram = FakeTelegram()
    nowhere = RasaClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=1)
    settings = Settings(
        database_url=database.url, telegram_bot_token="123456:TEST-TOKEN", telegram_rate_limiter=rate_limiter
    )
    app = build_application(
        settings, Assistant(database, nowhere), request=telegram, updates_request=telegram, run_jobs=False
    )
    app.bot_data["telegram"] = telegram
    await app.initialize()
    try:
        yield app
    finally:
        await app.shutdown()
        await nowhere.aclose()


@dataclass
class Stack:
    settings: Settings
    database: Database
    services: Services

    @property
    def rasa_url(self) -> str:
        return self.services.rasa_url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack on each database in turn. Session-scoped and parametrized, so pytest runs every test that
    uses it on SQLite, stops the servers, then runs them all again on PostgreSQL; the action server uses the
    same database as the tests."""
    wait_for_the_trained_model()
    if not MODEL.exists():
        pytest.fail(
            f"no trained model at {MODEL}: the test command trains it (scripts/test.sh)", pytrace=False
        )
    with contextlib.ExitStack() as cleanup:
        yield from _stack(request.param, tmp_path_factory.mktemp(f"stack-{request.param}"), cleanup)


def _stack(backend: str, folder: Path, cleanup: contextlib.ExitStack) -> Iterator[Stack]:
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'xijin.db'}"
    else:
        url = cleanup.enter_context(own_postgres_database())  # dropped last, after the servers stop
    # The one secret of the bot, Rasa's channel and the action server, exported as `xijin run` exports it:
    # the servers inherit this environment, and every RasaClient of the tests signs with it.
    secret = secrets.token_urlsafe(32)
    upgrade(url)
    database = Database(url)
    cleanup.callback(database.dispose)
    load(database, PROJECT_ROOT / "knowledge")
    settings = Settings(
        database_url=url,
        action_server_port=free_port(),
        web_port=free_port(),  # the supervised web front end: a port of this session's own
        translation_backend="null",
        telegram_bot_token="123456:TEST-TOKEN",
        telegram_rate_limiter=False,
        xijin_channel_secret=secret,
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("XIJIN_CHANNEL_SECRET", secret)
        services = Services(settings, log_path=folder / "services.log", rasa_port=free_port())
        services.start()
        try:
            yield Stack(settings, database, services)
        finally:
            services.stop()


@pytest.fixture
def map_png(stack: Stack, tmp_path: Path) -> Path:
    from community.servicemap.export import render_map_png

    with stack.database.session() as session:
        return render_map_png(session, tmp_path / "map.png")


@pytest.fixture
def assistant(stack: Stack, map_png: Path) -> Iterator[Assistant]:
    set_translator(NullTranslator())  # no Google here: languages without curated texts answer in English
    yield Assistant(stack.database, RasaClient(stack.rasa_url, timeout_seconds=20), map_path=map_png)
    set_translator(None)


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
async def application(
    stack: Stack, assistant: Assistant, telegram: FakeTelegram
) -> AsyncIterator[Application]:
    app = build_application(
        stack.settings, assistant, request=telegram, updates_request=telegram, run_jobs=False
    )
    await app.initialize()
    yield app
    await app.shutdown()
    await assistant.rasa.aclose()


async def feed(app: Application, data: dict) -> None:  # type: ignore[type-arg]
    """One update through the real Application, as polling or the webhook would deliver it."""
    await app.process_update(Update.de_json(data, app.bot))
