"""The Telegram front end end to end: update JSON → the real Application → the real Rasa server and action
server → the database → the Bot API calls the bot makes (recorded by FakeTelegram).

Each test uses Telegram user ids of its own (Rasa keeps a conversation per sender). Expected values (the
nearest toilet, the volunteer a report goes to) are worked out here from knowledge/*.yml by hand, not with the
functions the assistant uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import math
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy import select
from telegram.ext import Application

from bot.pipeline import Assistant
from bot.rasa_client import RasaClient
from bot.telegram.app import webhook_options
from bot.telegram.jobs import relay_once
from community.breaker import CircuitBreaker
from community.database import utcnow
from community.i18n import t
from community.language.service import set_translator
from community.language.translate import Translation
from community.outbox.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from community.people.models import Person
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT
from community.tickets.clock_notices import when
from community.tickets.escalation import escalate_overdue
from community.tickets.models import Rating, Ticket, TicketEvent
from community.tickets.names import name_for_reporters
from community.tickets.service import file_report
from tests.integration.conftest import Stack, feed, free_port
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

pytestmark = pytest.mark.rasa

_users = itertools.count(620_000_001)
KNOWLEDGE = PROJECT_ROOT / "knowledge"
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- the knowledge base, read the way a person would read it ------------------------------------------------


def knowledge(name: str) -> Any:
    return yaml.safe_load((KNOWLEDGE / f"{name}.yml").read_text(encoding="utf-8"))


def landmark(code: str) -> dict[str, Any]:
    return next(lm for lm in knowledge("grids")["landmarks"] if lm["id"] == code)


def category(code: str) -> dict[str, Any]:
    return next(c for c in knowledge("categories")["categories"] if c["id"] == code)


def volunteers_for(micro_grid: str, skill: str) -> list[dict[str, Any]]:
    """On-duty volunteers of a micro-grid with a skill, straight from roster.yml."""
    return [
        p
        for p in knowledge("roster")["people"]
        if p.get("on_duty")
        and {"role": "volunteer", "grid": micro_grid} in p["roles"]
        and skill in (p.get("skills") or [])
    ]


def roster_with_role(role: str, grid: str) -> list[dict[str, Any]]:
    return [p for p in knowledge("roster")["people"] if {"role": role, "grid": grid} in p["roles"]]


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: plenty for a street a kilometre long."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)


def open_at(hours: Any, moment: datetime) -> bool:
    """The YAML's opening hours at a local moment ("24h", or days with open/close; 24:00 is midnight)."""
    if hours == "24h":
        return True
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[moment.weekday()]
    yesterday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(moment.weekday() - 1) % 7]
    minute = moment.hour * 60 + moment.minute
    for span in hours:
        start = int(span["open"][:2]) * 60 + int(span["open"][3:])
        end = int(span["close"][:2]) * 60 + int(span["close"][3:])
        if start < end and day in span["days"] and start <= minute < end:
            return True
        if end <= start and (
            (day in span["days"] and minute >= start) or (yesterday in span["days"] and minute < end)
        ):
            return True
    return False


# --- the database, as the tests look at it ------------------------------------------------------------------


def person(stack: Stack, telegram_id: int) -> Person:
    with stack.database.session() as session:
        found = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        assert found is not None, f"nobody with telegram id {telegram_id}"
        return found


def tickets_of(stack: Stack, telegram_id: int) -> list[Ticket]:
    with stack.database.session() as session:
        reporter = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        if reporter is None:
            return []
        return list(
            session.scalars(select(Ticket).where(Ticket.reporter_id == reporter.id).order_by(Ticket.id))
        )


def ticket(stack: Stack, ticket_id: int) -> Ticket:
    with stack.database.session() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def events(stack: Stack, ticket_id: int) -> list[TicketEvent]:
    with stack.database.session() as session:
        return list(
            session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
            )
        )


def outbox_for(stack: Stack, person_id: int, ticket_id: int | None = None) -> list[OutboxMessage]:
    with stack.database.session() as session:
        query = select(OutboxMessage).where(OutboxMessage.recipient_id == person_id)
        if ticket_id is not None:
            query = query.where(OutboxMessage.ticket_id == ticket_id)
        return list(session.scalars(query.order_by(OutboxMessage.created_at, OutboxMessage.id)))


def file_directly(
    stack: Stack, reporter_tg: int, category_code: str, where: tuple[float, float], description: str
) -> Ticket:
    """A report filed through the domain (for tests about what happens after filing)."""
    with stack.database.session() as session:
        reporter = get_or_create_person(
            session, f"telegram:{reporter_tg}", telegram_id=reporter_tg, chat_id=str(reporter_tg)
        )
        result = file_report(
            session,
            reporter=reporter,
            category_code=category_code,
            lat=where[0],
            lon=where[1],
            description=description,
            now=utcnow(),
        )
        assert result.duplicate_of is None, "a test report was linked to an older one: move it"
        return result.ticket


