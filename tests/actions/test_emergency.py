"""actions/emergency.py: the numbers first, the nearest first-aid point, a ticket to every level."""

from __future__ import annotations

import json

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.emergency import ActionEmergency
from community.database import Database
from community.i18n import t
from community.knowledge.schema import KnowledgeBase
from community.outbox.models import OutboxMessage
from community.people.models import Person
from community.tickets.models import Assignment, EscalationLevel, TicketEvent, TicketState, Urgency
from tests.actions.support import (
    CURATED,
    USER_KEY,
    customs,
    haversine_m,
    make_tracker,
    people_with_role,
    roster_key,
    tickets_in,
    volunteers_for,
)

# At the Love Station, in the Xiaomatou Street micro-grid (red_3) of the Old Street Red Grid.
AT_LOVE_STATION = (32.2098, 119.4312)
# Landmark zhaoguan_pagoda (knowledge/grids.yml).
PAGODA = (32.21, 119.429)


def red_3_first_aid_team(knowledge: KnowledgeBase) -> dict[str, int]:
    """Who an emergency in red_3 alerts, by knowledge/roster.yml: the on-duty red_3 volunteers with the
    first_aid skill, the red grid's members and every committee member, each at their level."""
    team = dict.fromkeys(volunteers_for(knowledge, "red_3", "first_aid"), EscalationLevel.BACKBONE)
    team |= dict.fromkeys(
        people_with_role(knowledge, "grid_member", "xijin_red"), EscalationLevel.GRID_MEMBER
    )
    team |= dict.fromkeys(people_with_role(knowledge, "committee_member"), EscalationLevel.COMMITTEE)
    return team


def _split(payload: str) -> tuple[str, dict[str, str]]:
    intent, brace, rest = payload.partition("{")
    return intent, json.loads(brace + rest)


def _alerted(db: Database, ticket_id: int) -> dict[str, int]:
    """External key → level of everyone assigned to the ticket."""
    with db.session() as session:
        rows = session.execute(
            select(Person.external_key, Assignment.level)
            .join(Assignment, Assignment.person_id == Person.id)
            .where(Assignment.ticket_id == ticket_id)
        ).all()
    return {key: level for key, level in rows}


def _outbox(db: Database, ticket_id: int) -> dict[str, list[str]]:
    """External key → kinds of the notifications written for the ticket."""
    found: dict[str, list[str]] = {}
    with db.session() as session:
        rows = session.execute(
            select(Person.external_key, OutboxMessage.kind)
            .join(OutboxMessage, OutboxMessage.recipient_id == Person.id)
            .where(OutboxMessage.ticket_id == ticket_id)
        ).all()
    for key, kind in rows:
        found.setdefault(key, []).append(kind)
    return found


@pytest.mark.parametrize("language", CURATED)
async def test_the_numbers_come_first(kb: Database, dispatcher: CollectingDispatcher, language: str) -> None:
    tracker = make_tracker("救命", intent="emergency", location=AT_LOVE_STATION, language=language)

    await ActionEmergency().run(dispatcher, tracker, {})

    first = dispatcher.messages[0]["text"]
    assert first == t("emergency.call", language)
    assert all(number in first for number in ("120", "110", "119"))


async def test_emergency_with_a_location(
    kb: Database, dispatcher: CollectingDispatcher, knowledge_base: KnowledgeBase
) -> None:
    tracker = make_tracker(
        "Someone collapsed here!",
        intent="emergency",
        entities={"issue_category": "first_aid"},
        location=AT_LOVE_STATION,
        language="en",
    )

    events = await ActionEmergency().run(dispatcher, tracker, {})

    assert events == []
    [ticket] = tickets_in(kb)
    messages = dispatcher.messages
    assert messages[0]["text"] == t("emergency.call", "en")
    assert messages[1]["text"] == t("emergency.nearest", "en")
    assert messages[2]["custom"]["type"] == "venue"
    assert messages[2]["custom"]["title"] == "First Aid Point (Love Station)"
    # sp_first_aid_1 is 0.0001° (11.1 m) south and 0.0002° (18.8 m) west of the Love Station: 21.9 m.
    assert messages[2]["custom"]["distance_m"] == 22
    assert messages[3]["text"] == t("emergency.filed", "en", ref=ticket.ref)
    assert len(messages) == 4  # no location request: we know where they are
    assert not customs(dispatcher, "location_request")

    assert ticket.category_code == "first_aid"
    assert ticket.urgency == Urgency.EMERGENCY
    assert ticket.state == TicketState.DISPATCHED
    assert ticket.escalation_level == EscalationLevel.TOP
    assert (ticket.lat, ticket.lon) == AT_LOVE_STATION
    assert (ticket.micro_grid_code, ticket.grid_code) == ("red_3", "xijin_red")
    assert ticket.description == "Someone collapsed here!"
    assert ticket.description_language == "en"
    assert ticket.description_zh is None  # no translator in the tests
    assert ticket.source_key == "telegram:1001:42"
    assert ticket.channel == "telegram"

    # Every level at once: the micro-grid's first-aiders, the grid member and the committee, each with a task.
    team = red_3_first_aid_team(knowledge_base)
    assert {level for level in team.values()} == {0, 1, 2}
    assert _alerted(kb, ticket.id) == team
    outbox = _outbox(kb, ticket.id)
    assert outbox == {**{key: ["ticket.task"] for key in team}, USER_KEY: ["ticket.received"]}
    # The top of the chain owns it.
    assert roster_key(ticket.owner_id, kb) in people_with_role(knowledge_base, "committee_member")


