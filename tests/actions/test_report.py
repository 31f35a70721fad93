"""actions/report.py: the report form (extracting and validating each slot, the questions) and filing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.report import (
    FORM_SLOTS,
    ActionAskContact,
    ActionAskDescription,
    ActionAskIssueCategory,
    ActionAskPhoto,
    ActionAskReportLocation,
    ActionSubmitReport,
    ValidateReportForm,
)
from community.database import Database
from community.grids.models import Grid
from community.i18n import pick, t
from community.knowledge.schema import KnowledgeBase
from community.outbox.models import OutboxMessage
from community.settings import get_settings
from community.tickets.models import Ticket, TicketEvent, TicketState
from community.tickets.status_links import TicketStatusToken, status_url
from tests.actions.support import (
    CURATED,
    NOTE,
    USER_KEY,
    customs,
    events_as_slots,
    in_english_with_note,
    make_tracker,
    roster_entry,
    roster_key,
    texts,
    tickets_in,
    volunteers_for,
)

FORM = "report_form"
# Inside the community: by the West Entrance (micro-grid red_1), and a few metres from there.
WEST_ENTRANCE = (32.2101, 119.4248)
NEAR_WEST_ENTRANCE = (32.21012, 119.42488)  # ≈ 8 m away
# Outside it: People's Square, Shanghai.
SHANGHAI = (31.2304, 121.4737)


def link_of(database: Database, ticket: Ticket) -> str:
    """The status-page link the reporter is given with the confirmation (web/status)."""
    with database.session() as session:
        token = session.get(TicketStatusToken, ticket.id)
        assert token is not None, "the ticket was filed without a status token"
        return status_url(get_settings().web_public_url, ticket.ref, token.token)


async def validate(
    tracker: Tracker, domain: dict[str, Any]
) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    """Run validate_report_form as Rasa's form does for one message: extract, then validate."""
    dispatcher = CollectingDispatcher()
    events = await ValidateReportForm().run(dispatcher, tracker, domain)
    return events, dispatcher


def form_tracker(text: str = "", *, requested_slot: str | None, **kwargs: Any) -> Tracker:
    return make_tracker(text, requested_slot=requested_slot, active_loop=FORM, **kwargs)


def _split(payload: str) -> tuple[str, dict[str, str]]:
    intent, brace, rest = payload.partition("{")
    return intent, json.loads(brace + rest) if brace else {}


def test_action_names_are_those_of_the_domain(domain: dict[str, Any]) -> None:
    actions = [
        ValidateReportForm,
        ActionAskIssueCategory,
        ActionAskReportLocation,
        ActionAskDescription,
        ActionAskPhoto,
        ActionAskContact,
        ActionSubmitReport,
    ]
    assert {a().name() for a in actions} <= set(domain["actions"])
    assert list(FORM_SLOTS) == domain["forms"][FORM]["required_slots"]
    assert {f"action_ask_{slot}" for slot in FORM_SLOTS} <= set(domain["actions"])


# --- issue_category ---------------------------------------------------------------------------------------


async def test_category_from_an_entity(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "报告问题", intent="report_issue", entities={"issue_category": "lighting"}, requested_slot=None
    )

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("issue_category", "lighting")]


@pytest.mark.parametrize("language", ["zh-Hans", "en", "ko"])
async def test_an_emergency_category_gives_the_numbers_at_once(
    kb: Database, domain: dict[str, Any], language: str
) -> None:
    tracker = form_tracker(
        "...",
        intent="report_issue",
        entities={"issue_category": "first_aid"},
        requested_slot=None,
        language=language,
    )

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("issue_category", "first_aid")]
    assert texts(dispatcher)[0] == t("emergency.call", language)


