"""Commands and menus of the Telegram bot: menus per language, a deep link from a QR code, staff commands
checked against the roles in the database."""

from __future__ import annotations

import itertools

import pytest
import yaml
from sqlalchemy import select
from telegram.ext import Application

from bot.telegram import menus
from community.i18n import t
from community.people.models import Person
from community.settings import PROJECT_ROOT
from tests.integration.conftest import Stack, feed
from tests.integration.telegram_fake import FakeTelegram, message_update

pytestmark = pytest.mark.rasa

_users = itertools.count(530_000_001)


async def test_the_command_menu_is_set_in_each_language(
    application: Application, telegram: FakeTelegram
) -> None:
    await menus.set_public_menus(application.bot)
    calls = [c for c in telegram.calls if c.method == "setMyCommands"]
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert set(by_language) == {None, "zh", "en", "ja", "ko"}
    assert {c["command"] for c in by_language["ja"]} == {
        "start",
        "help",
        "map",
        "report",
        "mytickets",
        "language",
        "cancel",
        "subscribe",
        "unsubscribe",
        "book",  # the stations' service items (bot/telegram/handlers/bookings.py)
        "bookings",
        "forget",
        "matter",
    }
    assert {c["command"]: c["description"] for c in by_language["zh"]}["report"] == "报告问题"


async def test_staff_get_their_menu_in_their_own_chat(
    stack: Stack, application: Application, telegram: FakeTelegram
) -> None:
    with stack.database.session() as session:
        volunteer = session.scalar(select(Person).where(Person.external_key == "roster:vol_red_1"))
        assert volunteer is not None and volunteer.telegram_id is not None
        volunteer.chat_id = str(volunteer.telegram_id)
        chat = volunteer.telegram_id
    await menus.set_staff_menus(application.bot, stack.database)
    scoped = [
        c
        for c in telegram.calls
        if c.method == "setMyCommands" and "scope" in c.params and c.params["scope"].get("type") == "chat"
    ]
    mine = [c for c in scoped if c.params["scope"]["chat_id"] == chat]
    assert len(mine) == 1
    assert {"tasks", "duty", "stats"} <= {c["command"] for c in mine[0].params["commands"]}


async def test_a_qr_code_deep_link_knows_where_the_user_stands(
    application: Application, telegram: FakeTelegram
) -> None:
    user = next(_users)
    await feed(application, message_update(user, "/start sp_love_station", language_code="en"))
    texts = telegram.texts_to(user)
    names = next(
        p
        for p in yaml.safe_load((PROJECT_ROOT / "knowledge" / "service_points.yml").read_text())[
            "service_points"
        ]
        if p["id"] == "sp_love_station"
    )["names"]
    assert texts[0] == t("bot.start_at_point", "en", place=names["en"])
    telegram.clear()
    # The place is remembered: the nearest toilet needs no shared location.
    await feed(application, message_update(user, "where is the nearest toilet"))
    assert telegram.to(user, "sendVenue"), telegram.texts_to(user)


async def test_staff_commands_are_refused_to_a_tourist(
    application: Application, telegram: FakeTelegram
) -> None:
    user = next(_users)
    for command in ("/tasks", "/duty off", "/stats"):
        telegram.clear()
        await feed(application, message_update(user, command, language_code="en"))
        assert telegram.texts_to(user) == ["This is only for community staff and volunteers."]


async def test_a_volunteer_goes_off_duty_and_lists_tasks(
    stack: Stack, application: Application, telegram: FakeTelegram
) -> None:
    with stack.database.session() as session:
        volunteer = session.scalar(select(Person).where(Person.external_key == "roster:vol_hill_1"))
        assert volunteer is not None and volunteer.telegram_id is not None
        chat, language = volunteer.telegram_id, volunteer.preferred_language
    await feed(application, message_update(chat, "/duty off"))
    with stack.database.session() as session:
        volunteer = session.scalar(select(Person).where(Person.external_key == "roster:vol_hill_1"))
        assert volunteer is not None and volunteer.volunteer is not None
        assert volunteer.volunteer.on_duty is False
        volunteer.volunteer.on_duty = True  # back on duty for the other tests
    assert (
        telegram.texts_to(chat)[-1].startswith("⚪") if language.startswith("zh") else telegram.texts_to(chat)
    )
    telegram.clear()
    await feed(application, message_update(chat, "/tasks"))
    assert telegram.texts_to(chat), "no answer to /tasks"
