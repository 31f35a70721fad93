"""What a chat is in the middle of survives a restart of the bot (a new Application and Assistant on the same
database, as a second bot process behind the same webhook would be), and an update is handled at least once.

Through the real telegram.ext.Application with Telegram faked at the request layer, on SQLite and PostgreSQL.
These flows do not cross Rasa (staff buttons, the report for the desk) or only need its replies, so Rasa is a
recording fake on httpx's transport here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from telegram import Update
from telegram.ext import CallbackContext

from bot import pipeline
from bot.pipeline import Assistant
from bot.rasa_client import RasaClient
from bot.telegram.app import build_application
from bot.telegram.jobs import prune_job
from community.conversations import service as conversations
from community.conversations.models import ConversationState
from community.database import Database, utcnow
from community.i18n import t
from community.knowledge.loader import load
from community.language import Detection, detect
from community.language.service import set_translator
from community.language.translate import NullTranslator
from community.people.models import Person
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT, Settings
from community.tickets.models import Ticket
from community.tickets.service import accept, file_report
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

DESK = next(
    p
    for p in yaml.safe_load((PROJECT_ROOT / "knowledge" / "roster.yml").read_text())["people"]
    if {"role": "desk", "grid": "xijin"} in p["roles"]
)
REPORTER = 630_000_001
LONG_PAYLOAD = '/find_service{"service_type": "toilet", "landmark": "west_entrance", "note": "a long one"}'


class FakeRasa:
    """Rasa's REST channel: records each message with its metadata and answers with buttons."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.received.append(body)
        buttons = [{"title": "Toilet", "payload": LONG_PAYLOAD}, {"title": "Map", "payload": "/map"}]
        return httpx.Response(200, json=[{"text": f"you said {body['message']}", "buttons": buttons}])


class Bot:
    """One bot process: an Application and an Assistant on the shared database. `stop` ends it the way a
    restart does: whatever it held in memory is gone."""

    def __init__(self, database: Database, telegram: FakeTelegram, rasa: FakeRasa) -> None:
        settings = Settings(
            database_url=database.url,
            translation_backend="null",
            telegram_bot_token="123456:TEST-TOKEN",
            telegram_rate_limiter=False,
        )
        client = RasaClient("http://rasa.test", transport=httpx.MockTransport(rasa.handler))
        self.assistant = Assistant(database, client)
        self.app = build_application(
            settings, self.assistant, request=telegram, updates_request=telegram, run_jobs=False
        )
        self.stopped = False

    async def start(self) -> Bot:
        await self.app.initialize()
        return self

    async def feed(self, data: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(data, self.app.bot))

    async def stop(self) -> None:
        self.stopped = True
        await self.app.shutdown()
        await self.assistant.rasa.aclose()


@pytest.fixture
async def world(db: Database) -> AsyncIterator[Database]:
    load(db, PROJECT_ROOT / "knowledge")
    set_translator(NullTranslator())
    yield db
    set_translator(None)


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
async def new_bot(
    world: Database, telegram: FakeTelegram, rasa: FakeRasa
) -> AsyncIterator[Callable[[], Any]]:
    started: list[Bot] = []

    async def start() -> Bot:
        bot = await Bot(world, telegram, rasa).start()
        started.append(bot)
        return bot

    yield start
    for bot in started:
        if not bot.stopped:
            await bot.stop()


def desk_tickets(database: Database, count: int) -> list[Ticket]:
    """Reports without a category (the desk triages them), accepted by the desk: theirs to resolve."""
    tickets = []
    with database.session() as session:
        reporter = get_or_create_person(session, f"telegram:{REPORTER}", telegram_id=REPORTER)
        desk = session.scalar(select(Person).where(Person.telegram_id == DESK["telegram_id"]))
        assert desk is not None
        for index in range(count):
            filed = file_report(
                session,
                reporter=reporter,
                category_code=None,
                lat=None,
                lon=None,
                description=f"问题 {index}: 请来看看",
                now=utcnow(),
            ).ticket
            assert filed.owner_id == desk.id, "an uncategorised report no longer goes to the desk"
            tickets.append(accept(session, filed.id, desk, filed.version, now=utcnow()))
    return tickets


def state_of(database: Database, ticket_id: int) -> str:
    with database.session() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found.state


def press_resolve(ticket: Ticket) -> dict[str, Any]:
    return callback_update(DESK["telegram_id"], f"tk:res:{ticket.id}:{ticket.version}", name=DESK["name"])


