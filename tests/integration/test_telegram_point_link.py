"""`/start point_<code>`: the "open in Telegram" link on a service point's web page opens that point in the
bot, through the real Application (Telegram faked at the request layer; Rasa is not needed for it)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from telegram.ext import Application

from community.database import Database
from community.i18n import t
from community.knowledge.loader import load
from community.settings import PROJECT_ROOT
from tests.integration.conftest import application_without_rasa, feed
from tests.integration.telegram_fake import FakeTelegram, message_update
from web.map.data import POINT_PAYLOAD_PREFIX, telegram_link

_users = itertools.count(801_000_001)


@pytest.fixture
async def application(db: Database) -> AsyncIterator[Application]:
    load(db, PROJECT_ROOT / "knowledge")
    async with application_without_rasa(db, rate_limiter=False) as app:
        yield app


async def test_the_web_pages_link_opens_the_same_point_in_the_bot(application: Application) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]
    user = next(_users)
    link = telegram_link("XijinBot", "sp_toilet_2")
    assert link == "https://t.me/XijinBot?start=point_sp_toilet_2"
    payload = link.split("start=", 1)[1]
    await feed(application, message_update(user, f"/start {payload}", language_code="ja"))
    [venue] = telegram.to(user, "sendVenue")
    assert (venue.params["latitude"], venue.params["longitude"]) == (32.2097, 119.4287)
    assert venue.params["title"] == "公衆トイレ（昭関石塔）"
    [text] = telegram.texts_to(user)
    name, status, hours, services, page = text.split("\n")
    assert name == "📍 公衆トイレ（昭関石塔）（トイレ）"
    assert status in {t("map.open_now", "ja"), t("map.closed_now", "ja")}
    assert hours == "営業時間：毎日 06:00–22:00"
    assert services == "サービス：トイレ"
    assert page == "ウェブページ（QRコード付き）：http://127.0.0.1:8080/map/points/sp_toilet_2"


async def test_a_link_to_a_point_that_is_gone_gets_a_polite_answer(
    application: Application, db: Database
) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]
    user = next(_users)
    await feed(
        application,
        message_update(user, f"/start {POINT_PAYLOAD_PREFIX}sp_no_such_point", language_code="en"),
    )
    assert telegram.to(user, "sendVenue") == []
    assert telegram.texts_to(user) == [t("web.bot.point_unknown", "en")]
