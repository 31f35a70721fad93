"""actions/tickets.py: a reporter's own tickets only, and a consultation ticket for the community desk."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, text

from actions.report import ActionSubmitReport
from actions.tickets import ActionCheckTickets, ActionTalkToHuman
from community.database import Database
from community.i18n import t
from community.knowledge.schema import KnowledgeBase
from community.language.service import set_translator
from community.language.translate import NullTranslator, Translation
from community.tickets.models import EscalationLevel, TicketEvent, TicketState
from tests.actions.support import (
    NOTE,
    USER_KEY,
    make_tracker,
    people_with_role,
    roster_key,
    texts,
    tickets_in,
)
from tests.actions.test_report import link_of

ALICE = {"user_key": "telegram:3001", "telegram_id": 3001, "chat_id": 3001, "name": "Alice"}
BOB = {"user_key": "telegram:3002", "telegram_id": 3002, "chat_id": 3002, "name": "Bob"}


async def _report(db: Database, who: dict[str, Any], category: str, where: str, message_id: int) -> str:
    """A report filed through the form's last step; its ref."""
    slots = {
        "issue_category": category,
        "report_location": where,
        "description": "something to fix here",
        "photo": "none",
        "contact": "none",
    }
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(
        dispatcher, make_tracker("/deny", intent="deny", slots=slots, message_id=message_id, **who), {}
    )
    reply = texts(dispatcher)[0]  # then the status page's link, unless it was a duplicate
    return next(ticket.ref for ticket in tickets_in(db) if ticket.ref in reply)