async def relay(app: Application, stack: Stack, at: datetime | None = None) -> dict[str, int]:
    """Relay passes until nothing due is left (each pass takes at most a batch); `at` fakes the clock."""
    total = {"sent": 0, "failed": 0, "blocked": 0}
    while True:
        counts = await relay_once(app.bot, stack.database, clock=(lambda: at) if at else utcnow)
        for key, value in counts.items():
            total[key] += value
        if not any(counts.values()):
            return total


# --- what the bot sent --------------------------------------------------------------------------------------


def callback_data(call: Call) -> list[str]:
    return [b["callback_data"] for b in call.buttons() if "callback_data" in b]


def find_button(calls: list[Call], prefix: str) -> str:
    """The callback data of the latest button starting with `prefix`."""
    for call in reversed(calls):
        for data in callback_data(call):
            if data.startswith(prefix):
                return data
    raise AssertionError(
        f"no button {prefix}… in {[(c.method, c.text[:60], callback_data(c)) for c in calls]}"
    )


def plain(text: str) -> str:
    """A sent HTML text as the reader sees it."""
    return html.unescape(text)


def transcript(telegram: FakeTelegram, chat: int) -> str:
    return "\n".join(f"{c.method}: {c.text[:120]!r} {callback_data(c)}" for c in telegram.to(chat))


# --- 1. FAQ in Japanese -------------------------------------------------------------------------------------


