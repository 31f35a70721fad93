"""Delivery under faults, with real parts: Telegram answering 429, 5xx and 403 to the real Application; a real
bot process killed between Telegram's answer and the outbox mark; a private PostgreSQL server restarted under
the relay and the filing. Each asserts: nothing lost, nothing received twice, recovery without a hand.

No Rasa here: the outbox needs none (the bot processes run with RASA_URL pointing at a closed port).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from telegram import Bot
from telegram.ext import Application

from bot.telegram.jobs import Relay
from community.database import Database, utcnow
from community.migrate import upgrade
from community.outbox import enqueue, pending_count
from community.outbox.journal import DeliveryJournal
from community.outbox.models import OutboxMessage, OutboxStatus
from community.people.models import Person
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT
from community.tickets.models import Ticket
from community.tickets.service import file_report
from tests.fakes.bot_api_server import FakeBotApi, SentCall
from tests.integration.conftest import application_without_rasa, free_port
from tests.integration.telegram_fake import Call, FakeTelegram

pytestmark = pytest.mark.faults

XIJIN = PROJECT_ROOT / ".venv" / "bin" / "xijin"


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """A wait with a deadline (not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def add_person(db: Database, chat: int) -> Person:
    with db.session() as s:
        person = get_or_create_person(s, f"telegram:{chat}", telegram_id=chat, chat_id=str(chat))
        s.flush()
        return person


def notify(db: Database, person: Person, texts: list[str]) -> list[str]:
    with db.session() as s:
        return [enqueue(s, person, "test", {"text": text}).id for text in texts]


def statuses(db: Database) -> dict[str, str]:
    with db.session() as s:
        return {m.id: m.status for m in s.scalars(select(OutboxMessage))}


# --- Telegram answering 429, 5xx and 403, through the real Application with its rate limiter ---------------


@pytest.fixture
async def application(db: Database) -> AsyncIterator[Application]:
    async with application_without_rasa(db, rate_limiter=True) as app:
        yield app


async def test_telegram_answering_429_5xx_and_403_loses_nothing_and_sends_nothing_twice(
    db: Database, application: Application, tmp_path: Path
) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]
    flooded, failing, blocked, calm = 71001, 71002, 71003, 71004
    people = {chat: add_person(db, chat) for chat in (flooded, failing, blocked, calm)}
    expected: dict[int, list[str]] = {chat: [] for chat in people}
    for i in range(3):  # interleaved: the flooded chat's message comes first in every round
        for chat, person in people.items():
            expected[chat].append(f"to {chat}: message {i}")
            notify(db, person, [expected[chat][-1]])
    telegram.flooded[flooded] = 30  # Telegram: "retry after 30 s", to every request for that chat
    telegram.errors[failing] = [502, 500]
    telegram.blocked.add(blocked)
    clock = {"now": utcnow()}
    relay = Relay(db, journal=DeliveryJournal(tmp_path, "relay"), clock=lambda: clock["now"])

    # One pass, bounded. Before, the rate limiter held the whole bot for the flooded chat's 30 s, twice.
    counts = await asyncio.wait_for(relay.run_once(application.bot), timeout=20)
    assert telegram.texts_to(calm) == expected[calm]  # the other chats went out in the same pass
    assert telegram.to(flooded) == [] and [c.chat_id for c in telegram.refused].count(flooded) == 1
    assert counts["blocked"] == 1

    # Telegram takes the flooded chat after its 30 s and stops failing; the relay needs no hand.
    del telegram.flooded[flooded]
    for _ in range(10):
        clock["now"] += timedelta(seconds=31)
        await asyncio.wait_for(relay.run_once(application.bot), timeout=20)
        with db.session() as s:
            if pending_count(s) == 0:
                break
    for chat in (flooded, failing, calm):
        assert sorted(telegram.texts_to(chat)) == sorted(expected[chat]), chat  # each once
    assert telegram.texts_to(flooded) == expected[flooded]  # and the held chat's in order

    # The blocked user: every message to them dead at the first 403, never tried again.
    clock["now"] += timedelta(days=1)
    await relay.run_once(application.bot)
    assert [c.chat_id for c in telegram.refused].count(blocked) == 1
    with db.session() as s:
        dead = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == people[blocked].id)).all()
        assert {(m.status, m.last_error) for m in dead} == {(OutboxStatus.DEAD, "recipient blocked the bot")}
        assert len(dead) == 3 and s.get(Person, people[blocked].id).blocked_bot  # type: ignore[union-attr]