async def test_category_from_the_words_the_model_tagged(kb: Database, domain: dict[str, Any]) -> None:
    # For words it has not seen as a synonym, DIET returns the words themselves as the value.
    tracker = form_tracker(
        "这里路灯坏了",
        intent="report_issue",
        entities={"issue_category": ("路灯", "路灯")},
        requested_slot=None,
    )

    events, _ = await validate(tracker, domain)

    assert events_as_slots(events) == {"issue_category": "lighting"}


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("路灯不亮", "zh-Hans", "lighting"),
        ("路燈不亮了", "zh-Hant", "lighting"),
        ("The street light is out", "en", "lighting"),
        ("街灯が消えています", "ja", "lighting"),
        ("가로등이 안 켜져요", "ko", "lighting"),
        ("垃圾桶满了", "zh-Hans", "sanitation"),
        ("水管爆了，到处是水", "zh-Hans", "water_leak"),
        ("I was overcharged at a shop", "en", "vendor_dispute"),
    ],
)
async def test_category_from_keywords(
    kb: Database, domain: dict[str, Any], text: str, language: str, expected: str
) -> None:
    tracker = form_tracker(text, intent="report_issue", requested_slot="issue_category", language=language)

    events, _ = await validate(tracker, domain)

    assert events_as_slots(events) == {"issue_category": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The most specific keyword wins, whatever order the categories come in from the database:
        # "老人走失" (missing person) over "老人" (help for the elderly), "孩子丢了" over "丢了" (lost item).
        ("有个老人走失了", "missing_person"),
        ("孩子丢了", "missing_person"),
        ("钱包丢了", "lost_item"),
        # A keyword inside another word is not that keyword: "hole" in "whole", "lamp" in "clamp".
        ("the whole bench wobbles", None),
        ("there is a clamp on the gate", None),
        ("a pothole on the whole street", "road_damage"),
    ],
)
async def test_category_keywords_are_matched_precisely(
    kb: Database, domain: dict[str, Any], text: str, expected: str | None
) -> None:
    tracker = form_tracker(text, intent="report_issue", requested_slot="issue_category", language="en")

    events, _ = await validate(tracker, domain)

    assert events_as_slots(events).get("issue_category") == expected


async def test_an_unknown_category_is_not_taken(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "unicorns on the roof",
        intent="report_issue",
        entities={"issue_category": "unicorns"},
        requested_slot="issue_category",
        language="en",
    )

    events, _ = await validate(tracker, domain)

    assert "issue_category" not in events_as_slots(events)  # the form asks again


async def test_an_unknown_category_candidate_is_rejected(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("unicorns", intent="report_issue", requested_slot="issue_category", language="en")
    # A candidate Rasa put on the tracker (as it does for slot mappings) goes through validation too.
    tracker.events.append(SlotSet("issue_category", "unicorns"))

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("issue_category", None)]
    direct = await ValidateReportForm().validate_issue_category(
        "unicorns", CollectingDispatcher(), tracker, domain
    )
    assert direct == {"issue_category": None}


async def test_a_chosen_category_is_kept(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "垃圾也很多",
        intent="report_issue",
        entities={"issue_category": "sanitation"},
        slots={"issue_category": "lighting"},
        requested_slot="report_location",
    )

    events, _ = await validate(tracker, domain)

    assert "issue_category" not in events_as_slots(events)


async def test_keywords_count_only_while_the_category_is_asked(kb: Database, domain: dict[str, Any]) -> None:
    # The category was lost (rejected) and the form now waits for the location: no guess from stray words.
    tracker = form_tracker("路灯旁边", intent="report_issue", requested_slot="report_location")

    events, _ = await validate(tracker, domain)

    assert "issue_category" not in events_as_slots(events)


# --- report_location --------------------------------------------------------------------------------------


async def test_a_fresh_location_inside_the_community(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "/report_issue",
        intent="report_issue",
        requested_slot="report_location",
        location=WEST_ENTRANCE,
        location_fresh=True,
        slots={"issue_category": "lighting"},
    )

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("report_location", "geo:32.210100,119.424800")]
    assert dispatcher.messages == []


async def test_a_fresh_location_outside_the_community_is_rejected(
    kb: Database, domain: dict[str, Any]
) -> None:
    tracker = form_tracker(
        "/report_issue",
        intent="report_issue",
        requested_slot="report_location",
        location=SHANGHAI,
        location_fresh=True,
        language="en",
    )

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("report_location", None)]
    assert texts(dispatcher) == [t("report.bad_location", "en")]


async def test_an_old_location_is_not_where_the_problem_is(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "here", intent="report_issue", requested_slot="report_location", location=WEST_ENTRANCE, language="en"
    )

    events, _ = await validate(tracker, domain)

    assert "report_location" not in events_as_slots(events)


async def test_a_location_from_a_landmark_entity(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "在昭关塔旁边",
        intent="report_issue",
        entities={"landmark": ("zhaoguan_pagoda", "昭关塔")},
        requested_slot="report_location",
    )

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("report_location", "landmark:zhaoguan_pagoda")]
    assert dispatcher.messages == []


async def test_a_location_from_a_landmark_named_in_the_text(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("就在东门那边", intent="report_issue", requested_slot="report_location")

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("report_location", "landmark:east_entrance")]