async def test_a_tourist_asking_an_faq_in_japanese_gets_the_curated_japanese_answer(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    tourist = next(_users)
    expected = next(e for e in knowledge("faq")["faq"] if e["id"] == "opening_hours")["answers"]["ja"]
    # The Telegram client says English: the language comes from what was written.
    await feed(application, message_update(tourist, "開館時間は何時ですか", language_code="en"))
    sent = telegram.to(tourist, "sendMessage")
    assert [plain(c.text) for c in sent] == [expected], transcript(telegram, tourist)
    assert sent[0].params["parse_mode"] == "HTML"
    assert person(stack, tourist).preferred_language == "ja"


# --- 2. the nearest toilet from a shared location -----------------------------------------------------------


async def test_a_shared_location_and_a_question_give_the_nearest_open_toilet_as_a_venue(
    application: Application, telegram: FakeTelegram
) -> None:
    tourist = next(_users)
    here = landmark("daidu_pavilion")["location"]  # between two toilets, 20 m nearer one than the other
    now = datetime.now(SHANGHAI)
    toilets = [p for p in knowledge("service_points")["service_points"] if p["type"] == "toilet"]
    ranked = sorted(
        (p for p in toilets if open_at(p["opening_hours"], now)),
        key=lambda p: metres(here["lat"], here["lon"], p["location"]["lat"], p["location"]["lon"]),
    )
    expected = ranked[0]

    await feed(application, message_update(tourist, location=(here["lat"], here["lon"]), language_code="en"))
    # A location without a question: the bot asks what to look for (a search starts from here).
    assert find_button(telegram.to(tourist), 'r:/find_service{"service_type": "toilet"}')
    telegram.clear()

    await feed(application, message_update(tourist, "Where is the nearest toilet?", language_code="en"))
    venues = telegram.to(tourist, "sendVenue")
    assert venues, transcript(telegram, tourist)
    first = venues[0].params
    assert first["title"] == expected["names"]["en"]
    assert (float(first["latitude"]), float(first["longitude"])) == (
        expected["location"]["lat"],
        expected["location"]["lon"],
    )
    assert first["address"].startswith(expected["address"]["en"])
    # The other venues are the next nearest open toilets, in order.
    assert [v.params["title"] for v in venues] == [p["names"]["en"] for p in ranked[: len(venues)]]


# --- 3. a report, from the first message to the rating ------------------------------------------------------


async def test_a_resident_reports_a_broken_street_light_and_the_loop_closes(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    reporter = next(_users)
    spot = landmark("west_entrance")
    where = (spot["location"]["lat"], spot["location"]["lon"])
    candidates = volunteers_for(spot["micro_grid"], category("lighting")["skill"])
    assert candidates, "roster.yml has no on-duty electrician at the West Entrance"

    # 路灯坏了 → the category comes from the message (or, failing that, from the category buttons).
    await feed(application, message_update(reporter, "路灯坏了", language_code="zh-hans"))
    asked = telegram.to(reporter, "sendMessage")
    category_buttons = [d for c in asked for d in callback_data(c) if "issue_category" in d]
    if category_buttons:
        [pick] = [d for d in category_buttons if '"lighting"' in d]
        await feed(application, callback_update(reporter, pick))
        asked = telegram.to(reporter, "sendMessage")
    location_requests = [c for c in asked if any(b.get("request_location") for b in c.buttons())]
    assert location_requests, transcript(telegram, reporter)

    telegram.clear()
    await feed(application, message_update(reporter, location=where))
    assert plain(telegram.texts_to(reporter)[-1]) == t("report.ask_description", "zh-Hans"), transcript(
        telegram, reporter
    )

    telegram.clear()
    await feed(application, message_update(reporter, "西入口牌坊旁边的路灯不亮了，晚上很黑"))
    assert plain(telegram.texts_to(reporter)[-1]) == t("report.ask_photo", "zh-Hans"), transcript(
        telegram, reporter
    )

    telegram.clear()
    await feed(application, message_update(reporter, photo="photo-of-the-lamp"))
    ask_contact = telegram.to(reporter, "sendMessage")
    assert plain(ask_contact[-1].text) == t("report.ask_contact", "zh-Hans"), transcript(telegram, reporter)
    skip = find_button(ask_contact, "r:")

    telegram.clear()
    await feed(application, callback_update(reporter, skip))
    [filed] = tickets_of(stack, reporter)
    # Routed to an on-duty electrician of the micro-grid (the least busy one, if there are several).
    owners = {c["telegram_id"]: c for c in candidates if person(stack, c["telegram_id"]).id == filed.owner_id}
    assert len(owners) == 1, f"owner {filed.owner_id} is none of {[c['id'] for c in candidates]}"
    [(volunteer, on_duty)] = owners.items()
    volunteer_person = person(stack, volunteer)
    spoken = on_duty["language"]  # staff read their cards in their own language (roster.yml)
    assert filed.category_code == "lighting"
    assert filed.micro_grid_code == spot["micro_grid"]
    assert (filed.lat, filed.lon) == pytest.approx(where)
    assert filed.photo_file_ids == ["photo-of-the-lamp"]
    assert filed.contact is None
    assert filed.description == "西入口牌坊旁边的路灯不亮了，晚上很黑"
    assert filed.state == "dispatched"
    assert filed.owner_id == volunteer_person.id
    assert any(filed.ref in text for text in telegram.texts_to(reporter)), transcript(telegram, reporter)

    # The relay: the volunteer gets the photo, the place and the task with Accept / Can't take.
    telegram.clear()
    await relay(application, stack)
    to_volunteer = telegram.to(volunteer)
    assert [c.method for c in to_volunteer] == ["sendPhoto", "sendVenue", "sendMessage"], transcript(
        telegram, volunteer
    )
    assert to_volunteer[0].params["photo"] == "photo-of-the-lamp"
    assert (float(to_volunteer[1].params["latitude"]), float(to_volunteer[1].params["longitude"])) == (
        pytest.approx(where)
    )
    task = to_volunteer[2]
    assert filed.ref in task.text
    assert [b["text"] for b in task.buttons()] == [
        t("ticket.button.accept", spoken),
        t("ticket.button.decline", spoken),
    ]
    accept_data = f"tk:acc:{filed.id}:{filed.version}"
    assert callback_data(task) == [accept_data, f"tk:dec:{filed.id}:{filed.version}"]
    assert any(filed.ref in text for text in telegram.texts_to(reporter)), "the reporter heard nothing"

    # The volunteer accepts; the reporter is told who has it.
    telegram.clear()
    await feed(application, callback_update(volunteer, accept_data, name=on_duty["name"]))
    [answer] = [c for c in telegram.calls if c.method == "answerCallbackQuery"]
    assert answer.text == t("staff.accepted", spoken, ref=filed.ref)
    assert not answer.params.get("show_alert")
    assert ticket(stack, filed.id).state == "accepted"
    await relay(application, stack)
    told = [plain(x) for x in telegram.texts_to(reporter)]
    # The reporter learns the volunteer's surname with a form of address ("周师傅"), not the full name.
    surname = name_for_reporters(volunteer_person, "zh-Hans")
    # … and, on the last line, when to expect a fix (the resolve deadline, in working hours for lighting).
    due = ticket(stack, filed.id).due_at
    assert due is not None
    expected = t("clock.reporter.expected", "zh-Hans", when=when(due, "zh-Hans"))
    assert told == [
        plain(t("ticket.reporter.accepted", "zh-Hans", name=surname, ref=filed.ref) + "\n" + expected)
    ]
    assert on_duty["name"] not in told[0]
    # The volunteer's card for the accepted task (Resolve / Escalate) arrives once.
    cards = [c for c in telegram.to(volunteer, "sendMessage") if c.buttons()]
    assert len(cards) == 1, transcript(telegram, volunteer)
    resolve_data = find_button(cards, "tk:res:")

    # Resolve, with a note.
    telegram.clear()
    await feed(application, callback_update(volunteer, resolve_data, name=on_duty["name"]))
    assert telegram.texts_to(volunteer) == [t("staff.ask_note", spoken)]
    await feed(application, message_update(volunteer, "已更换灯泡，恢复照明", name=on_duty["name"]))
    assert telegram.texts_to(volunteer)[-1] == t("staff.resolved", spoken, ref=filed.ref)
    assert ticket(stack, filed.id).state == "resolved"

    # The reporter is asked to rate: 1–5 and Not fixed.
    telegram.clear()
    await relay(application, stack)
    [resolved_note] = [c for c in telegram.to(reporter, "sendMessage") if c.buttons()]
    assert "已更换灯泡，恢复照明" in resolved_note.text
    assert callback_data(resolved_note) == [f"rt:{filed.id}:{n}" for n in range(1, 6)] + [f"rt:{filed.id}:nf"]

    telegram.clear()
    await feed(application, callback_update(reporter, f"rt:{filed.id}:5"))
    [thanks] = [c for c in telegram.calls if c.method == "answerCallbackQuery"]
    assert thanks.text == t("rating.thanks", "zh-Hans", score=5)
    closed = ticket(stack, filed.id)
    assert closed.state == "closed"
    assert closed.closed_at is not None
    with stack.database.session() as session:
        ratings = list(session.scalars(select(Rating).where(Rating.ticket_id == filed.id)))
    assert [(r.score, r.not_fixed) for r in ratings] == [(5, False)]
    history = events(stack, filed.id)
    assert [e.kind for e in history] == ["created", "routed", "accepted", "resolved", "rated"]
    assert [e.to_state for e in history] == ["new", "dispatched", "accepted", "resolved", "closed"]
    assert [e.actor_id for e in history[2:4]] == [volunteer_person.id] * 2
    assert history[-1].actor_id == history[0].actor_id  # the reporter rated

    # Everyone hears that it is closed, once.
    await relay(application, stack)
    assert telegram.texts_to(reporter) == [t("ticket.reporter.closed", "zh-Hans", ref=filed.ref)], transcript(
        telegram, reporter
    )
    assert telegram.texts_to(volunteer) == [t("ticket.staff.closed", spoken, ref=filed.ref, score="5")], (
        transcript(telegram, volunteer)
    )


# --- 4. two people press Accept at the same moment ----------------------------------------------------------


async def test_two_volunteers_pressing_accept_at_once_one_wins_and_the_other_is_told_who(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    reporter = next(_users)
    spot = landmark("love_station")
    first_aiders = volunteers_for(spot["micro_grid"], category("first_aid")["skill"])
    assert len(first_aiders) >= 2, "roster.yml no longer has two first-aiders at the Love Station"
    # An emergency alerts every level at once, so both volunteers hold an Accept button.
    filed = file_directly(
        stack, reporter, "first_aid", (spot["location"]["lat"], spot["location"]["lon"]), "有人晕倒了"
    )
    await relay(application, stack)
    a, b = first_aiders[:2]
    data_a = find_button(telegram.to(a["telegram_id"]), f"tk:acc:{filed.id}:")
    data_b = find_button(telegram.to(b["telegram_id"]), f"tk:acc:{filed.id}:")
    assert data_a == data_b  # the same ticket version on both cards

    telegram.clear()
    await asyncio.gather(
        feed(application, callback_update(a["telegram_id"], data_a, name=a["name"])),
        feed(application, callback_update(b["telegram_id"], data_b, name=b["name"])),
    )
    accepted = ticket(stack, filed.id)
    assert accepted.state == "accepted"
    winner, loser = (a, b) if accepted.owner_id == person(stack, a["telegram_id"]).id else (b, a)
    assert accepted.owner_id == person(stack, winner["telegram_id"]).id
    assert [e.kind for e in events(stack, filed.id)].count("accepted") == 1

    answers = {c.params["callback_query_id"]: c for c in telegram.calls if c.method == "answerCallbackQuery"}
    assert len(answers) == 2
    alerts = [c for c in answers.values() if c.params.get("show_alert")]
    toasts = [c for c in answers.values() if not c.params.get("show_alert")]
    # Each in their own language (roster.yml).
    assert [c.text for c in toasts] == [t("staff.accepted", winner["language"], ref=filed.ref)]
    assert [c.text for c in alerts] == [
        t("ticket.error.taken", loser["language"], ref=filed.ref, name=winner["name"])
    ]
    # The loser's stale buttons are removed.
    assert any(c.method == "editMessageReplyMarkup" for c in telegram.calls)

    # The loser (and the other people alerted) are told who has it.
    telegram.clear()
    await relay(application, stack)
    assert any(winner["name"] in x for x in telegram.texts_to(loser["telegram_id"])), transcript(
        telegram, loser["telegram_id"]
    )


# --- 5. the same update twice -------------------------------------------------------------------------------


async def test_an_update_delivered_twice_is_processed_once(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    reporter = next(_users)
    spot = landmark("east_entrance")

    first = message_update(reporter, "路灯坏了", language_code="zh-hans")
    await feed(application, first)
    replies = len(telegram.to(reporter))
    await feed(application, first)  # a webhook retry of the same update
    assert len(telegram.to(reporter)) == replies, transcript(telegram, reporter)

    asked = telegram.to(reporter, "sendMessage")
    category_buttons = [d for c in asked for d in callback_data(c) if '"lighting"' in d]
    if category_buttons:
        await feed(application, callback_update(reporter, category_buttons[0]))
    await feed(
        application, message_update(reporter, location=(spot["location"]["lat"], spot["location"]["lon"]))
    )
    await feed(application, message_update(reporter, "东入口的路灯一闪一闪的"))
    photo = telegram.to(reporter, "sendMessage")
    await feed(application, callback_update(reporter, find_button(photo, "r:")))  # no photo: Skip
    contact = telegram.to(reporter, "sendMessage")
    assert plain(contact[-1].text) == t("report.ask_contact", "zh-Hans"), transcript(telegram, reporter)

    telegram.clear()
    skip = callback_update(reporter, find_button(contact, "r:"))
    # Delivered twice, the second while the first is still being handled.
    await asyncio.gather(feed(application, skip), feed(application, skip))
    [filed] = tickets_of(stack, reporter)
    assert filed.category_code == "lighting"
    sent = telegram.to(reporter, "sendMessage")
    # Once: the confirmation and the status page's link, not twice each.
    assert len(sent) == 2, transcript(telegram, reporter)
    assert filed.ref in sent[0].text and f"/status/{filed.ref}?t=" in sent[1].text
    assert len([c for c in telegram.calls if c.method == "answerCallbackQuery"]) == 1
    with stack.database.session() as session:
        seen = session.scalars(
            select(ProcessedUpdate).where(ProcessedUpdate.update_id == skip["update_id"])
        ).all()
    assert len(seen) == 1
    await relay(application, stack)


# --- 6. escalation after the SLA ----------------------------------------------------------------------------


async def test_an_overdue_ticket_goes_up_to_the_grid_member_and_the_volunteer_is_kept_informed(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    reporter = next(_users)
    spot = landmark("yingjiang_road")
    hazard = category("safety_hazard")
    candidates = volunteers_for(spot["micro_grid"], hazard["skill"])
    grid = next(
        g["id"]
        for g in knowledge("grids")["grids"]
        if any(m["id"] == spot["micro_grid"] for m in g["micro_grids"])
    )
    [member] = roster_with_role("grid_member", grid)

    filed = file_directly(
        stack, reporter, "safety_hazard", (spot["location"]["lat"], spot["location"]["lon"]), "护栏松动了"
    )
    [on_duty] = [c for c in candidates if person(stack, c["telegram_id"]).id == filed.owner_id]
    await relay(application, stack)
    first_card = find_button(telegram.to(on_duty["telegram_id"]), f"tk:acc:{filed.id}:")

    telegram.clear()
    late = utcnow() + timedelta(minutes=hazard["accept_sla_minutes"] + 1)
    assert filed.id in escalate_overdue(stack.database, late)
    assert filed.id not in escalate_overdue(stack.database, late)  # one missed deadline, one escalation
    escalated = ticket(stack, filed.id)
    assert escalated.owner_id == person(stack, member["telegram_id"]).id
    assert escalated.escalation_level == 1
    last = events(stack, filed.id)[-1]
    assert (last.kind, last.data["cause"], last.data["from_level"], last.data["to_level"]) == (
        "escalated",
        "overdue",
        0,
        1,
    )

    # The sweeper wrote the notifications at its (fake) time: the relay reads the outbox on the same clock.
    await relay(application, stack, at=late)
    # The grid member gets the task with Accept / Can't take …
    to_member = telegram.to(member["telegram_id"], "sendMessage")
    cards = [c for c in to_member if filed.ref in c.text]
    assert len(cards) == 1, transcript(telegram, member["telegram_id"])
    card = cards[0]
    assert callback_data(card) == [
        f"tk:acc:{filed.id}:{escalated.version}",
        f"tk:dec:{filed.id}:{escalated.version}",
    ]
    # … and the volunteer is told where it went, and may still accept.
    [info] = [c for c in telegram.to(on_duty["telegram_id"], "sendMessage") if filed.ref in c.text]
    assert member["name"] in info.text
    assert callback_data(info) == [f"tk:acc:{filed.id}:{escalated.version}"]

    # The button of the first card is out of date now, and says so instead of acting.
    telegram.clear()
    await feed(application, callback_update(on_duty["telegram_id"], first_card, name=on_duty["name"]))
    [stale] = [c for c in telegram.calls if c.method == "answerCallbackQuery"]
    assert stale.params.get("show_alert")
    assert stale.text == t(
        "ticket.error.stale",
        on_duty["language"],
        ref=filed.ref,
        state=t("ticket.state.dispatched", on_duty["language"]),
    )
    assert ticket(stack, filed.id).owner_id == person(stack, member["telegram_id"]).id

    # The grid member accepts: the volunteer hears that too.
    telegram.clear()
    await feed(
        application, callback_update(member["telegram_id"], callback_data(card)[0], name=member["name"])
    )
    assert ticket(stack, filed.id).state == "accepted"
    await relay(application, stack, at=late)
    assert any(filed.ref in x and member["name"] in x for x in telegram.texts_to(on_duty["telegram_id"])), (
        transcript(telegram, on_duty["telegram_id"])
    )


# --- 7. a blocked recipient and flood control ---------------------------------------------------------------


# PTB's RetryAfter warns about its own retry_after type when it is made (telegram/error.py), not our code.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_blocked_recipient_does_not_hold_up_the_others_and_a_429_is_retried_later(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    await relay(application, stack)  # nothing of other tests left due
    blocker, flooded = next(_users), next(_users)
    first = landmark("chaoan_temple")
    second = landmark("guanyin_cave")
    ticket_1 = file_directly(
        stack, blocker, "sanitation", (first["location"]["lat"], first["location"]["lon"]), "垃圾桶满了"
    )
    ticket_2 = file_directly(
        stack, flooded, "water_leak", (second["location"]["lat"], second["location"]["lon"]), "水管漏水"
    )
    owner_1 = ticket_1.owner_id
    owner_2 = ticket_2.owner_id
    assert owner_1 is not None and owner_2 is not None
    with stack.database.session() as session:
        chat_1 = int(session.get(Person, owner_1).telegram_id)  # type: ignore[union-attr, arg-type]
        chat_2 = int(session.get(Person, owner_2).telegram_id)  # type: ignore[union-attr, arg-type]

    telegram.clear()
    telegram.blocked.add(blocker)
    telegram.flood[flooded] = 3
    before = utcnow()
    counts = await relay_once(application.bot, stack.database)
    after = utcnow()
    assert counts == {"sent": 2, "failed": 1, "blocked": 1}
    # Queued after the blocked reporter's message, both volunteers' tasks went out in the same pass.
    assert find_button(telegram.to(chat_1), f"tk:acc:{ticket_1.id}:")
    assert find_button(telegram.to(chat_2), f"tk:acc:{ticket_2.id}:")

    blocked = person(stack, blocker)
    assert blocked.blocked_bot
    [dead] = outbox_for(stack, blocked.id)
    assert (dead.status, dead.last_error) == (OutboxStatus.DEAD, "recipient blocked the bot")

    [waiting] = outbox_for(stack, person(stack, flooded).id)
    assert waiting.status == OutboxStatus.PENDING
    assert waiting.attempts == 1
    assert before + timedelta(seconds=3) <= waiting.next_attempt_at <= after + timedelta(seconds=3)
    assert telegram.to(flooded) == []

    # Not before Telegram said: a relay pass now leaves it alone …
    assert await relay_once(application.bot, stack.database) == {"sent": 0, "failed": 0, "blocked": 0}
    # … and once the time has come (a clock moved on, not a sleep) it goes out, once.
    later = utcnow() + timedelta(seconds=4)
    assert (await relay_once(application.bot, stack.database, clock=lambda: later))["sent"] == 1
    assert len([x for x in telegram.texts_to(flooded) if ticket_2.ref in x]) == 1
    [delivered] = outbox_for(stack, person(stack, flooded).id)
    assert delivered.status == OutboxStatus.SENT

    # Writing to the bot again means they unblocked it.
    telegram.blocked.discard(blocker)
    await feed(application, message_update(blocker, "/mytickets"))
    assert not person(stack, blocker).blocked_bot
    assert any(ticket_1.ref in x for x in telegram.texts_to(blocker))


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_notification_cut_off_midway_sends_only_the_rest_when_retried(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    await relay(application, stack)
    reporter = next(_users)
    spot = landmark("yuntai_pavilion")["location"]
    ticket = file_directly(stack, reporter, "lighting", (spot["lat"], spot["lon"]), "云台阁的路灯不亮")
    assert ticket.owner_id is not None
    with stack.database.session() as session:
        volunteer = int(session.get(Person, ticket.owner_id).telegram_id)  # type: ignore[union-attr, arg-type]

    telegram.clear()
    telegram.flood_on[(volunteer, "sendMessage")] = 3
    counts = await relay_once(application.bot, stack.database)
    # The task's place went out; its text (with the Accept button) hit flood control.
    assert counts["failed"] == 1
    assert len(telegram.to(volunteer, "sendVenue")) == 1
    assert telegram.to(volunteer, "sendMessage") == []

    later = utcnow() + timedelta(seconds=4)
    await relay(application, stack, at=later)
    # The retry sent the text alone: the volunteer sees the place once, and the task once.
    assert len(telegram.to(volunteer, "sendVenue")) == 1
    assert len([x for x in telegram.texts_to(volunteer) if ticket.ref in x]) == 1
    assert find_button(telegram.to(volunteer), f"tk:acc:{ticket.id}:")


# --- 8. Rasa stopped in the middle of a conversation --------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class MarkingTranslator:
    """Stands in for Google: marks what it translated."""

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        return Translation(f"[{target}] {text}", source or "auto", target, "fake", False)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never answers: a hung Rasa."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
def translator() -> Iterator[None]:
    set_translator(MarkingTranslator())  # type: ignore[arg-type]
    yield
    set_translator(None)


@pytest.fixture
async def real_rasa(application: Application, assistant: Assistant) -> AsyncIterator[RasaClient]:
    """The assistant's own Rasa client, put back (and the test's stand-in closed) whatever the test did."""
    real = assistant.rasa
    yield real
    if assistant.rasa is not real:
        await assistant.rasa.aclose()
        assistant.rasa = real


async def test_with_rasa_down_the_bot_answers_with_the_degraded_menu_and_recovers(
    application: Application,
    telegram: FakeTelegram,
    stack: Stack,
    assistant: Assistant,
    real_rasa: RasaClient,
    translator: None,
) -> None:
    tourist = next(_users)
    # A report begins in Rasa's form ("the street light is broken"): it asks where.
    await feed(application, message_update(tourist, "가로등이 고장났어요"))
    assert any(b.get("request_location") for c in telegram.to(tourist) for b in c.buttons()), transcript(
        telegram, tourist
    )

    # Rasa hangs: the client gives up after its timeout and the user gets the menu that works without it.
    async with silent_server() as port:
        clock = FakeClock()
        assistant.rasa = RasaClient(
            f"http://127.0.0.1:{port}",
            timeout_seconds=0.5,
            breaker=CircuitBreaker(open_seconds=30, clock=clock),
        )
        telegram.clear()
        await feed(application, message_update(tourist, "휴대폰 충전은 어디서 해요?"))
    menu = telegram.to(tourist, "sendMessage")
    assert [plain(c.text) for c in menu] == [t("bot.degraded", "ko")], transcript(telegram, tourist)
    assert [b["text"] for b in menu[0].buttons()] == [
        t("intent.map", "ko"),
        t("intent.report_issue", "ko"),
        t("intent.check_ticket", "ko"),
    ]
    assert callback_data(menu[0]) == ["r:/map", "r:/report_native", "r:/mytickets"]

    # Rasa stopped (nothing listens on its port): the same; one failure does not open the circuit, but once
    # most of the last calls failed the breaker stops asking Rasa for a while.
    breaker = CircuitBreaker(open_seconds=30, clock=clock)
    closed = RasaClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=2, breaker=breaker)
    await assistant.rasa.aclose()
    assistant.rasa = closed
    for attempt in range(breaker.minimum_calls):
        assert not closed.is_open, attempt
        telegram.clear()
        await feed(application, message_update(tourist, "화장실 어디예요?"))
        assert [plain(x) for x in telegram.texts_to(tourist)] == [t("bot.degraded", "ko")]
    assert closed.is_open

    # The menu works: the map …
    telegram.clear()
    await feed(application, callback_update(tourist, "r:/map"))
    assert [c.method for c in telegram.to(tourist)] == ["sendPhoto"]
    # … and a report for the desk.
    telegram.clear()
    await feed(application, callback_update(tourist, "r:/report_native"))
    assert [plain(x) for x in telegram.texts_to(tourist)] == [t("report.ask_description", "ko")]
    telegram.clear()
    await feed(application, message_update(tourist, "동문 옆 등불이 떨어질 것 같아요"))
    [filed] = tickets_of(stack, tourist)
    [told] = [plain(x) for x in telegram.texts_to(tourist)]
    # The confirmation, then the status page's link (web/status).
    assert told.startswith(t("human.filed", "ko", ref=filed.ref) + "\n") and f"/status/{filed.ref}?t=" in told
    [desk] = roster_with_role("desk", "xijin")
    assert filed.category_code is None
    assert filed.owner_id == person(stack, desk["telegram_id"]).id
    assert filed.description == "동문 옆 등불이 떨어질 것 같아요"
    assert filed.description_language == "ko"
    assert filed.description_zh == "[zh-Hans] 동문 옆 등불이 떨어질 것 같아요"  # staff read Chinese
    telegram.clear()
    await relay(application, stack)
    assert find_button(telegram.to(desk["telegram_id"]), f"tk:acc:{filed.id}:")

    # Rasa is back: while the breaker is open the answers stay degraded; after open_seconds they are normal.
    closed.base_url = real_rasa.base_url
    telegram.clear()
    await feed(application, message_update(tourist, "안녕하세요"))
    assert [plain(x) for x in telegram.texts_to(tourist)] == [t("bot.degraded", "ko")]
    clock.now += breaker.open_seconds + 1
    telegram.clear()
    await feed(application, message_update(tourist, "안녕하세요"))
    greeting = telegram.texts_to(tourist)
    assert greeting[0].startswith("안녕하세요!"), transcript(telegram, tourist)
    # The report filed without Rasa ended the one Rasa had begun: it does not ask for its place again.
    assert len(greeting) == 1, transcript(telegram, tourist)
    assert len(tickets_of(stack, tourist)) == 1


# --- the webhook --------------------------------------------------------------------------------------------


async def test_the_webhook_takes_only_updates_with_the_secret_token(
    application: Application, telegram: FakeTelegram, stack: Stack
) -> None:
    port = free_port()
    settings = stack.settings.model_copy(
        update={
            "telegram_webhook_url": "https://bot.example.org/",
            "telegram_webhook_secret": SecretStr("s3cret"),
            "telegram_webhook_listen": "127.0.0.1",
            "telegram_webhook_port": port,
        }
    )
    options = webhook_options(settings)
    no_header, wrong, right = next(_users), next(_users), next(_users)
    updates = {
        no_header: message_update(no_header, "/mytickets"),
        wrong: message_update(wrong, "/mytickets"),
        right: message_update(right, "/mytickets"),
    }
    await application.updater.start_webhook(**options)  # type: ignore[union-attr]
    await application.start()
    try:
        [registered] = [c for c in telegram.calls if c.method == "setWebhook"]
        assert registered.params["url"] == "https://bot.example.org/telegram"
        assert registered.params["secret_token"] == "s3cret"
        url = f"http://127.0.0.1:{port}/{options['url_path']}"
        async with httpx.AsyncClient() as http:
            body = {
                "content": json.dumps(updates[no_header]),
                "headers": {"Content-Type": "application/json"},
            }
            assert (await http.post(url, **body)).status_code == 403
            body = {
                "content": json.dumps(updates[wrong]),
                "headers": {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "guess"},
            }
            assert (await http.post(url, **body)).status_code == 403
            body = {
                "content": json.dumps(updates[right]),
                "headers": {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "s3cret"},
            }
            assert (await http.post(url, **body)).status_code == 200
        # Updates are handled in order: once the accepted one has been answered, the rejected ones would
        # have been too.
        async with asyncio.timeout(30):
            while not telegram.to(right, "sendMessage"):
                await asyncio.sleep(0.05)
    finally:
        await application.updater.stop()  # type: ignore[union-attr]
        await application.stop()
    assert telegram.texts_to(right) == [t("tickets.none", "zh-Hans")]
    assert telegram.to(no_header) == [] and telegram.to(wrong) == []
    with stack.database.session() as session:
        handled = set(session.scalars(select(ProcessedUpdate.update_id)))
    assert updates[right]["update_id"] in handled
    assert updates[no_header]["update_id"] not in handled
    assert updates[wrong]["update_id"] not in handled
