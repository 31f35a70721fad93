"""The clock through the real telegram.ext.Application (Telegram faked at the request layer, no Rasa): the
holder asks for more time from the task card, the grid member approves with one tap, the reporter reads the
new expected time; a volunteer cannot approve their own request; the sweeper's warning reaches the holder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from telegram import Update
from telegram.ext import Application

from bot.telegram.jobs import relay_once
from community.database import Database, utcnow
from community.people.models import Person
from community.tickets import accept
from community.tickets.clock import extension_due
from community.tickets.clock_notices import when
from community.tickets.clock_sweep import sweep_clock
from community.tickets.models import ExtensionRequest, IssueCategory, Ticket
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update
from tests.tickets.world import IN_M1, World, events, file, ticket

# This helper's Telegram ids (805_000_001 upward), given to the world's people the tests press buttons as.
IDS = {"v_m1_a": 805_000_001, "v_m1_b": 805_000_002, "gm_g1": 805_000_003, "alice": 805_000_004}


@pytest.fixture
async def application(db: Database, world: World) -> AsyncIterator[Application]:
    with db.session() as s:
        for key, telegram_id in IDS.items():
            person = world.person(s, key)
            person.telegram_id, person.chat_id = telegram_id, str(telegram_id)
        category = s.get(IssueCategory, "streetlight")
        assert category is not None
        category.sla_clock = "working_hours"
    async with application_without_rasa(db, rate_limiter=False) as app:
        yield app


async def feed(app: Application, data: dict) -> None:  # type: ignore[type-arg]
    await app.process_update(Update.de_json(data, app.bot))


def accepted_ticket(db: Database, world: World) -> Ticket:
    now = utcnow()
    t = file(db, world, "alice", "streetlight", IN_M1, now=now).ticket
    with db.session() as s:
        owner = s.get(Person, ticket(db, t.id).owner_id)
        assert owner is not None
        return accept(s, t.id, owner, t.version, now=now)


def answers_of(telegram: FakeTelegram) -> list[Call]:
    return [c for c in telegram.calls if c.method == "answerCallbackQuery"]


def chat_of(world: World, ticket_: Ticket) -> int:
    key = next(k for k, v in world.people.items() if v == ticket_.owner_id)
    return IDS[key]


async def test_more_time_asked_on_the_card_and_approved_by_the_grid_member(
    db: Database, world: World, application: Application
) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]
    t = accepted_ticket(db, world)
    holder_chat, gm_chat, reporter_chat = chat_of(world, t), IDS["gm_g1"], IDS["alice"]
    await relay_once(application.bot, db)
    # The card of the accepted task (filed and accepted at the same instant here: in either order).
    cards = [[b["callback_data"] for b in c.buttons()] for c in telegram.to(holder_chat, "sendMessage")]
    accepted_card = [f"tk:res:{t.id}:{t.version}", f"tk:esc:{t.id}:{t.version}"]
    accepted_card += [f"th:ask:{t.id}", f"th:msg:{t.id}", f"th:cn:{t.id}", f"xt:ask:{t.id}"]
    assert accepted_card in cards
    expected = when(t.due_at, "en")  # type: ignore[arg-type]
    assert any(f"Expected by {expected}." in c.text for c in telegram.to(reporter_chat, "sendMessage"))

    telegram.clear()
    await feed(application, callback_update(holder_chat, f"xt:ask:{t.id}"))
    choice = telegram.to(holder_chat, "sendMessage")[-1]
    assert [b["callback_data"] for b in choice.buttons()] == [f"xt:d:{t.id}:1", f"xt:d:{t.id}:3"]
    await feed(application, callback_update(holder_chat, f"xt:d:{t.id}:1"))
    assert "延期理由" in telegram.to(holder_chat, "sendMessage")[-1].text
    await feed(application, message_update(holder_chat, "灯泡要明天才到"))
    assert "Grid Member One" in telegram.to(holder_chat, "sendMessage")[-1].text

    await relay_once(application.bot, db)
    request = telegram.to(gm_chat, "sendMessage")[-1]
    assert "灯泡要明天才到" in request.text
    approve = next(b["callback_data"] for b in request.buttons() if b["callback_data"].startswith("xt:ok:"))

    # The holder cannot press the approval for themselves (a forged or forwarded button).
    await feed(application, callback_update(holder_chat, approve))
    alert = telegram.to(None, "answerCallbackQuery")[-1]  # type: ignore[arg-type]
    assert alert.params.get("show_alert") and ticket(db, t.id).due_at == t.due_at

    await feed(application, callback_update(gm_chat, approve))
    new_due = extension_due(t.due_at, 1)  # type: ignore[arg-type]
    assert ticket(db, t.id).due_at == new_due
    assert "已批准" in telegram.to(gm_chat, "sendMessage")[-1].text

    await relay_once(application.bot, db)
    told = telegram.to(reporter_chat, "sendMessage")[-1].text
    assert f"now expected by {when(new_due, 'en')}" in told
    assert "延期已批准" in telegram.to(holder_chat, "sendMessage")[-1].text
    assert [e.kind for e in events(db, t.id)][-2:] == ["extension_requested", "extended"]

    # The same tap again: decided once.
    await feed(application, callback_update(gm_chat, approve))
    assert ticket(db, t.id).due_at == new_due
    with db.session() as s:
        assert [r.status for r in s.query(ExtensionRequest)] == ["approved"]


async def test_a_reporter_pressing_an_extension_button_is_refused_politely(
    db: Database, world: World, application: Application
) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]
    t = accepted_ticket(db, world)
    await feed(application, callback_update(IDS["alice"], f"xt:ask:{t.id}", language_code="en"))
    await feed(application, callback_update(IDS["alice"], "xt:ok:1", language_code="en"))
    answers = answers_of(telegram)
    assert len(answers) == 2 and all(a.params.get("show_alert") for a in answers)
    assert telegram.to(IDS["alice"], "sendMessage") == []
    with db.session() as s:
        assert list(s.query(ExtensionRequest)) == []


async def test_the_sweepers_warning_reaches_the_holder_once(
    db: Database, world: World, application: Application
) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]
    t = accepted_ticket(db, world)
    assert t.warn_at is not None and t.due_at is not None
    moment = t.warn_at + timedelta(seconds=1)
    assert sweep_clock(db, moment)["warned"] == [t.id]
    assert sweep_clock(db, moment + timedelta(seconds=30))["warned"] == []
    await relay_once(application.bot, db, clock=lambda: moment)
    warnings = [c for c in telegram.to(chat_of(world, t), "sendMessage") if "办结时限快到了" in c.text]
    assert len(warnings) == 1
    assert f"tk:res:{t.id}:{t.version}" in [b["callback_data"] for b in warnings[0].buttons()]
