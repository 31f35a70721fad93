"""Issue #17's booking, through the real Application, the real Rasa server (the trained model) and the real
action server: a tourist asks "Can I book an English guide on Saturday?" in English, sees Saturday's English
walks, books one with a button, gets the confirmation and the QR code; the reminder job sends the reminder the
day before; the station's volunteer opens the code and the tourist is checked in and told; a second tourist,
writing in Korean, is refused a full session politely in Korean and offered the next one."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update
from telegram.ext import Application

from bot.telegram.handlers.bookings import bookings_job
from bot.telegram.jobs import Relay
from community.bookings.models import Booking, BookingStatus, ServiceSession
from community.bookings.reminders import reminder_due_at
from community.database import utcnow
from community.i18n import t
from community.people.models import Person, PersonRole, Role
from tests.integration.conftest import Stack, feed
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

pytestmark = pytest.mark.rasa

TOURIST = 812_300_001
SECOND = 812_300_002
VOLUNTEER = 812_300_003
LINK = re.compile(r"https://t\.me/\w+\?start=ci_([A-Za-z0-9_-]+)")


def _session_buttons(calls: list[Call]) -> dict[int, tuple[str, str]]:
    """{session id: (title, callback data)} of the booking buttons in these calls."""
    found: dict[int, tuple[str, str]] = {}
    for call in calls:
        for b in call.buttons():
            data = str(b.get("callback_data", ""))
            if data.startswith("r:/book_service"):
                found[int(json.loads(data.removeprefix("r:/book_service"))["session_id"])] = (b["text"], data)
    return found


def _transcript(telegram: FakeTelegram, chat: int) -> str:
    return "\n".join(
        f"{c.method}: {c.text[:120]!r} {[b.get('text') for b in c.buttons()]}" for c in telegram.to(chat)
    )


async def test_a_tourist_books_an_english_walk_is_reminded_and_checked_in_and_a_full_one_is_refused(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    db, zone = stack.database, stack.settings.zone
    with db.session() as session:
        volunteer = Person(
            external_key=f"telegram:{VOLUNTEER}",
            telegram_id=VOLUNTEER,
            chat_id=str(VOLUNTEER),
            display_name="Vol",
            preferred_language="zh-Hans",
        )
        session.add(volunteer)
        session.flush()
        session.add(PersonRole(person_id=volunteer.id, role=Role.VOLUNTEER.value, grid_code="red_3"))

    # 1. The question, in English: Saturday's English walks, each a button.
    await feed(
        application, message_update(TOURIST, "Can I book an English guide on Saturday?", language_code="en")
    )
    offered = _session_buttons(telegram.to(TOURIST))
    assert offered, _transcript(telegram, TOURIST)
    with db.session() as session:
        sessions = {i: session.get(ServiceSession, i) for i in offered}
    assert all(
        s is not None and s.item_code == "guided_walk" and s.language == "en" for s in sessions.values()
    )
    assert {s.starts_at.astimezone(zone).strftime("%a") for s in sessions.values()} == {"Sat"}  # type: ignore[union-attr]
    assert all(title.startswith("Sat ") and "English" in title for title, _ in offered.values())

    # 2. A button press books it (one at least two days ahead, so its reminder is still to come).
    chosen = min(i for i, s in sessions.items() if s.starts_at > utcnow() + timedelta(days=2))  # type: ignore[union-attr]
    telegram.clear()
    await feed(application, callback_update(TOURIST, offered[chosen][1]))
    assert any(html.unescape(x).startswith("✅ Booked:") for x in telegram.texts_to(TOURIST)), _transcript(
        telegram, TOURIST
    )
    [photo] = telegram.to(TOURIST, "sendPhoto")
    assert photo.files["photo"][1][:8] == b"\x89PNG\r\n\x1a\n"
    match = LINK.search(photo.text)
    assert match is not None, photo.text
    token = match.group(1)

    # 3. The reminder job, the day before at 18:00 (an explicit moment), through the outbox.
    due = reminder_due_at(sessions[chosen].starts_at, zone) + timedelta(minutes=5)  # type: ignore[union-attr]
    await bookings_job(SimpleNamespace(job=SimpleNamespace(data={"now": due}), application=application))  # type: ignore[arg-type]
    telegram.clear()
    await Relay(db).run_once(application.bot)
    [reminder] = [x for x in telegram.texts_to(TOURIST) if x.startswith("⏰")]
    assert reminder.startswith("⏰ Reminder: tomorrow you have Sat")

    # 4. The station's volunteer opens the code: checked in, and the tourist is told in English.
    await feed(application, message_update(VOLUNTEER, f"/start ci_{token}"))
    assert telegram.texts_to(VOLUNTEER)[-1].startswith("已签到"), _transcript(telegram, VOLUNTEER)
    await Relay(db).run_once(application.bot)
    assert any(html.unescape(x).startswith("✅ You're checked in") for x in telegram.texts_to(TOURIST))
    with db.session() as session:
        booking = session.scalar(select(Booking).where(Booking.session_id == chosen))
        assert booking is not None and booking.status == BookingStatus.CHECKED_IN

    # 5. A second tourist, in Korean, presses a session that is full: refused politely, the next one offered.
    with db.session() as session:
        session.execute(
            update(ServiceSession).where(ServiceSession.id == chosen).values(taken=ServiceSession.capacity)
        )
    await feed(
        application, message_update(SECOND, "토요일에 영어 가이드 예약할 수 있을까요?", language_code="ko")
    )
    korean = _session_buttons(telegram.to(SECOND))
    assert chosen in korean and t("bookings.full_short", "ko") in korean[chosen][0], _transcript(
        telegram, SECOND
    )
    telegram.clear()
    await feed(application, callback_update(SECOND, korean[chosen][1]))
    [refusal] = telegram.texts_to(SECOND)
    assert "예약이 다 찼어요" in html.unescape(refusal), _transcript(telegram, SECOND)
    [(_, next_data)] = _session_buttons(telegram.to(SECOND)).values()
    assert next_data != korean[chosen][1]
    with db.session() as session:
        second = session.scalar(select(Person).where(Person.telegram_id == SECOND))
        assert second is not None
        assert session.scalar(select(Booking).where(Booking.person_id == second.id)) is None