def note(text: str, **kwargs: Any) -> dict[str, Any]:
    return message_update(DESK["telegram_id"], text, name=DESK["name"], **kwargs)


def texts(telegram: FakeTelegram, chat: int) -> list[str]:
    return [c.text for c in telegram.to(chat, "sendMessage")]


def buttons(call: Call) -> list[str]:
    return [b["callback_data"] for b in call.buttons() if "callback_data" in b]


# --- Resolve, then a note ------------------------------------------------------------------------------


async def test_the_note_resolves_the_ticket_whose_resolve_was_pressed_last(
    new_bot: Callable[[], Any], world: Database, telegram: FakeTelegram
) -> None:
    first, second = desk_tickets(world, 2)
    bot = await new_bot()
    await bot.feed(press_resolve(first))
    await bot.feed(press_resolve(second))  # changed their mind: this one is done
    await bot.feed(note("已处理完毕"))
    assert (state_of(world, first.id), state_of(world, second.id)) == ("accepted", "resolved")
    ask = t("staff.ask_note", "zh-Hans")
    assert texts(telegram, DESK["telegram_id"]) == [ask, ask, t("staff.resolved", "zh-Hans", ref=second.ref)]


async def test_a_bot_restarted_between_resolve_and_the_note_resolves_the_right_ticket(
    new_bot: Callable[[], Any], world: Database, telegram: FakeTelegram
) -> None:
    [ticket] = desk_tickets(world, 1)
    before = await new_bot()
    await before.feed(press_resolve(ticket))
    await before.stop()

    after = await new_bot()
    await after.feed(note("路灯已修好"))
    assert texts(telegram, DESK["telegram_id"])[-1] == t("staff.resolved", "zh-Hans", ref=ticket.ref)
    assert state_of(world, ticket.id) == "resolved"
    # The note was the volunteer's last word on it: a later message is an ordinary one again.
    await after.feed(note("你好"))
    assert state_of(world, ticket.id) == "resolved"
    assert texts(telegram, DESK["telegram_id"])[-1] == "you said 你好"


async def test_cancel_ends_a_pending_resolve(
    new_bot: Callable[[], Any], world: Database, telegram: FakeTelegram
) -> None:
    [ticket] = desk_tickets(world, 1)
    bot = await new_bot()
    await bot.feed(press_resolve(ticket))
    await bot.feed(note("/cancel"))
    await bot.feed(note("好的"))
    assert state_of(world, ticket.id) == "accepted"
    assert texts(telegram, DESK["telegram_id"])[-1] == "you said 好的"


# --- a user's state across a restart ----------------------------------------------------------------------


async def test_a_shared_location_and_a_long_button_reach_a_second_bot_process(
    new_bot: Callable[[], Any], telegram: FakeTelegram, rasa: FakeRasa
) -> None:
    """Two bot processes behind one webhook, both running: the load balancer sends the next update of the
    chat to the other one."""
    tourist = REPORTER + 1
    first = await new_bot()
    await first.feed(message_update(tourist, location=(32.2101, 119.4302), language_code="en"))
    [asked] = telegram.to(tourist, "sendMessage")
    long_button = next(d for d in buttons(asked) if d.startswith("k:"))  # too long to ride inline

    second = await new_bot()
    await second.feed(message_update(tourist, "Where is the nearest toilet?", language_code="en"))
    assert rasa.received[-1]["metadata"]["location"] == {"latitude": 32.2101, "longitude": 119.4302}
    await second.feed(callback_update(tourist, long_button))
    assert rasa.received[-1]["message"] == LONG_PAYLOAD


async def test_a_report_for_the_desk_begun_before_a_restart_is_filed_after_it(
    new_bot: Callable[[], Any], world: Database, telegram: FakeTelegram
) -> None:
    resident = REPORTER + 2
    before = await new_bot()
    await before.feed(callback_update(resident, "r:/report_native"))
    assert texts(telegram, resident) == [t("report.ask_description", "zh-Hans")]
    await before.stop()

    after = await new_bot()
    await after.feed(message_update(resident, "楼道的灯坏了"))
    [filed] = reports_of(world, resident)
    assert filed.description == "楼道的灯坏了"
    # The confirmation, then the status page's link (web/status).
    assert texts(telegram, resident)[-1].startswith(t("human.filed", "zh-Hans", ref=filed.ref) + "\n")


def reports_of(database: Database, telegram_id: int) -> list[Ticket]:
    with database.session() as session:
        reporter = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        if reporter is None:
            return []
        return list(session.scalars(select(Ticket).where(Ticket.reporter_id == reporter.id)))


