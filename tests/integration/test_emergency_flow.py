"""An emergency the classifiers may not know, from a Telegram update to the replies, through the real Rasa
server (its emergency net) and the real action server: the police number first, and an emergency ticket."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select
from telegram.ext import Application

from community.people.models import Person
from community.tickets.models import Ticket
from tests.integration.conftest import Stack, feed
from tests.integration.telegram_fake import FakeTelegram, message_update

pytestmark = pytest.mark.rasa

_users = itertools.count(540_000_001)  # a range of its own: a person outlives a test in the session database


async def test_a_fight_with_a_knife_starts_the_emergency_flow_with_110(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    user = next(_users)
    # Traditional Chinese; the classifiers once read it as a greeting.
    await feed(application, message_update(user, "有人在打架，還拿刀"))

    texts = telegram.texts_to(user)
    assert texts, "the bot sent nothing"
    assert texts[0].startswith("🚨 請立即報警：110"), texts
    with stack.database.session() as session:
        reporter = session.scalar(select(Person).where(Person.external_key == f"telegram:{user}"))
        assert reporter is not None
        ticket = session.scalar(select(Ticket).where(Ticket.reporter_id == reporter.id))
        assert ticket is not None
        assert ticket.urgency == "emergency" and ticket.description == "有人在打架，還拿刀"
        assert ticket.ref in "\n".join(texts)
