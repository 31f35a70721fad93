"""Long descriptions: no message about a ticket exceeds Telegram's 4,096 characters, the full text stays in
the database and is reachable through the ticket's detail, and /tasks shows every card."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from community.database import Database
from community.i18n import t
from community.tickets import accept, resolve, set_duty
from community.tickets.views import ref_in, ticket_detail_text
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import FakeTelegram, message_update, visible_length
from tests.tickets.world import IN_M1, World, file, later, messages, ticket

LONG = ("路灯一闪一闪的，晚上走过这里很危险。" * 300)[:5000]
_TAG = re.compile(r"<[^>]+>")


def _visible(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


def _file_long(db: Database, world: World, minutes: float = 0) -> Any:
    return file(
        db,
        world,
        "alice",
        "streetlight",
        IN_M1,
        now=later(minutes),
        description=LONG,
        description_zh=LONG,
        contact="13800138000",
    ).ticket


def test_every_notification_of_a_long_report_fits_in_one_telegram_message(db: Database, world: World) -> None:
    t0 = _file_long(db, world)
    with db.session() as s:
        accept(s, t0.id, world.person(s, "v_m1_a"), 2, now=later(5))
    with db.session() as s:
        resolve(s, t0.id, world.person(s, "v_m1_a"), 3, note="已修好。" * 1200, now=later(60))
    sent = messages(db, ticket_id=t0.id)
    assert {m.kind for m in sent} >= {"ticket.task", "ticket.received", "ticket.accepted", "ticket.resolved"}
    assert all(len(_visible(m.payload["text"])) <= 4096 for m in sent)
    card = next(m.payload for m in sent if m.kind == "ticket.task")
    assert LONG[:200] in card["text"] and LONG not in card["text"]
    assert t("ticket.label.shortened", "zh-Hans", length=5000) in card["text"]
    full_text = card["buttons"][-1][0]
    assert full_text["text"] == t("ticket.button.full_text", "zh-Hans")
    assert len(full_text["callback_data"].encode()) <= 64
    # The button asks for the ticket's detail by its ref; the database keeps every character.
    assert ref_in(full_text["callback_data"]) == t0.ref
    assert ticket(db, t0.id).description == LONG


def test_the_detail_shows_the_full_text_to_those_who_may_see_it(db: Database, world: World) -> None:
    t0 = _file_long(db, world)
    with db.session() as s:
        owner = ticket_detail_text(s, t0.ref, world.person(s, "v_m1_a"), "zh-Hans")
        reporter = ticket_detail_text(s, t0.ref.lower(), world.person(s, "alice"), "en")
        stranger = ticket_detail_text(s, t0.ref, world.person(s, "kim"), "ko")
        other_volunteer = ticket_detail_text(s, t0.ref, world.person(s, "v_m3"), "zh-Hans")
    assert LONG in owner and "13800138000" in owner  # the holder sees the contact
    assert LONG in reporter and t0.ref in reporter
    assert stranger == t("ticket.detail.not_found", "ko", ref=t0.ref)
    assert other_volunteer == t("ticket.detail.not_found", "zh-Hans", ref=t0.ref)


# --- /tasks through the real Application ---------------------------------------------------------------


@pytest.fixture
async def application(db: Database) -> AsyncIterator[Application]:
    """The real Application with Telegram faked; no Rasa (staff commands do not need it)."""
    async with application_without_rasa(db, rate_limiter=False) as app:
        yield app


async def test_tasks_shows_every_card_when_one_description_is_5000_characters(
    db: Database, world: World, application: Application
) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]
    with db.session() as s:
        set_duty(s, world.person(s, "v_m1_b"), False)  # every ticket goes to v_m1_a
    long_one = _file_long(db, world)  # the earliest deadline: the first card of the list
    others = [
        file(db, world, "sato", "streetlight", IN_M1, now=later(150 * n), description=f"lamp {n}").ticket
        for n in (1, 2)
    ]
    assert {ticket(db, x.id).owner_id for x in [long_one, *others]} == {world.id("v_m1_a")}
    chat = 1001  # v_m1_a's Telegram id in the world

    await application.process_update(Update.de_json(message_update(chat, "/tasks"), application.bot))

    assert telegram.refused == []
    cards = [c for c in telegram.to(chat, "sendMessage") if c.buttons()]
    assert [ref_in(c.text) for c in cards] == [x.ref for x in [long_one, *others]]
    assert all(visible_length(c) <= 4096 for c in cards)
