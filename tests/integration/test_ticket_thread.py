"""The conversation on a ticket through the real telegram.ext.Application, the outbox relay and googletrans'
real code (only Google's HTTP is fake, tests/language/test_translate.py), on SQLite and PostgreSQL.

An English-speaking tourist's broken lamp: the volunteer (Chinese) asks a question, the tourist answers with
a photo, the volunteer resolves with a canned note. The tourist reads every staff message in English, the
volunteer every tourist message in Chinese with the original kept.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.telegram.jobs import relay_once
from community.database import Database, utcnow
from community.i18n import t
from community.language.service import DatabaseTranslationCache, set_translator
from community.language.translate import CachedTranslator, GoogleTranslator
from community.people.models import Person
from community.tickets.duty import set_duty
from community.tickets.models import IssueCategory, Ticket, TicketState
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import BOT_USER, FakeTelegram, callback_update, message_update
from tests.language.test_translate import FakeGoogle
from tests.tickets.world import IN_M1, World, build_world, events, file, ticket

S = TicketState
HAN = re.compile(r"[\u4e00-\u9fff]")
# Telegram ids of this file's people (the thread helper's range).
ALICE, WANG, SATO, ZHANG, GRID_MEMBER = 804_000_001, 804_000_002, 804_000_003, 804_000_004, 804_000_005
IDS = {"alice": ALICE, "v_m1_a": WANG, "sato": SATO, "zhang": ZHANG, "gm_g1": GRID_MEMBER}

QUESTION = "是哪一盏灯？是塔旁边那盏吗？"
QUESTION_EN = "Which lamp? The one by the pagoda?"
ANSWER = "Yes, the one next to the pagoda. It is worse now."
ANSWER_ZH = "是的，就是塔旁边那盏。现在更糟了。"


@pytest.fixture
def world(db: Database) -> World:
    world = build_world(db)
    with db.session() as s:
        for key, telegram_id in IDS.items():
            person = world.person(s, key)
            person.telegram_id, person.chat_id = telegram_id, str(telegram_id)
        s.add(
            IssueCategory(
                code="lighting",
                names={"zh-Hans": "照明故障", "en": "Broken lighting", "ja": "照明の故障"},
                keywords={},
                skill="electric",
                urgency="normal",
                emergency=False,
                accept_sla_minutes=120,
                resolve_sla_minutes=1440,
                active=True,
            )
        )
        set_duty(s, world.person(s, "v_m1_b"), False)  # every lamp in M1 goes to Wang Fang
    return world


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle({QUESTION: (QUESTION_EN, "zh-CN"), ANSWER: (ANSWER_ZH, "en")})


@pytest.fixture
async def application(db: Database, google: FakeGoogle) -> AsyncIterator[Application]:
    backend = GoogleTranslator(transport=google.transport())
    set_translator(CachedTranslator(backend, DatabaseTranslationCache(db)))
    try:
        async with application_without_rasa(db, rate_limiter=False) as app:
            yield app
    finally:
        set_translator(None)
        await backend.aclose()


async def _feed(app: Application, data: dict[str, Any]) -> None:
    await app.process_update(Update.de_json(data, app.bot))


async def press(app: Application, user: int, data: str) -> None:
    await _feed(app, callback_update(user, data))


async def say(
    app: Application, user: int, text: str | None, *, photo: str | None = None, reply_to: str | None = None
) -> None:
    update = message_update(user, text, photo=photo)
    if reply_to is not None:  # Telegram's reply: the message replied to comes along
        update["message"]["reply_to_message"] = {
            "message_id": 1,
            "date": update["message"]["date"],
            "chat": update["message"]["chat"],
            "from": BOT_USER,
            "text": reply_to,
        }
    await _feed(app, update)


async def relay(app: Application, db: Database) -> None:
    await relay_once(app.bot, db)


def _tg(app: Application) -> FakeTelegram:
    return app.bot_data["telegram"]


def _since(app: Application, chat: int, mark: int) -> list[str]:
    return [c.text for c in _tg(app).calls[mark:] if c.chat_id == chat and c.text]


def _buttons(app: Application, chat: int) -> list[str]:
    return [b["callback_data"] for c in _tg(app).to(chat) for b in c.buttons() if "callback_data" in b]


def _lamp(db: Database, world: World) -> Ticket:
    return file(
        db,
        world,
        "alice",
        "lighting",
        IN_M1,
        now=utcnow(),
        description="The street lamp is broken, it is very dark",
        description_language="en",
        description_zh="路灯坏了，很黑",
    ).ticket


@pytest.fixture
def lamp(db: Database, world: World) -> Iterator[Ticket]:
    yield _lamp(db, world)


async def _accepted(app: Application, db: Database, lamp: Ticket) -> None:
    await press(app, WANG, f"tk:acc:{lamp.id}:{ticket(db, lamp.id).version}")
    await relay(app, db)
    assert ticket(db, lamp.id).state == S.ACCEPTED


async def test_a_tourist_and_a_volunteer_talk_each_in_their_own_language(
    db: Database, world: World, application: Application, google: FakeGoogle, lamp: Ticket
) -> None:
    app = application
    await relay(app, db)
    await _accepted(app, db, lamp)
    start = len(_tg(app).calls)

    # The volunteer asks; the ticket waits with its clock paused.
    await press(app, WANG, f"th:ask:{lamp.id}")
    assert _since(app, WANG, start)[-1] == t("thread.prompt.ask", "zh-Hans")
    await say(app, WANG, QUESTION)
    assert _since(app, WANG, start)[-1] == t("thread.sent.question", "zh-Hans", ref=lamp.ref)
    waiting = ticket(db, lamp.id)
    assert waiting.state == S.WAITING
    await relay(app, db)
    question = _since(app, ALICE, start)[-1]
    assert QUESTION_EN in question and t("thread.note.machine", "en") in question

    # The tourist answers by replying to the question, with a photo: the ticket resumes, the deadline moved.
    await say(app, ALICE, ANSWER, photo="ph-lamp", reply_to=question)
    assert _since(app, ALICE, start)[-1] == t("thread.sent.answer", "en", ref=lamp.ref)
    resumed = ticket(db, lamp.id)
    assert resumed.state == S.ACCEPTED and resumed.due_at is not None and waiting.due_at is not None
    assert resumed.due_at > waiting.due_at and resumed.photo_file_ids == ["ph-lamp"]
    await relay(app, db)
    to_wang = [c for c in _tg(app).calls[start:] if c.chat_id == WANG]
    assert any(c.method == "sendPhoto" and c.params.get("photo") == "ph-lamp" for c in to_wang)
    answer = next(c.text for c in to_wang if ANSWER_ZH in c.text)
    assert f"{t('thread.label.original', 'zh-Hans')}: {ANSWER}" in answer

    # The task card tells the story: the question, the answer in Chinese with its original, the photo.
    await say(app, WANG, "/tasks")
    card = _tg(app).texts_to(WANG)[-1]
    assert QUESTION in card and ANSWER_ZH in card and ANSWER in card and "📷×1" in card

    # Resolve: the category's canned notes come with one tap; the tourist reads the curated English text.
    google_calls = len(google.translate_requests)
    version = ticket(db, lamp.id).version
    await press(app, WANG, f"tk:res:{lamp.id}:{version}")
    canned = f"th:cr:{lamp.id}:{version}:lamp_fixed"
    assert canned in _buttons(app, WANG)
    await press(app, WANG, canned)
    assert ticket(db, lamp.id).state == S.RESOLVED
    await relay(app, db)
    resolved = _since(app, ALICE, start)[-1]
    assert "The light has been repaired and is working again." in resolved
    assert len(google.translate_requests) == google_calls  # curated: no machine translation

    # Every staff message the tourist read was in English; the volunteer's Chinese never reached her.
    assert all(not HAN.search(text) for text in _tg(app).texts_to(ALICE))


async def test_google_unreachable_gives_the_original_with_a_note_in_the_readers_language(
    db: Database, world: World, application: Application, google: FakeGoogle, lamp: Ticket
) -> None:
    app = application
    await _accepted(app, db, lamp)
    google.status = 503
    await press(app, WANG, f"th:msg:{lamp.id}")
    await say(app, WANG, "师傅明天上午来修")
    await relay(app, db)
    told = _tg(app).texts_to(ALICE)[-1]
    assert "师傅明天上午来修" in told and t("thread.note.untranslated", "en") in told
    event = events(db, lamp.id)[-1]
    assert (event.kind, event.data["untranslated"], event.data["translations"]) == ("message", ["en"], {})


async def test_a_reporter_adds_a_detail_to_one_ticket_and_cancels_another_and_the_holder_is_told(
    db: Database, world: World, application: Application
) -> None:
    app = application
    first = file(db, world, "zhang", "streetlight", IN_M1, now=utcnow(), description="路灯不亮").ticket
    second = file(db, world, "zhang", "litter", IN_M1, now=utcnow(), description="垃圾堆着").ticket
    holders = {x.id: ticket(db, x.id).owner_id for x in (first, second)}
    assert None not in holders.values()
    with db.session() as s:
        chats = {tid: int(s.get(Person, pid).chat_id) for tid, pid in holders.items()}  # type: ignore[union-attr,arg-type]
    await relay(app, db)
    start = len(_tg(app).calls)

    # /mytickets offers each open report with Reply / add details and Cancel.
    await say(app, ZHANG, "/mytickets")
    offered = _buttons(app, ZHANG)
    assert {f"th:add:{first.id}", f"th:can:{first.id}", f"th:add:{second.id}", f"th:can:{second.id}"} <= set(
        offered
    )

    await press(app, ZHANG, f"th:add:{first.id}")
    await say(app, ZHANG, "现在一闪一闪的，更危险了")
    assert _since(app, ZHANG, start)[-1] == t("thread.sent.reporter", "zh-Hans", ref=first.ref)
    # … and where exactly, by replying to the bot's message about the ticket with a location.
    spot = (IN_M1[0] + 0.0001, IN_M1[1] + 0.0001)
    location = message_update(ZHANG, None, location=spot)
    location["message"]["reply_to_message"] = {
        "message_id": 1,
        "date": location["message"]["date"],
        "chat": location["message"]["chat"],
        "from": BOT_USER,
        "text": _since(app, ZHANG, start)[-1],
    }
    await _feed(app, location)
    assert _since(app, ZHANG, start)[-1] == t("thread.sent.reporter", "zh-Hans", ref=first.ref)
    await press(app, ZHANG, f"th:can:{second.id}")
    confirm = f"th:cy:{second.id}:{ticket(db, second.id).version}"
    assert confirm in _buttons(app, ZHANG)
    await press(app, ZHANG, confirm)
    assert ticket(db, second.id).state == S.CANCELLED
    assert _since(app, ZHANG, start)[-1] == t("thread.cancel.done", "zh-Hans", ref=second.ref)
    await relay(app, db)

    detail = [x for x in _since(app, chats[first.id], start) if "现在一闪一闪的，更危险了" in x]
    assert len(detail) == 1 and first.ref in detail[0]
    [where] = [
        c for c in _tg(app).calls[start:] if c.chat_id == chats[first.id] and c.method == "sendLocation"
    ]
    assert (float(where.params["latitude"]), float(where.params["longitude"])) == spot
    cancelled = [x for x in _since(app, chats[second.id], start) if second.ref in x]
    assert len(cancelled) == 1 and "已撤销" in cancelled[0]
    assert ticket(db, first.id).state == S.DISPATCHED  # a detail changes nothing but the story


async def test_a_follower_gets_the_public_updates_in_their_language(
    db: Database, world: World, application: Application, google: FakeGoogle, lamp: Ticket
) -> None:
    app = application
    near = (IN_M1[0] + 0.00027, IN_M1[1])
    assert file(db, world, "sato", "lighting", near, now=utcnow()).duplicate_of is not None
    await _accepted(app, db, lamp)
    start = len(_tg(app).calls)
    google_calls = len(google.translate_requests)

    await press(app, WANG, f"th:ask:{lamp.id}")  # a question is for the reporter only
    await say(app, WANG, QUESTION)
    await press(app, WANG, f"th:cn:{lamp.id}")
    await press(app, WANG, f"th:cp:{lamp.id}:on_our_way")
    await relay(app, db)

    to_sato = _since(app, SATO, start)
    assert len(to_sato) == 1 and "報告を受け取りました。担当者が現場に向かっています。" in to_sato[0]
    assert "We have your report; someone is on the way." in _since(app, ALICE, start)[-1]
    assert len(google.translate_requests) == google_calls + 1  # the question only; the canned note none


async def test_staff_keep_a_typed_note_as_a_template_and_use_it_with_one_tap(
    db: Database, world: World, application: Application, google: FakeGoogle, lamp: Ticket
) -> None:
    app = application
    await _accepted(app, db, lamp)
    await press(app, WANG, f"th:msg:{lamp.id}")
    await say(app, WANG, "电工下午两点到")
    keep = f"th:sv:{lamp.id}:progress"
    assert keep in _buttons(app, WANG)
    await press(app, WANG, keep)
    assert _tg(app).texts_to(WANG)[-1] == t("thread.saved", "zh-Hans")
    asked = len(google.translate_requests)

    version = ticket(db, lamp.id).version
    await press(app, WANG, f"th:cr:{lamp.id}:{version}:lamp_fixed")  # resolved: the next lamp is a new one
    second = file(db, world, "alice", "lighting", IN_M1, now=utcnow()).ticket
    await _accepted(app, db, second)
    await press(app, WANG, f"th:cn:{second.id}")
    template = next(b for b in _buttons(app, WANG) if b.startswith(f"th:cp:{second.id}:staff_"))
    start = len(_tg(app).calls)
    await press(app, WANG, template)
    await relay(app, db)
    told = _since(app, ALICE, start)[-1]
    assert second.ref in told and "[en] 电工下午两点到" in told  # machine-translated once, then cached
    assert len(google.translate_requests) == asked


async def test_a_foreign_or_tampered_button_does_nothing_and_says_so(
    db: Database, world: World, application: Application, lamp: Ticket
) -> None:
    app = application
    await _accepted(app, db, lamp)
    before = len(events(db, lamp.id))
    await press(app, SATO, f"th:ask:{lamp.id}")  # not her ticket
    await press(app, SATO, f"th:cy:{lamp.id}:{ticket(db, lamp.id).version}")  # nor hers to cancel
    await press(app, WANG, "th:cp:999999:on_our_way")  # no such ticket
    await press(app, WANG, f"th:cp:{lamp.id}:no_such_note")
    await press(app, WANG, "th:ask:1:2:3:4")  # not our format
    alerts = [c for c in _tg(app).calls if c.method == "answerCallbackQuery"][-5:]
    assert all(c.params.get("show_alert") for c in alerts) and all(c.params.get("text") for c in alerts)
    assert len(events(db, lamp.id)) == before and ticket(db, lamp.id).state == S.ACCEPTED
    await say(app, SATO, "hello")  # no pending message for her: an ordinary message
    assert len(events(db, lamp.id)) == before