async def test_a_location_from_a_grid_button(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "grid:red_1", intent="report_issue", confidence=0.3, requested_slot="report_location"
    )

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("report_location", "grid:red_1")]
    assert dispatcher.messages == []


async def test_a_grid_taken_out_of_the_knowledge_base_is_rejected(
    kb: Database, domain: dict[str, Any]
) -> None:
    with kb.session() as session:
        session.get(Grid, "red_1").active = False
        session.commit()
    tracker = form_tracker("grid:red_1", requested_slot="report_location", language="ja")

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("report_location", None)]
    assert texts(dispatcher) == [t("report.bad_location", "ja")]


async def test_an_unknown_grid_is_rejected(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("grid:atlantis", requested_slot="report_location", language="ko")

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("report_location", None)]
    assert texts(dispatcher) == [t("report.bad_location", "ko")]


async def test_nothing_recognisable_leaves_the_location_open(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("不知道", intent="deny", requested_slot="report_location")

    events, dispatcher = await validate(tracker, domain)

    assert events == []
    assert dispatcher.messages == []


async def test_a_sight_named_later_does_not_move_the_report(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "东门那边的灯坏了",
        intent="report_issue",
        entities={"landmark": ("east_entrance", "东门")},
        requested_slot="description",
        slots={"issue_category": "lighting", "report_location": "geo:32.2101,119.4248"},
    )

    events, _ = await validate(tracker, domain)

    assert "report_location" not in events_as_slots(events)


# --- description -------------------------------------------------------------------------------------------


async def test_a_description(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("西入口的路灯一整晚都不亮", intent="report_issue", requested_slot="description")

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("description", "西入口的路灯一整晚都不亮")]
    assert dispatcher.messages == []


async def test_another_question_is_not_a_description(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker(
        "厕所在哪里",
        intent="find_service",
        confidence=0.93,
        entities={"service_type": ("toilet", "厕所")},
        requested_slot="description",
    )

    events, dispatcher = await validate(tracker, domain)

    # Nothing filled: the form steps aside, a rule answers the question, then the form asks again.
    assert events == []
    assert dispatcher.messages == []


async def test_an_unsure_other_question_is_taken_as_the_description(
    kb: Database, domain: dict[str, Any]
) -> None:
    tracker = form_tracker(
        "the light near the toilet is flickering",
        intent="find_service",
        confidence=0.41,
        requested_slot="description",
        language="en",
    )

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("description", "the light near the toilet is flickering")]


@pytest.mark.parametrize(("text", "language"), [("ok", "en"), ("灯", "zh-Hans"), ("  a ", "en")])
async def test_a_too_short_description_is_asked_again(
    kb: Database, domain: dict[str, Any], text: str, language: str
) -> None:
    tracker = form_tracker(text, intent="affirm", requested_slot="description", language=language)

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("description", None)]
    assert texts(dispatcher) == [t("report.too_short", language)]


@pytest.mark.parametrize("language", CURATED)
async def test_a_too_long_description_is_asked_again_politely(
    kb: Database, domain: dict[str, Any], language: str
) -> None:
    text = "路灯坏了。" * 500  # 2,500 characters: a page, not a report
    tracker = form_tracker(text, intent="affirm", requested_slot="description", language=language)

    events, dispatcher = await validate(tracker, domain)

    assert events == [SlotSet("description", None)]
    assert texts(dispatcher) == [t("report.too_long", language, length=2500, limit=2000)]


async def test_a_description_of_the_maximum_length_is_taken(kb: Database, domain: dict[str, Any]) -> None:
    text = "x" * 2000
    tracker = form_tracker(text, intent="affirm", requested_slot="description", language="en")

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("description", text)]


@pytest.mark.parametrize("text", ["漏水", "물이 새요", "Leak!"])
async def test_short_but_enough(kb: Database, domain: dict[str, Any], text: str) -> None:
    tracker = form_tracker(text, intent="report_issue", requested_slot="description")

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("description", text)]