async def test_emergency_without_a_location_asks_for_it(
    kb: Database, dispatcher: CollectingDispatcher, knowledge_base: KnowledgeBase
) -> None:
    tracker = make_tracker("有人晕倒了", intent="emergency")

    await ActionEmergency().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    assert dispatcher.messages[0]["text"] == t("emergency.call", "zh-Hans")
    # The nearest first-aid point to the Love Station, the middle of the street, is still shown.
    [venue] = customs(dispatcher, "venue")
    assert venue["title"] == "应急救护点（爱心驿站）"
    assert t("emergency.filed", "zh-Hans", ref=ticket.ref) in [m["text"] for m in dispatcher.messages]
    # Last: a location request whose answer comes back as the same emergency.
    request = dispatcher.messages[-1]["custom"]
    assert request["type"] == "location_request"
    assert request["text"] == t("emergency.share_location", "zh-Hans")
    assert request["button"] == t("service.share_button", "zh-Hans")
    assert _split(request["reply_payload"]) == ("/emergency", {"issue_category": "first_aid"})

    assert ticket.category_code == "first_aid"
    assert ticket.urgency == Urgency.EMERGENCY
    assert (ticket.lat, ticket.lon, ticket.micro_grid_code) == (None, None, None)
    assert ticket.escalation_level == EscalationLevel.TOP
    # No place: the desk and the committee are alerted; a committee member owns it.
    alerted = _alerted(kb, ticket.id)
    assert alerted == {
        **dict.fromkeys(people_with_role(knowledge_base, "desk"), EscalationLevel.BACKBONE),
        **dict.fromkeys(people_with_role(knowledge_base, "committee_member"), EscalationLevel.COMMITTEE),
    }
    assert set(_outbox(kb, ticket.id)) == {*alerted, USER_KEY}
    assert roster_key(ticket.owner_id, kb) in people_with_role(knowledge_base, "committee_member")


async def test_emergency_at_a_named_landmark(kb: Database, dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker(
        "东门有人流血了", intent="emergency", entities={"landmark": ("east_entrance", "东门")}
    )

    await ActionEmergency().run(dispatcher, tracker, {})

    [venue] = customs(dispatcher, "venue")
    assert venue["title"] == "应急救护点（东入口）"
    assert not customs(dispatcher, "location_request")
    [ticket] = tickets_in(kb)
    assert ticket.landmark_code == "east_entrance"
    assert (ticket.lat, ticket.lon) == (32.21, 119.4352)
    assert ticket.micro_grid_code == "red_4"


async def test_a_landmark_the_model_did_not_tag_is_read_from_the_words(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker("someone collapsed near the pagoda!", intent="emergency", language="en")

    await ActionEmergency().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    assert ticket.landmark_code == "zhaoguan_pagoda"
    assert (ticket.lat, ticket.lon) == PAGODA
    assert ticket.category_code == "first_aid"
    # The nearest first-aid point is measured from the pagoda, not from the Love Station fallback.
    [venue] = customs(dispatcher, "venue")
    assert venue["distance_m"] == round(haversine_m(*PAGODA, venue["latitude"], venue["longitude"]))
    assert not customs(dispatcher, "location_request")


@pytest.mark.parametrize("category", ["missing_person", "fire"])
async def test_the_kind_of_emergency_is_kept(
    kb: Database, dispatcher: CollectingDispatcher, category: str
) -> None:
    tracker = make_tracker("help", intent="emergency", entities={"issue_category": category}, language="en")

    await ActionEmergency().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    assert ticket.category_code == category
    assert ticket.urgency == Urgency.EMERGENCY
    request = customs(dispatcher, "location_request")[0]
    assert _split(request["reply_payload"]) == ("/emergency", {"issue_category": category})


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        ("着火了！！", "zh-Hans", "fire"),
        ("小孩不见了 找不到孩子", "zh-Hans", "missing_person"),
        ("店の中から煙が出てる", "ja", "fire"),
        ("아이가 없어졌어요 미아", "ko", "missing_person"),
        ("someone help!!", "en", "first_aid"),
    ],
)
async def test_without_a_tag_the_words_say_which_emergency(
    kb: Database, dispatcher: CollectingDispatcher, text: str, language: str, category: str
) -> None:
    tracker = make_tracker(text, intent="emergency", language=language)

    await ActionEmergency().run(dispatcher, tracker, {})

    assert [t.category_code for t in tickets_in(kb)] == [category]


