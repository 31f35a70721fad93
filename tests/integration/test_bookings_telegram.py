"""Bookings at the stations through the real telegram.ext.Application with commands and buttons (no Rasa: none
of this needs understanding), on SQLite and PostgreSQL with the real knowledge base: /book → an item → a
session → the confirmation with its QR code; someone else opening the code is refused and nothing changes;
the station's volunteer checks the tourist in and the tourist is told; the reminder job sends the day-before
reminder once; /bookings cancels and frees the place."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.ext import Application

from bot.telegram.handlers.bookings import bookings_job
from bot.telegram.jobs import Relay
from community.bookings.checkin import qr_png
from community.bookings.models import Booking, BookingStatus, ServiceSession
from community.bookings.reminders import reminder_due_at
from community.database import Database, utcnow
from community.i18n import t
from community.knowledge.loader import load
from community.people.models import Person, PersonRole, Role
from community.settings import PROJECT_ROOT
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

TOURIST = 812_200_001
NEIGHBOUR = 812_200_002
VOLUNTEER = 812_200_003
LINK = re.compile(r"https://t\.me/(\w+)\?start=ci_([A-Za-z0-9_-]+)")


@pytest.fixture
async def app(db: Database) -> AsyncIterator[Application]:
    load(db, PROJECT_ROOT / "knowledge")
    async with application_without_rasa(db, rate_limiter=False) as application:
        yield application


def _db(app: Application) -> Database:
    return app.bot_data["assistant"].database


def _telegram(app: Application) -> FakeTelegram:
    return app.bot_data["telegram"]


async def _say(app: Application, user: int, text: str, **kwargs: Any) -> None:
    await app.process_update(Update.de_json(message_update(user, text, **kwargs), app.bot))


async def _press(app: Application, user: int, data: str) -> None:
    await app.process_update(Update.de_json(callback_update(user, data), app.bot))


def _buttons(calls: list[Call], prefix: str) -> list[str]:
    return [
        b["callback_data"]
        for c in calls
        for b in c.buttons()
        if b.get("callback_data", "").startswith(prefix)
    ]


def _volunteer_of_red_3(db: Database) -> None:
    """A volunteer of the Xiaomatou Street micro-grid, where the guide desk (the walk's station) stands."""
    with db.session() as session:
        person = Person(
            external_key=f"telegram:{VOLUNTEER}",
            telegram_id=VOLUNTEER,
            chat_id=str(VOLUNTEER),
            display_name="Vol",
            preferred_language="zh-Hans",
        )
        session.add(person)
        session.flush()
        session.add(PersonRole(person_id=person.id, role=Role.VOLUNTEER.value, grid_code="red_3"))


def _booking(db: Database) -> Booking:
    with db.session() as session:
        found = session.scalar(
            select(Booking).join(Person, Person.id == Booking.person_id).where(Person.telegram_id == TOURIST)
        )
        assert found is not None
        return found


async def _book_the_walk(app: Application) -> tuple[str, Call]:
    telegram = _telegram(app)
    await _say(app, TOURIST, "/book", language_code="en")
    assert "bk:i:guided_walk" in _buttons(telegram.to(TOURIST), "bk:i:")
    await _press(app, TOURIST, "bk:i:guided_walk")
    sessions = _buttons(telegram.to(TOURIST), "bk:b:")
    assert sessions, telegram.texts_to(TOURIST)
    # One more than a day ahead, so that its reminder is still to come whatever the day the test runs.
    with _db(app).session() as session:
        later = [
            data
            for data in sessions
            if session.get(ServiceSession, int(data.removeprefix("bk:b:"))).starts_at  # type: ignore[union-attr]
            > utcnow() + timedelta(days=2)
        ]
    await _press(app, TOURIST, later[0])
    [photo] = telegram.to(TOURIST, "sendPhoto")
    match = LINK.search(photo.text)
    assert match is not None, photo.text
    return match.group(2), photo


async def test_book_check_in_by_the_stations_volunteer_and_the_day_before_reminder(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    _volunteer_of_red_3(db)
    token, photo = await _book_the_walk(app)
    assert any(html.unescape(text).startswith("✅ Booked:") for text in telegram.texts_to(TOURIST))
    assert photo.files["photo"][1] == qr_png(LINK.search(photo.text).group(0))  # type: ignore[union-attr]
    booking = _booking(db)
    assert booking.status == BookingStatus.BOOKED and token not in (booking.token_hash or "")

    # Someone who does not serve the station opens the code: a polite no, and nothing changes.
    await _say(app, NEIGHBOUR, f"/start ci_{token}", language_code="en")
    assert html.unescape(telegram.texts_to(NEIGHBOUR)[-1]) == t("bookings.error.not_station", "en")
    assert _booking(db).status == BookingStatus.BOOKED

    # The day before at 18:00 the job queues the reminder; run again, it sends nothing more.
    due = reminder_due_at(booking.session.starts_at, app.bot_data["settings"].zone) + timedelta(minutes=1)
    job = SimpleNamespace(job=SimpleNamespace(data={"now": due}), application=app)
    await bookings_job(job)  # type: ignore[arg-type]
    await bookings_job(job)  # type: ignore[arg-type]
    telegram.clear()
    await Relay(db).run_once(app.bot)
    reminders = [text for text in telegram.texts_to(TOURIST) if text.startswith("⏰")]
    assert len(reminders) == 1 and "Guided walk of the old street" in reminders[0]

    # The station's volunteer opens it: checked in, the volunteer and the tourist are told.
    await _say(app, VOLUNTEER, f"/start ci_{token}")
    assert telegram.texts_to(VOLUNTEER)[-1].startswith("已签到")
    await Relay(db).run_once(app.bot)
    assert any("You're checked in" in html.unescape(text) for text in telegram.texts_to(TOURIST))
    assert _booking(db).status == BookingStatus.CHECKED_IN
    await _say(app, VOLUNTEER, f"/start ci_{token}")  # a code works once
    assert telegram.texts_to(VOLUNTEER)[-1] == t("bookings.error.bad_token", "zh-Hans")


async def test_bookings_lists_ones_own_and_cancelling_frees_the_place(db: Database, app: Application) -> None:
    telegram = _telegram(app)
    await _book_the_walk(app)
    booking = _booking(db)
    await _say(app, TOURIST, "/bookings")
    [cancel] = _buttons(telegram.to(TOURIST), "bk:c:")
    await _press(app, TOURIST, cancel)
    assert html.unescape(telegram.texts_to(TOURIST)[-1]).startswith("Cancelled:")
    with db.session() as session:
        assert session.get(ServiceSession, booking.session_id).taken == 0  # type: ignore[union-attr]
    await _say(app, NEIGHBOUR, "/bookings", language_code="en")
    assert html.unescape(telegram.texts_to(NEIGHBOUR)[-1]) == t("bookings.mine_none", "en")
    await _press(app, NEIGHBOUR, cancel)  # someone else's booking: refused, nothing changes
    assert html.unescape(telegram.texts_to(NEIGHBOUR)[-1]) == t("bookings.error.unknown", "en")