async def test_check_tickets_lists_only_the_persons_own(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    alice_1 = await _report(kb, ALICE, "lighting", "landmark:west_entrance", 1)
    alice_2 = await _report(kb, ALICE, "noise", "grid:red_3", 2)
    bob_1 = await _report(kb, BOB, "sanitation", "landmark:east_entrance", 3)

    events = await ActionCheckTickets().run(
        dispatcher, make_tracker("我的报事", intent="check_ticket", message_id=4, **ALICE), {}
    )

    assert events == []
    [text] = texts(dispatcher)
    lines = text.splitlines()
    assert lines[0] == t("tickets.header", "zh-Hans")
    assert len(lines) == 3
    # Newest first, each with its category and state in the asker's language.
    assert alice_2 in lines[1] and "噪音扰民" in lines[1] and t("state.dispatched", "zh-Hans") in lines[1]
    assert alice_1 in lines[2] and "照明故障" in lines[2]
    assert bob_1 not in text

    bob = CollectingDispatcher()
    await ActionCheckTickets().run(
        bob, make_tracker("my reports", intent="check_ticket", language="en", **BOB), {}
    )
    [bob_text] = texts(bob)
    assert bob_1 in bob_text and "Litter and sanitation" in bob_text
    assert alice_1 not in bob_text and alice_2 not in bob_text


async def test_check_tickets_with_none_yet(kb: Database, dispatcher: CollectingDispatcher) -> None:
    await ActionCheckTickets().run(dispatcher, make_tracker("我的报事", intent="check_ticket"), {})

    assert texts(dispatcher) == [t("tickets.none", "zh-Hans")]


async def test_a_duplicate_reporter_follows_the_original(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    # Bob reports the same broken lamp Alice did: he sees her ticket (which he follows) and his own duplicate.
    alice_1 = await _report(kb, ALICE, "lighting", "landmark:west_entrance", 1)
    bob_dup = await _report(kb, BOB, "lighting", "landmark:west_entrance", 2)

    await ActionCheckTickets().run(
        dispatcher, make_tracker("my reports", intent="check_ticket", language="en", **BOB), {}
    )

    [text] = texts(dispatcher)
    assert alice_1 in text and bob_dup in text
    assert t("state.duplicate", "en") in text


async def test_check_tickets_without_curated_texts(kb: Database, dispatcher: CollectingDispatcher) -> None:
    await ActionCheckTickets().run(
        dispatcher, make_tracker("mes signalements", intent="check_ticket", language="fr"), {}
    )

    assert texts(dispatcher) == [f"{t('tickets.none', 'en')}\n{NOTE}"]


async def test_talk_to_human_opens_a_ticket_for_the_desk(
    kb: Database, knowledge_base: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker("我想找工作人员问问停车的事", intent="talk_to_human", message_id=9)

    events = await ActionTalkToHuman().run(dispatcher, tracker, {})

    assert events == []
    [ticket] = tickets_in(kb)
    assert texts(dispatcher) == [
        t("human.filed", "zh-Hans", ref=ticket.ref),
        t("webchat.status_link", "zh-Hans", url=link_of(kb, ticket)),
    ]
    assert ticket.category_code is None
    assert ticket.state == TicketState.DISPATCHED
    assert ticket.escalation_level == EscalationLevel.BACKBONE
    assert roster_key(ticket.owner_id, kb) in people_with_role(knowledge_base, "desk")
    assert roster_key(ticket.reporter_id, kb) == USER_KEY
    assert ticket.description == "我想找工作人员问问停车的事"
    assert ticket.source_key == "telegram:1001:9"
    with kb.session() as session:
        routed = session.scalar(select(TicketEvent).where(TicketEvent.kind == "routed"))
        assert routed is not None and routed.data["routing"]["rule"] == "desk"


async def test_talk_to_human_twice_for_the_same_message(kb: Database) -> None:
    tracker = make_tracker("a person please", intent="talk_to_human", language="en", message_id=10)

    await ActionTalkToHuman().run(CollectingDispatcher(), tracker, {})
    again = CollectingDispatcher()
    await ActionTalkToHuman().run(again, tracker, {})

    [ticket] = tickets_in(kb)
    assert texts(again) == [
        t("human.filed", "en", ref=ticket.ref),
        t("webchat.status_link", "en", url=link_of(kb, ticket)),
    ]


async def test_talk_to_human_without_curated_texts(kb: Database, dispatcher: CollectingDispatcher) -> None:
    await ActionTalkToHuman().run(
        dispatcher, make_tracker("je veux parler à quelqu'un", intent="talk_to_human", language="fr"), {}
    )

    [ticket] = tickets_in(kb)
    # The link is in English with the rest's note: never through a translation service.
    assert texts(dispatcher) == [
        f"{t('human.filed', 'en', ref=ticket.ref)}\n{NOTE}",
        t("webchat.status_link", "en", url=link_of(kb, ticket)),
    ]
    assert ticket.description_language == "fr"
    assert ticket.description_zh is None  # no translator: staff see the original


# --- no transaction open across a network call (Google Translate) ---------------------------------------


def _write_transaction_open(database: Database) -> bool:
    """Whether another connection holds a transaction now: on SQLite the write lock (a writer elsewhere
    would wait for it), on PostgreSQL any session idle in a transaction."""
    if database.is_postgres:
        with database.engine.connect() as connection:
            busy = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                )
            )
        return bool(busy)
    raw = sqlite3.connect(database.url.removeprefix("sqlite:///"), timeout=0)
    try:
        raw.execute("BEGIN IMMEDIATE")
        raw.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        raw.close()


class WatchingTranslator:
    """Translates by tagging the text, and notes at each call whether a transaction was open meanwhile."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.open_during_call: list[bool] = []

    async def translate(self, text_: str, target: str, source: str | None = None) -> Translation:
        self.open_during_call.append(_write_transaction_open(self.database))
        return Translation(f"[{target}] {text_}", source or "auto", target, "test", False)


@pytest.fixture
def watching(kb: Database) -> Iterator[WatchingTranslator]:
    translator = WatchingTranslator(kb)
    set_translator(translator)
    yield translator
    set_translator(NullTranslator())


async def test_talk_to_human_translates_with_no_transaction_open(
    kb: Database, watching: WatchingTranslator, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker("je veux parler à quelqu'un", intent="talk_to_human", language="fr", **ALICE)

    await ActionTalkToHuman().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    assert ticket.description_zh == "[zh-Hans] je veux parler à quelqu'un"
    assert watching.open_during_call and not any(watching.open_during_call)


async def test_a_report_is_filed_and_answered_with_no_transaction_open_while_translating(
    kb: Database, watching: WatchingTranslator, dispatcher: CollectingDispatcher
) -> None:
    slots = {
        "issue_category": "lighting",
        "report_location": "landmark:west_entrance",
        "description": "la lampe ne marche pas",
        "photo": "none",
        "contact": "none",
    }
    tracker = make_tracker("/deny", intent="deny", slots=slots, language="fr", **BOB)

    await ActionSubmitReport().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    assert ticket.description_zh == "[zh-Hans] la lampe ne marche pas"
    reply, link = texts(dispatcher)
    assert reply.startswith("[fr] ") and ticket.ref in reply
    assert link == t("webchat.status_link", "en", url=link_of(kb, ticket))  # never translated
    # The description for staff, and the reply to the reporter: two calls, neither inside a transaction.
    assert len(watching.open_during_call) == 2 and not any(watching.open_during_call)


async def test_check_tickets_with_a_ref_shows_that_ticket_in_full_to_its_reporter_only(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    long_text = "停车场的收费标准我看不明白，" * 100
    await ActionTalkToHuman().run(
        CollectingDispatcher(), make_tracker(long_text, intent="talk_to_human", message_id=11, **ALICE), {}
    )
    [ticket] = tickets_in(kb)
    # What a task card's "Full text" button sends.
    pressed = f'/check_ticket{{"ticket_ref":"{ticket.ref}"}}'

    await ActionCheckTickets().run(dispatcher, make_tracker(pressed, intent="check_ticket", **ALICE), {})
    other = CollectingDispatcher()
    await ActionCheckTickets().run(
        other, make_tracker(pressed, intent="check_ticket", language="en", **BOB), {}
    )

    [detail] = texts(dispatcher)
    assert ticket.ref in detail and long_text.strip() in detail
    assert texts(other) == [t("ticket.detail.not_found", "en", ref=ticket.ref)]