# --- a bot process killed between Telegram's answer and the outbox mark ------------------------------------


class OutboxHold:
    """Holds the outbox row (SQLite: the database's write lock; PostgreSQL: the row lock) from the test's
    side, so that the bot, once Telegram answered, is stuck before its mark: the window is open for sure."""

    def __init__(self, url: str, message_id: str) -> None:
        self.url, self.message_id = url, message_id
        self._conn: Any = None

    def take(self) -> None:
        if self.url.startswith("sqlite:///"):
            self._conn = sqlite3.connect(
                self.url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            self._conn.execute("BEGIN IMMEDIATE")
        else:
            self._conn = psycopg.connect(self.url)
            self._conn.execute("SELECT id FROM outbox WHERE id = %s FOR UPDATE", (self.message_id,))

    def release(self) -> None:
        if self._conn is not None:
            self._conn.rollback() if not self.url.startswith("sqlite") else self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None


class BotProcess:
    """`xijin bot` in a process of its own, polling the fake Bot API."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "bot.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(XIJIN), "bot"], env=self.env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def bot_environment(database_url: str, api: FakeBotApi, journal: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {
        **keep,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
        "TELEGRAM_API_BASE_URL": api.base_url,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nobody there: relaying needs no Rasa
        "XIJIN_CHANNEL_SECRET": "fault-test-secret",
        "TRANSLATION_BACKEND": "null",
        "OUTBOX_INTERVAL_SECONDS": "0.3",
        "OUTBOX_JOURNAL_DIR": str(journal),
    }


def journaled_as_delivered(journal: Path, message_id: str) -> bool:
    return any(
        message_id in line and '"done":true' in line
        for path in journal.glob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    )


@pytest.fixture
def bot_database(db: Database) -> Database:
    """The `db` schema, plus what `xijin bot` reads at start (the knowledge for its map picture)."""
    from community.knowledge.loader import load

    load(db, PROJECT_ROOT / "knowledge")
    return db


def test_a_bot_killed_between_telegrams_answer_and_the_mark_sends_nothing_twice(
    bot_database: Database, tmp_path: Path
) -> None:
    db = bot_database
    volunteer = add_person(db, 81001)
    texts = ["task one", "task two", "task three"]
    ids = notify(db, volunteer, texts)
    hold = OutboxHold(db.url, ids[1])
    held = threading.Event()

    def at_telegrams_answer(call: SentCall) -> None:
        if call.method == "sendMessage" and call.text == "task two" and not held.is_set():
            hold.take()  # before the answer leaves: the bot cannot mark what Telegram is about to confirm
            held.set()

    journal = tmp_path / "journal"
    with FakeBotApi(before_answer=at_telegrams_answer) as api:
        bot = BotProcess(bot_environment(db.url, api, journal), tmp_path)
        try:
            bot.start()
            wait_until(held.is_set, 90, "the bot sending the second task")
            wait_until(lambda: journaled_as_delivered(journal, ids[1]), 30, "the delivery journaled")
            bot.kill()  # kill -9: Telegram has the task, the outbox does not know
            hold.release()
            assert statuses(db)[ids[1]] == OutboxStatus.PENDING  # the window was really open

            bot.start()  # the supervisor's restart
            wait_until(lambda: set(statuses(db).values()) == {OutboxStatus.SENT}, 90, "every task sent")
        finally:
            hold.release()
            bot.stop()
        received = api.texts_to(81001)
    assert sorted(received) == sorted(texts), (bot.log.read_text()[-3000:], received)
    # The dead bot's journal was settled and removed at the restart; the live one's holds nothing unsettled.
    assert len(list(journal.glob("*.jsonl"))) == 1
    assert not any(journaled_as_delivered(journal, i) for i in ids)


# --- PostgreSQL restarted under the relay and the filing ---------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """A PostgreSQL server of this test's own (initdb in a temporary folder, a free port, run as the
    `postgres` user): the machine's server is never touched."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="xijin-pg-", dir="/tmp"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/xijin"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            timeout=60,
            cwd=self.folder,
        )

    def create(self) -> None:
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )
        self.start()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE xijin")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options, "-w",
            "start",
        )  # fmt: skip

    def crash(self) -> None:
        """Every server process ends at once, as in a crash: the next start runs crash recovery."""
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists():
        message = f"a private PostgreSQL needs root and {PG_BIN}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = PrivatePostgres()
    try:
        server.create()
        yield server
    finally:
        server.destroy()