async def test_a_category_that_is_no_emergency_counts_as_first_aid(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker("help", intent="emergency", entities={"issue_category": "lighting"}, language="en")

    await ActionEmergency().run(dispatcher, tracker, {})

    assert [t.category_code for t in tickets_in(kb)] == ["first_aid"]


async def test_the_same_message_twice_files_one_ticket(kb: Database) -> None:
    tracker = make_tracker("救命", intent="emergency", location=AT_LOVE_STATION, message_id=77)

    first, second = CollectingDispatcher(), CollectingDispatcher()
    await ActionEmergency().run(first, tracker, {})
    await ActionEmergency().run(second, tracker, {})

    [ticket] = tickets_in(kb)
    filed = t("emergency.filed", "zh-Hans", ref=ticket.ref)
    assert filed in [m["text"] for m in first.messages]
    assert filed in [m["text"] for m in second.messages]
    with kb.session() as session:
        created = session.scalars(select(TicketEvent).where(TicketEvent.kind == "created")).all()
        assert len(created) == 1


async def test_a_failed_alert_still_gives_the_numbers(
    kb: Database, dispatcher: CollectingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("actions.emergency.file_report", broken)
    tracker = make_tracker("救命", intent="emergency", location=AT_LOVE_STATION)

    assert await ActionEmergency().run(dispatcher, tracker, {}) == []

    assert dispatcher.messages[0]["text"] == t("emergency.call", "zh-Hans")
    assert dispatcher.messages[-1]["text"] == t("report.failed", "zh-Hans")
    assert tickets_in(kb) == []


async def test_a_failed_first_aid_search_does_not_stop_the_alert(
    kb: Database, dispatcher: CollectingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("opening hours unreadable")

    monkeypatch.setattr("actions.emergency.send_nearest", broken)
    tracker = make_tracker("救命", intent="emergency", location=AT_LOVE_STATION)

    await ActionEmergency().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    assert ticket.urgency == Urgency.EMERGENCY
    assert [m["text"] for m in dispatcher.messages] == [
        t("emergency.call", "zh-Hans"),
        t("emergency.filed", "zh-Hans", ref=ticket.ref),
    ]


async def test_a_location_shared_after_the_alert_goes_to_that_alert(
    kb: Database, knowledge_base: KnowledgeBase
) -> None:
    """The location request's answer completes the first alert: one ticket, located, its staff told."""
    await ActionEmergency().run(CollectingDispatcher(), make_tracker("有人晕倒了", intent="emergency"), {})
    [first] = tickets_in(kb)
    alerted = set(_alerted(kb, first.id))

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        '/emergency{"issue_category": "first_aid"}',
        intent="emergency",
        location=AT_LOVE_STATION,
        location_fresh=True,
        message_id=43,
    )
    await ActionEmergency().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    assert ticket.id == first.id
    assert (ticket.lat, ticket.lon, ticket.micro_grid_code) == (*AT_LOVE_STATION, "red_3")
    texts = [m["text"] for m in dispatcher.messages if m.get("text")]
    assert t("emergency.location_added", "zh-Hans", ref=ticket.ref) in texts
    assert customs(dispatcher, "location_request") == []
    with kb.session() as session:
        kinds = session.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        ).all()
        located = session.scalars(
            select(Person.external_key)
            .join(OutboxMessage, OutboxMessage.recipient_id == Person.id)
            .where(OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == "ticket.located")
        ).all()
    assert kinds[-1] == "located"
    assert set(located) == alerted
