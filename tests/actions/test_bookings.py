"""actions/bookings.py: listing the sessions a message asks for, and booking one from its button."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

from actions.bookings import ActionBookService
from community.bookings.models import Booking, ServiceSession
from community.database import Database
from community.i18n import t
from tests.actions.support import buttons, customs, make_tracker, texts

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Zhenjiang
TOURIST = {
    "user_key": "telegram:812100001",
    "telegram_id": 812_100_001,
    "chat_id": 812_100_001,
    "name": "Tom",
}


@pytest.fixture(autouse=True)
def monday(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("actions.bookings.utcnow", lambda: NOW)
    return NOW


async def _run(
    text: str, language: str, entities: dict[str, str] | None = None, **who: object
) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        text, intent="book_service", entities=entities, language=language, **(who or TOURIST)
    )
    await ActionBookService().run(dispatcher, tracker, {})
    return dispatcher


def _sessions(db: Database, payloads: list[str]) -> list[ServiceSession]:
    ids = [int(json.loads(p.removeprefix("/book_service"))["session_id"]) for p in payloads]
    with db.session() as session:
        return [session.get(ServiceSession, i) for i in ids]  # type: ignore[misc]


async def test_a_free_haircut_question_lists_the_haircut_sessions_in_chinese(kb: Database) -> None:
    dispatcher = await _run("有没有免费理发？", "zh-Hans")
    assert "免费便民理发" in texts(dispatcher)[0]
    found = _sessions(kb, [b["payload"] for b in buttons(dispatcher)])
    assert found and {s.item_code for s in found} == {"haircut_chaoan"}
    assert all(b["title"].split(" ")[0].endswith(("周二", "周五")) for b in buttons(dispatcher))


async def test_an_english_guide_on_saturday_lists_only_saturdays_english_walks(kb: Database) -> None:
    dispatcher = await _run("Can I book an English guide on Saturday?", "en")
    found = _sessions(kb, [b["payload"] for b in buttons(dispatcher)])
    assert len(found) == 4  # two Saturdays in the next two weeks, 10:00 and 14:00
    assert all(s.item_code == "guided_walk" and s.language == "en" for s in found)
    assert {f"{s.starts_at.astimezone(ZONE):%a %H:%M}" for s in found} == {"Sat 10:00", "Sat 14:00"}
    assert "Guided walk of the old street" in texts(dispatcher)[0]


async def test_a_message_naming_no_item_offers_every_item_as_a_button(kb: Database) -> None:
    dispatcher = await _run("what can I book?", "en")
    assert texts(dispatcher) == [t("bookings.pick_item", "en")]
    assert len(buttons(dispatcher)) == 13
    item_button = await _run('/book_service{"item_id": "calligraphy_class"}', "en")
    assert {s.item_code for s in _sessions(kb, [b["payload"] for b in buttons(item_button)])} == {
        "calligraphy_class"
    }


async def test_the_sessions_button_books_it_with_a_confirmation_and_a_check_in_qr_code(kb: Database) -> None:
    listing = await _run("Can I book an English guide on Saturday?", "en")
    payload = buttons(listing)[0]["payload"]
    session_id = json.loads(payload.removeprefix("/book_service"))["session_id"]
    dispatcher = await _run(payload, "en", entities={"session_id": session_id})
    assert texts(dispatcher)[0].startswith("✅ Booked:")
    [qr] = customs(dispatcher, "qr")
    assert "?start=ci_" in qr["link"] and qr["link"].startswith("https://t.me/")
    with kb.session() as session:
        [booking] = session.scalars(select(Booking))
        assert booking.session_id == int(session_id) and booking.token_hash is not None
        assert qr["link"].rsplit("ci_", 1)[1] not in booking.token_hash  # only the hash is stored


async def test_booking_the_same_session_twice_is_refused_politely(kb: Database) -> None:
    listing = await _run("有没有免费理发？", "zh-Hans")
    payload = buttons(listing)[0]["payload"]
    await _run(payload, "zh-Hans")
    again = await _run(payload, "zh-Hans")
    assert texts(again) == [t("bookings.error.already", "zh-Hans")]


async def test_a_full_session_is_refused_in_korean_with_the_next_one_offered(kb: Database) -> None:
    listing = await _run("토요일 영어 가이드 예약할 수 있나요", "ko")
    first = _sessions(kb, [b["payload"] for b in buttons(listing)])[0]
    with kb.session() as session:
        session.execute(
            update(ServiceSession).where(ServiceSession.id == first.id).values(taken=ServiceSession.capacity)
        )
    dispatcher = await _run(f'/book_service{{"session_id": "{first.id}"}}', "ko")
    assert "예약이 다 찼어요" in texts(dispatcher)[0]
    [offer] = _sessions(kb, [b["payload"] for b in buttons(dispatcher)])
    assert offer.item_code == "guided_walk" and offer.starts_at > first.starts_at
    with kb.session() as session:
        assert list(session.scalars(select(Booking))) == []


async def test_without_the_bots_proof_nothing_is_booked(kb: Database) -> None:
    listing = await _run("有没有免费理发？", "zh-Hans")
    payload = buttons(listing)[0]["payload"]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(payload, intent="book_service", language="zh-Hans", secret=None, **TOURIST)
    await ActionBookService().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [t("chat.anonymous", "zh-Hans")]
    with kb.session() as session:
        assert list(session.scalars(select(Booking))) == []