def file_once(db: Database, reporter_chat: int, key: str, description: str) -> int:
    """A report as the bot files it: once per Telegram update (`source_key`), so a retry is harmless."""
    with db.session() as s:
        reporter = get_or_create_person(
            s, f"telegram:{reporter_chat}", telegram_id=reporter_chat, chat_id=str(reporter_chat)
        )
        result = file_report(
            s,
            reporter=reporter,
            category_code="lighting",
            landmark_code=LANDMARK,
            description=description,
            source_key=key,
            now=utcnow(),
        )
        return result.ticket.id


LANDMARK = "yuntai_pavilion"


async def test_postgresql_restarted_under_the_relay_and_the_filing_loses_nothing(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    from community.knowledge.loader import load

    upgrade(private_postgres.url)
    db = Database(private_postgres.url)
    load(db, PROJECT_ROOT / "knowledge")
    first = file_once(db, 91001, "telegram:update:1", "云台阁的路灯不亮")
    telegram = FakeTelegram()
    crashed = threading.Event()

    def crash_on_the_first_delivery(call: Call) -> None:
        # Telegram took the first notification; the database dies before the relay can mark it.
        if call.method.startswith("send") and not crashed.is_set():
            crashed.set()
            private_postgres.crash()

    telegram.on_accept = crash_on_the_first_delivery
    bot = Bot("123456:TEST-TOKEN", request=telegram)
    await bot.initialize()
    relay = Relay(db, journal=DeliveryJournal(tmp_path, "relay"))

    async def relay_pass() -> bool:
        """One tick of the bot's relay job: an error is logged by the JobQueue, the next tick tries again."""
        try:
            await relay.run_once(bot)
            return True
        except Exception:
            return False

    await relay_pass()
    assert crashed.is_set()
    assert not await relay_pass()  # the database is down: the relay waits, it does not crash
    with pytest.raises(OperationalError):
        file_once(db, 91002, "telegram:update:2", "云台阁旁边的灯也坏了")  # the reporter is told to retry

    private_postgres.start()  # the database comes back; nothing of the assistant is restarted
    second = file_once(db, 91002, "telegram:update:2", "云台阁旁边的灯也坏了")  # the retry
    assert file_once(db, 91002, "telegram:update:2", "云台阁旁边的灯也坏了") == second  # a webhook repeat
    for _ in range(20):
        assert await relay_pass()
        with db.session() as s:
            if pending_count(s) == 0:
                break

    with db.session() as s:
        tickets = s.scalars(select(Ticket.id).order_by(Ticket.id)).all()
        notifications = s.execute(
            select(OutboxMessage.status, OutboxMessage.payload, Person.telegram_id).join(
                Person, Person.id == OutboxMessage.recipient_id
            )
        ).all()
    assert tickets == [first, second]  # none lost, none twice
    assert {status for status, _, _ in notifications} == {OutboxStatus.SENT}
    expected = sorted((chat, payload["text"]) for _, payload, chat in notifications)
    received = sorted((c.chat_id, c.text) for c in telegram.calls if c.method == "sendMessage")
    assert received == expected  # every notification once, the one Telegram took at the crash included
    db.dispose()
