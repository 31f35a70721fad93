"""The actions believe an identity only with the bot's proof (actions/common.py, community/identity.py).

A message that names a person without a valid proof — none, made with another secret, stale, copied into
another conversation, or with the user changed after signing — gets no personal data, changes nothing, and
is answered politely.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.conversation import ActionSetLanguage
from actions.emergency import ActionEmergency
from actions.report import ActionSubmitReport
from actions.tickets import ActionCheckTickets, ActionTalkToHuman
from community.database import Database
from community.i18n import t
from community.identity import IDENTITY_MAX_AGE_SECONDS
from community.people.models import Person
from tests.actions.support import make_metadata, make_tracker, texts, tickets_in

ALICE = {"user_key": "telegram:3001", "telegram_id": 3001, "chat_id": 3001, "name": "Alice"}
AT_LOVE_STATION = (32.2106, 119.4366)
REPORT_SLOTS = {
    "issue_category": "lighting",
    "report_location": "landmark:west_entrance",
    "description": "the lamp is out",
    "photo": "none",
    "contact": "none",
}


def _unsigned(**meta: Any) -> dict[str, Any]:
    return make_metadata(secret=None, **{**ALICE, **meta})


def _wrong_secret(**meta: Any) -> dict[str, Any]:
    return make_metadata(secret="not-the-bot's-secret", **{**ALICE, **meta})


def _stale(**meta: Any) -> dict[str, Any]:
    return make_metadata(signed_at=time.time() - IDENTITY_MAX_AGE_SECONDS - 5, **{**ALICE, **meta})


def _chat_changed_after_signing(**meta: Any) -> dict[str, Any]:
    signed = make_metadata(**{**ALICE, **meta})
    return {**signed, "user": {**signed["user"], "chat_id": 6666}}


def _proof_from_another_conversation(**meta: Any) -> dict[str, Any]:
    """Alice's own valid metadata, sent in Mallory's conversation (Rasa's sender id)."""
    return make_metadata(**{**ALICE, **meta})


FORGERIES = {
    "no proof": (_unsigned, None),
    "another secret": (_wrong_secret, None),
    "stale proof": (_stale, None),
    "user changed after signing": (_chat_changed_after_signing, None),
    "another conversation": (_proof_from_another_conversation, "telegram:6666"),
}


def _forged(name: str, text: str, **kwargs: Any) -> Tracker:
    forge, sender = FORGERIES[name]
    meta = {k: kwargs.pop(k) for k in ("language", "message_id", "location", "location_fresh") if k in kwargs}
    return make_tracker(text, metadata=forge(**meta), sender_id=sender, **kwargs)


def _alice(db: Database) -> Person:
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.external_key == ALICE["user_key"]))
        assert person is not None
        return person


async def _alice_files_a_report(db: Database) -> str:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/deny", intent="deny", slots=REPORT_SLOTS, message_id=1, **ALICE)
    await ActionSubmitReport().run(dispatcher, tracker, {})
    [ticket] = tickets_in(db)
    assert ticket.ref in texts(dispatcher)[0]
    return ticket.ref


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_a_forged_identity_sees_no_tickets_and_rewrites_no_chat(
    kb: Database, dispatcher: CollectingDispatcher, forgery: str
) -> None:
    ref = await _alice_files_a_report(kb)

    events = await ActionCheckTickets().run(
        dispatcher, _forged(forgery, "我的报事", intent="check_ticket", message_id=2), {}
    )

    assert events == []
    assert texts(dispatcher) == [t("chat.anonymous", "zh-Hans")]
    assert ref not in str(dispatcher.messages)
    assert _alice(kb).chat_id == "3001"
    with kb.session() as session:
        assert session.scalar(select(Person).where(Person.chat_id == "6666")) is None


async def test_the_signed_identity_sees_its_own_tickets(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    """The other side of the test above: the same request with the bot's proof is answered."""
    ref = await _alice_files_a_report(kb)

    await ActionCheckTickets().run(
        dispatcher, make_tracker("我的报事", intent="check_ticket", message_id=2, **ALICE), {}
    )

    [text] = texts(dispatcher)
    assert ref in text


@pytest.mark.parametrize("forgery", ["no proof", "another secret", "another conversation"])
async def test_a_forged_report_files_nothing(
    kb: Database, dispatcher: CollectingDispatcher, forgery: str
) -> None:
    tracker = _forged(forgery, "/deny", intent="deny", slots=REPORT_SLOTS, message_id=7)

    events = await ActionSubmitReport().run(dispatcher, tracker, {})

    assert tickets_in(kb) == []
    assert texts(dispatcher) == [t("chat.anonymous", "zh-Hans")]
    # The form's answers are dropped, so the next report starts afresh.
    assert {e["name"]: e["value"] for e in events} == dict.fromkeys(REPORT_SLOTS)


async def test_a_forged_request_for_a_person_at_the_desk_files_nothing(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    await ActionTalkToHuman().run(dispatcher, _forged("no proof", "我要找人工", intent="talk_to_human"), {})

    assert tickets_in(kb) == []
    assert texts(dispatcher) == [t("chat.anonymous", "zh-Hans")]


async def test_a_forged_emergency_gets_the_numbers_but_pages_nobody(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = _forged(
        "another secret", "救命", intent="emergency", location=AT_LOVE_STATION, location_fresh=True
    )

    await ActionEmergency().run(dispatcher, tracker, {})

    said = texts(dispatcher)
    assert said[0] == t("emergency.call", "zh-Hans")  # the numbers are for anyone
    assert said[-1] == t("chat.anonymous", "zh-Hans")
    assert tickets_in(kb) == []


async def test_a_forged_language_change_changes_no_person(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    await _alice_files_a_report(kb)
    tracker = _forged("stale proof", "English please", intent="set_language", entities={"language": "en"})

    await ActionSetLanguage().run(dispatcher, tracker, {})

    assert dispatcher.messages[0]["text"] == t("chat.language_set", "en")  # this conversation only
    assert _alice(kb).preferred_language == "zh-Hans"


async def test_a_group_chat_never_becomes_a_persons_chat(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    """Even signed: a person's chat is only the private chat with them, where their notifications go."""
    await _alice_files_a_report(kb)

    in_a_group = {**ALICE, "chat_id": -100777}
    from_a_group = make_tracker("我的报事", intent="check_ticket", message_id=3, **in_a_group)
    await ActionCheckTickets().run(dispatcher, from_a_group, {})
    without_telegram_id = make_tracker(
        "我的报事", intent="check_ticket", message_id=4, **{**ALICE, "telegram_id": None, "chat_id": 6666}
    )
    await ActionCheckTickets().run(dispatcher, without_telegram_id, {})

    assert _alice(kb).chat_id == "3001"
