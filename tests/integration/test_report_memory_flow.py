"""The report form takes what was said, through the real Application, Rasa and the action server: an English
report in one message is filed without asking the description again; the phone is asked on the first report,
remembered with consent, offered on the second, and /forget deletes it."""

from __future__ import annotations

import html
import itertools

import pytest
from sqlalchemy import select
from telegram.ext import Application

from community.i18n import t
from community.people.models import Person
from community.tickets.models import Ticket
from tests.integration.conftest import Stack, feed
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

pytestmark = pytest.mark.rasa

_users = itertools.count(808_000_010)
PAGODA = (32.21, 119.429)  # where the tourist stands: the Zhaoguan pagoda (grids.yml)


def plain(text: str) -> str:
    return html.unescape(text)


def transcript(telegram: FakeTelegram, chat: int) -> str:
    return "\n".join(
        f"{c.method}: {c.text[:100]!r} {[b.get('text') for b in c.buttons()]}" for c in telegram.to(chat)
    )


def button(calls: list[Call], title: str) -> str:
    """The callback data of the latest button with this title."""
    for call in reversed(calls):
        for b in call.buttons():
            if b.get("text") == title and "callback_data" in b:
                return str(b["callback_data"])
    raise AssertionError(f"no button {title!r} in {[(c.text[:50], c.buttons()) for c in calls]}")


def reporter(stack: Stack, user: int) -> Person:
    with stack.database.session() as session:
        found = session.scalar(select(Person).where(Person.telegram_id == user))
        assert found is not None
        return found


def tickets(stack: Stack, user: int) -> list[Ticket]:
    with stack.database.session() as session:
        return list(
            session.scalars(
                select(Ticket).join(Person, Person.id == Ticket.reporter_id).where(Person.telegram_id == user)
            )
        )


async def _report(app: Application, telegram: FakeTelegram, user: int, text: str) -> list[Call]:
    """Says it in one message, confirms what was noted, skips the photo; returns the contact step."""
    telegram.clear()
    await feed(app, message_update(user, text, language_code="en"))
    said = telegram.to(user, "sendMessage")
    assert said and plain(said[-1].text) == t("outreach.confirm_description", "en", description=text), (
        transcript(telegram, user)
    )
    assert not any(plain(c.text) == t("report.ask_description", "en") for c in said)

    telegram.clear()
    await feed(app, callback_update(user, button(said, t("outreach.yes", "en"))))
    said = telegram.to(user, "sendMessage")
    assert plain(said[-1].text) == t("report.ask_photo", "en"), transcript(telegram, user)

    telegram.clear()
    await feed(app, callback_update(user, button(said, t("report.skip", "en"))))
    return telegram.to(user, "sendMessage")


async def test_a_report_in_one_message_is_filed_and_the_phone_is_asked_once(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    user = next(_users)
    await feed(application, message_update(user, location=PAGODA, language_code="en"))

    # 1. The first report: the phone is asked, then whether to remember it.
    first = "The street lamp near the pagoda is broken, it is dark"
    contact = await _report(application, telegram, user, first)
    assert plain(contact[-1].text) == t("report.ask_contact", "en"), transcript(telegram, user)
    telegram.clear()
    await feed(application, message_update(user, "13800138000", language_code="en"))
    consent = telegram.to(user, "sendMessage")
    assert plain(consent[-1].text) == t("outreach.ask_consent", "en", phone="138…8000"), transcript(
        telegram, user
    )
    await feed(application, callback_update(user, button(consent, t("outreach.yes", "en"))))

    [filed] = tickets(stack, user)
    assert filed.description == first
    assert filed.category_code == "lighting"
    assert filed.contact == "13800138000"
    assert reporter(stack, user).phone == "13800138000"
    assert reporter(stack, user).phone_consented_at is not None

    # 2. The second report: the saved phone is offered, not asked for.
    second = "The rubbish bin by the pagoda is overflowing and smells"
    offer = await _report(application, telegram, user, second)
    assert plain(offer[-1].text) == t("outreach.offer_saved", "en", phone="138…8000"), transcript(
        telegram, user
    )
    assert not any(plain(c.text) == t("report.ask_contact", "en") for c in offer)
    await feed(
        application, callback_update(user, button(offer, t("outreach.use_saved", "en", phone="138…8000")))
    )
    assert [tk.contact for tk in tickets(stack, user)] == ["13800138000", "13800138000"]

    # 3. /forget deletes it and says what was deleted.
    telegram.clear()
    await feed(application, message_update(user, "/forget", language_code="en"))
    [answer] = telegram.texts_to(user)
    assert plain(answer) == t(
        "outreach.forgot", "en", phone="138…8000", days=stack.settings.ticket_contact_kept_days
    )
    assert reporter(stack, user).phone is None
    telegram.clear()
    await feed(application, message_update(user, "/forget", language_code="en"))
    assert [plain(x) for x in telegram.texts_to(user)] == [t("outreach.nothing_to_forget", "en")]