async def test_a_message_language_is_detected_once(
    new_bot: Callable[[], Any], telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    detected: list[str] = []

    def counting(text: str, previous: str | None = None) -> Detection:
        detected.append(text)
        return detect(text, previous=previous)

    monkeypatch.setattr(pipeline, "detect", counting)
    bot = await new_bot()
    tourist = REPORTER + 4
    await bot.feed(message_update(tourist, "Where can I charge my phone?", language_code="ko"))
    assert detected == ["Where can I charge my phone?"]
    assert texts(telegram, tourist) == ["you said Where can I charge my phone?"]


@pytest.mark.parametrize(
    ("text", "language"),
    [("¿A qué hora abre?", "es"), ("Faut-il réserver ?", "fr"), ("Kinderpreis", "de"), ("Tandas?", "ms")],
)
async def test_a_message_in_a_language_we_do_not_curate_sets_the_language_the_actions_answer_in(
    new_bot: Callable[[], Any], world: Database, rasa: FakeRasa, text: str, language: str
) -> None:
    # Telegram says Korean; the message says otherwise. The language goes to the actions with the message
    # (they answer in it, machine-translated) and stays the person's language.
    bot = await new_bot()
    tourist = REPORTER + 5
    await bot.feed(message_update(tourist, text, language_code="ko"))
    assert rasa.received[-1]["metadata"]["language"] == language
    with world.session() as session:
        person = session.scalar(select(Person).where(Person.telegram_id == tourist))
        assert person is not None and person.preferred_language == language


# --- at least once -------------------------------------------------------------------------------------


class FailingOnce(FakeTelegram):
    """Telegram whose next sendMessage to `chat` breaks the connection (the bot's handler then fails)."""

    fail_chat: int | None = None

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendMessage") and self.fail_chat is not None:
            request_data = args[0] if args else kwargs.get("request_data")
            if request_data is not None and int(request_data.parameters.get("chat_id", 0)) == self.fail_chat:
                self.fail_chat = None
                raise ConnectionResetError("connection reset by peer")
        return await super().do_request(url, method, *args, **kwargs)


@pytest.fixture
def failing_telegram() -> FailingOnce:
    return FailingOnce()


async def test_an_update_whose_handling_crashed_is_handled_when_redelivered_and_once_only_after(
    world: Database, failing_telegram: FailingOnce, rasa: FakeRasa
) -> None:
    resident = REPORTER + 3
    bot = await Bot(world, failing_telegram, rasa).start()
    try:
        await bot.feed(callback_update(resident, "r:/report_native"))
        report = message_update(resident, "河边的栏杆松了")
        # The ticket is filed, then the answer cannot be sent: the handling fails midway.
        failing_telegram.fail_chat = resident
        await bot.feed(report)
        [filed] = reports_of(world, resident)
        filed_text = t("human.filed", "zh-Hans", ref=filed.ref)  # then the status page's link
        assert not any(x.startswith(filed_text) for x in texts(failing_telegram, resident))

        # Telegram delivers it again: handled this time, and the same ticket is reported, not a second one.
        await bot.feed(report)
        assert texts(failing_telegram, resident)[-1].startswith(filed_text)
        assert f"/status/{filed.ref}?t=" in texts(failing_telegram, resident)[-1]
        assert [x.id for x in reports_of(world, resident)] == [filed.id]

        # Once handled to the end, a further delivery is dropped: no second answer, no second ticket.
        answered = len(failing_telegram.to(resident))
        await bot.feed(report)
        assert len(failing_telegram.to(resident)) == answered
        assert [x.id for x in reports_of(world, resident)] == [filed.id]
    finally:
        await bot.stop()


# --- nothing grows forever ------------------------------------------------------------------------------


async def test_the_daily_retention_job_deletes_expired_conversation_state(
    new_bot: Callable[[], Any], world: Database
) -> None:
    now = utcnow()
    with world.session() as session:
        conversations.put(session, "location", "telegram:1", [32.2, 119.4], now - timedelta(hours=1))
        conversations.put(session, "payload", "0123456789abcdef0123", "/greet", now)
    bot = await new_bot()
    await prune_job(CallbackContext(bot.app))
    with world.session() as session:
        left = session.execute(select(ConversationState.kind, ConversationState.key)).all()
    assert [tuple(row) for row in left] == [("payload", "0123456789abcdef0123")]