async def test_a_button_payload_is_not_a_description(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("/deny", intent="deny", requested_slot="description")

    events, _ = await validate(tracker, domain)

    assert events == []


# --- photo --------------------------------------------------------------------------------------------------


async def test_photos_from_the_metadata(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("", requested_slot="photo", photos=["AgADphoto1", "AgADphoto2"])

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("photo", "AgADphoto1,AgADphoto2")]


async def test_a_photo_with_a_caption_answers_the_description_too(
    kb: Database, domain: dict[str, Any]
) -> None:
    tracker = form_tracker(
        "石板松了，有人差点摔倒", intent="report_issue", requested_slot="description", photos=["AgADstone"]
    )

    events, _ = await validate(tracker, domain)

    assert events_as_slots(events) == {"description": "石板松了，有人差点摔倒", "photo": "AgADstone"}


@pytest.mark.parametrize(
    ("text", "intent"),
    [("/deny", "deny"), ("不用了", "deny"), ("跳过", None), ("Skip", None), ("スキップ", None)],
)
async def test_skipping_the_photo(
    kb: Database, domain: dict[str, Any], text: str, intent: str | None
) -> None:
    tracker = form_tracker(text, intent=intent, requested_slot="photo")

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("photo", "none")]


async def test_no_photo_and_no_skip_leaves_it_open(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("稍等", intent="affirm", requested_slot="photo")

    events, _ = await validate(tracker, domain)

    assert events == []


# --- contact ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["13800138000", "+86 138-0013-8000", "(0511) 8888 1234"])
async def test_a_phone_number(kb: Database, domain: dict[str, Any], phone: str) -> None:
    tracker = form_tracker(phone, intent="report_issue", confidence=0.2, requested_slot="contact")

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("contact", phone)]


@pytest.mark.parametrize(("text", "intent"), [("/deny", "deny"), ("skip", None), ("건너뛰기", None)])
async def test_skipping_the_contact(
    kb: Database, domain: dict[str, Any], text: str, intent: str | None
) -> None:
    tracker = form_tracker(text, intent=intent, requested_slot="contact")

    events, _ = await validate(tracker, domain)

    assert events == [SlotSet("contact", "none")]


@pytest.mark.parametrize("text", ["call me maybe", "12345", "微信号 abc"])
async def test_not_a_phone_number_leaves_it_open(kb: Database, domain: dict[str, Any], text: str) -> None:
    tracker = form_tracker(text, intent="report_issue", requested_slot="contact")

    events, _ = await validate(tracker, domain)

    assert events == []


async def test_a_phone_number_is_not_taken_before_it_is_asked(kb: Database, domain: dict[str, Any]) -> None:
    tracker = form_tracker("13800138000", requested_slot="photo")

    events, _ = await validate(tracker, domain)

    assert "contact" not in events_as_slots(events)


# --- the questions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", CURATED)
async def test_ask_category_offers_the_categories(
    kb: Database, knowledge_base: KnowledgeBase, dispatcher: CollectingDispatcher, language: str
) -> None:
    await ActionAskIssueCategory().run(dispatcher, make_tracker("/report_issue", language=language), {})

    [message] = dispatcher.messages
    assert message["text"] == t("report.ask_category", language)
    # Every category but the emergencies (those are the emergency button's), by code.
    expected = sorted((c for c in knowledge_base.categories if not c.emergency), key=lambda c: c.id)
    assert [b["title"] for b in message["buttons"]] == [pick(c.names.as_dict(), language) for c in expected]
    assert [_split(b["payload"]) for b in message["buttons"]] == [
        ("/report_issue", {"issue_category": c.id}) for c in expected
    ]
    assert not {"first_aid", "missing_person", "fire"} & {
        _split(b["payload"])[1]["issue_category"] for b in message["buttons"]
    }


@pytest.mark.parametrize("language", ["zh-Hans", "en"])
async def test_ask_location_requests_a_location_and_offers_the_grids(
    kb: Database, knowledge_base: KnowledgeBase, dispatcher: CollectingDispatcher, language: str
) -> None:
    await ActionAskReportLocation().run(dispatcher, make_tracker("路灯不亮", language=language), {})

    request, grids = dispatcher.messages
    assert request["custom"] == {
        "type": "location_request",
        "text": t("report.ask_location", language),
        "button": t("service.share_button", language),
        "reply_payload": "/report_issue",
    }
    expected = sorted(knowledge_base.grids, key=lambda g: g.id)
    assert len(expected) == 3
    assert grids["buttons"] == [
        {"title": pick(g.names.as_dict(), language), "payload": f"grid:{g.id}"} for g in expected
    ]


async def test_ask_description(dispatcher: CollectingDispatcher) -> None:
    assert await ActionAskDescription().run(dispatcher, make_tracker("", language="ja"), {}) == []
    assert texts(dispatcher) == [t("report.ask_description", "ja")]


@pytest.mark.parametrize(
    ("action", "key"), [(ActionAskPhoto, "report.ask_photo"), (ActionAskContact, "report.ask_contact")]
)
@pytest.mark.parametrize("language", CURATED)
async def test_ask_photo_and_contact_offer_skip(
    dispatcher: CollectingDispatcher, action: type, key: str, language: str
) -> None:
    await action().run(dispatcher, make_tracker("", language=language), {})

    [message] = dispatcher.messages
    assert message["text"] == t(key, language)
    assert message["buttons"] == [{"title": t("report.skip", language), "payload": "/deny"}]


@pytest.mark.parametrize(
    ("action", "key"), [(ActionAskPhoto, "report.ask_photo"), (ActionAskContact, "report.ask_contact")]
)
async def test_ask_photo_and_contact_without_curated_texts(
    dispatcher: CollectingDispatcher, action: type, key: str
) -> None:
    await action().run(dispatcher, make_tracker("", language="fr"), {})

    [message] = dispatcher.messages
    assert message["text"] == in_english_with_note(key)
    assert message["buttons"] == [{"title": "Skip", "payload": "/deny"}]
    assert NOTE not in message["buttons"][0]["title"]


# --- filing -------------------------------------------------------------------------------------------------

FILLED = {
    "issue_category": "lighting",
    "report_location": "geo:32.210100,119.424800",
    "description": "西入口的路灯一整晚都不亮",
    "photo": "AgADphoto1,AgADphoto2",
    "contact": "13800138000",
}


def submit_tracker(slots: dict[str, Any] | None = None, **kwargs: Any) -> Tracker:
    kwargs.setdefault("intent", "deny")
    return make_tracker("/deny", slots={**FILLED, **(slots or {})}, **kwargs)


def _cleared() -> list[SlotSet]:
    return [SlotSet(name, None) for name in FORM_SLOTS]


async def test_submit_files_a_ticket_routed_to_a_volunteer(
    kb: Database, knowledge_base: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    events = await ActionSubmitReport().run(dispatcher, submit_tracker(), {})

    assert events == _cleared()
    [ticket] = tickets_in(kb)
    # knowledge/roster.yml: the first on-duty red_1 volunteer with the electrical skill gets lighting.
    owner_key = volunteers_for(knowledge_base, "red_1", "electrical")[0]
    assert roster_key(ticket.owner_id, kb) == owner_key
    full_name = roster_entry(knowledge_base, owner_key).name
    # The reporter learns the surname with a form of address ("周师傅"), never the full name.
    owner_name = t("ticket.name.honorific", "zh-Hans", surname=full_name[0])
    assert texts(dispatcher) == [
        t("report.filed", "zh-Hans", ref=ticket.ref, category="照明故障", owner=owner_name),
        t("webchat.status_link", "zh-Hans", url=link_of(kb, ticket)),
    ]
    assert full_name not in texts(dispatcher)[0]

    assert ticket.state == TicketState.DISPATCHED
    assert ticket.category_code == "lighting"
    assert (ticket.lat, ticket.lon) == WEST_ENTRANCE
    assert (ticket.micro_grid_code, ticket.grid_code) == ("red_1", "xijin_red")
    assert ticket.description == FILLED["description"]
    assert ticket.description_zh is None  # Chinese already
    assert ticket.photo_file_ids == ["AgADphoto1", "AgADphoto2"]
    assert ticket.contact == "13800138000"
    assert ticket.source_key == "telegram:1001:42"
    assert roster_key(ticket.reporter_id, kb) == USER_KEY
    with kb.session() as session:
        events_logged = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        ).all()
        assert [e.kind for e in events_logged] == ["created", "routed"]
        assert events_logged[0].data["place"]["source"] == "location"
        assert events_logged[1].data["routing"]["rule"] == "volunteer"
        assert events_logged[1].to_state == TicketState.DISPATCHED
        task = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.ticket_id == ticket.id, OutboxMessage.kind == "ticket.task"
            )
        ).all()
        assert [m.recipient_id for m in task] == [ticket.owner_id]


@pytest.mark.parametrize(
    ("where", "micro_grid", "landmark", "source"),
    [
        ("landmark:east_entrance", "red_4", "east_entrance", "landmark"),
        ("grid:red_2", "red_2", None, "grid"),
    ],
)
async def test_submit_with_a_landmark_or_a_picked_grid(
    kb: Database,
    knowledge_base: KnowledgeBase,
    dispatcher: CollectingDispatcher,
    where: str,
    micro_grid: str,
    landmark: str | None,
    source: str,
) -> None:
    await ActionSubmitReport().run(dispatcher, submit_tracker({"report_location": where}), {})

    [ticket] = tickets_in(kb)
    assert ticket.micro_grid_code == micro_grid
    assert ticket.landmark_code == landmark
    assert roster_key(ticket.owner_id, kb) == volunteers_for(knowledge_base, micro_grid, "electrical")[0]
    with kb.session() as session:
        created = session.scalar(select(TicketEvent).where(TicketEvent.kind == "created"))
        assert created is not None and created.data["place"]["source"] == source


async def test_submit_in_english_names_the_category_and_the_owner(
    kb: Database, knowledge_base: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    tracker = submit_tracker(
        {"description": "The lamp is out", "photo": "none", "contact": "none"}, language="en"
    )

    await ActionSubmitReport().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    full_name = roster_entry(knowledge_base, roster_key(ticket.owner_id, kb)).name
    owner = t("ticket.name.honorific", "en", surname=full_name[0])  # "周 from our team"
    assert texts(dispatcher) == [
        t("report.filed", "en", ref=ticket.ref, category="Broken lighting", owner=owner),
        t("webchat.status_link", "en", url=link_of(kb, ticket)),
    ]
    assert ticket.photo_file_ids == []
    assert ticket.contact is None
    assert ticket.description_language == "en"


async def test_submit_without_curated_texts(kb: Database, dispatcher: CollectingDispatcher) -> None:
    tracker = submit_tracker({"description": "La lampe ne marche pas"}, language="fr")

    await ActionSubmitReport().run(dispatcher, tracker, {})

    [ticket] = tickets_in(kb)
    text, link = texts(dispatcher)
    assert text.endswith(NOTE) and "Broken lighting" in text
    # The link is in English, outside the translated text: never through a translation service.
    assert link == t("webchat.status_link", "en", url=link_of(kb, ticket))


async def test_the_same_message_files_one_ticket(kb: Database) -> None:
    first, second = CollectingDispatcher(), CollectingDispatcher()

    await ActionSubmitReport().run(first, submit_tracker(message_id=500), {})
    await ActionSubmitReport().run(second, submit_tracker(message_id=500), {})

    [ticket] = tickets_in(kb)
    assert ticket.ref in texts(first)[0]
    assert ticket.ref in texts(second)[0]


async def test_a_second_report_nearby_is_a_duplicate(kb: Database) -> None:
    await ActionSubmitReport().run(CollectingDispatcher(), submit_tracker(), {})
    dispatcher = CollectingDispatcher()
    other = submit_tracker(
        {"report_location": f"geo:{NEAR_WEST_ENTRANCE[0]:.6f},{NEAR_WEST_ENTRANCE[1]:.6f}"},
        user_key="telegram:2002",
        telegram_id=2002,
        chat_id=2002,
        name="Tourist",
        message_id=7,
        language="en",
    )

    events = await ActionSubmitReport().run(dispatcher, other, {})

    assert events == _cleared()
    original, duplicate = tickets_in(kb)
    assert texts(dispatcher) == [t("report.duplicate", "en", ref=original.ref)]
    assert duplicate.duplicate_of_id == original.id
    assert duplicate.state == TicketState.DUPLICATE
    assert roster_key(duplicate.reporter_id, kb) == "telegram:2002"


async def test_another_category_at_the_same_place_is_no_duplicate(kb: Database) -> None:
    await ActionSubmitReport().run(CollectingDispatcher(), submit_tracker(), {})
    dispatcher = CollectingDispatcher()

    await ActionSubmitReport().run(
        dispatcher, submit_tracker({"issue_category": "sanitation"}, message_id=43), {}
    )

    _, second = tickets_in(kb)
    assert second.duplicate_of_id is None
    assert second.state == TicketState.DISPATCHED
    assert second.ref in texts(dispatcher)[0]


async def test_a_failure_keeps_the_slots(
    kb: Database, dispatcher: CollectingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is down")

    monkeypatch.setattr("actions.report.file_report", broken)

    events = await ActionSubmitReport().run(dispatcher, submit_tracker(), {})

    assert events == []  # nothing cleared: asking again files it without typing it all again
    assert texts(dispatcher) == [t("report.failed", "zh-Hans")]
    assert tickets_in(kb) == []
    assert not customs(dispatcher)
