"""actions/services.py: the nearest service points as venues, by location or landmark, or asking."""

from __future__ import annotations

import json
import math

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.services import COMMON_TYPES, ActionFindService, service_type_in_text
from community.database import Database
from community.i18n import t
from tests.actions.conftest import NIGHT
from tests.actions.support import (
    CURATED,
    NOTE,
    customs,
    haversine_m,
    in_english_with_note,
    make_tracker,
    texts,
)

# Beside the Zhaoguan Stone Pagoda (a few metres north-east of its public toilet).
AT_PAGODA = (32.2099, 119.4289)
# sp_toilet_2 in knowledge/service_points.yml: "公共厕所（昭关石塔）", 西津渡街25号, open 06:00–22:00.
TOILET_2 = (32.2097, 119.4287)
# sp_toilet_4, by the East Entrance (landmark east_entrance at 32.2100, 119.4352).
TOILET_4 = (32.2095, 119.4349)
EAST_ENTRANCE = (32.21, 119.4352)


def _payload(intent: str, entities: dict[str, str]) -> str:
    return intent + json.dumps(entities)


def _split(payload: str) -> tuple[str, dict[str, str]]:
    intent, brace, rest = payload.partition("{")
    return intent, json.loads(brace + rest)


async def test_nearest_toilets_from_a_shared_location(kb: Database, dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker(
        "附近有厕所吗",
        intent="find_service",
        entities={"service_type": ("toilet", "厕所")},
        location=AT_PAGODA,
    )

    events = await ActionFindService().run(dispatcher, tracker, {})

    assert events == [SlotSet("service_type", "toilet")]
    assert texts(dispatcher) == [t("service.found", "zh-Hans", type=t("type.toilet", "zh-Hans"))]
    venues = customs(dispatcher, "venue")
    assert len(venues) == 3
    assert dispatcher.messages[0]["text"]  # the sentence first, then the venues
    first = venues[0]
    # By hand: Δlat 0.0002° ≈ 22.24 m, Δlon 0.0002° × cos 32.21° ≈ 18.82 m, so √(22.24² + 18.82²) ≈ 29.1 m;
    # on foot 29.1 m × 1.3 detour ÷ 75 m/min (4.5 km/h) ≈ 0.5 min, rounded up to 1.
    assert first == {
        "type": "venue",
        "latitude": TOILET_2[0],
        "longitude": TOILET_2[1],
        "title": "公共厕所（昭关石塔）",
        "address": "西津渡街25号",
        "distance_m": 29,
        "walk_min": 1,
        "open_now": True,
        "map_url": first["map_url"],
    }
    assert abs(haversine_m(*AT_PAGODA, *TOILET_2) - 29.1) < 0.1
    assert first["walk_min"] == math.ceil(haversine_m(*AT_PAGODA, *TOILET_2) * 1.3 / 75)
    assert "mlat=32.209700&mlon=119.428700" in first["map_url"]
    # The next two are the Yuntai Pavilion (≈ 315 m) and Xiaomatou Street (≈ 320 m) toilets, in that order.
    assert [v["title"] for v in venues[1:]] == ["公共厕所（云台阁）", "公共厕所（小码头街）"]
    distances = [v["distance_m"] for v in venues]
    assert distances == sorted(distances)


@pytest.mark.parametrize("language", CURATED)
async def test_venues_are_in_the_users_language(
    kb: Database, dispatcher: CollectingDispatcher, language: str
) -> None:
    tracker = make_tracker(
        "/find_service",
        intent="find_service",
        entities={"service_type": "toilet"},
        location=AT_PAGODA,
        language=language,
    )

    await ActionFindService().run(dispatcher, tracker, {})

    assert texts(dispatcher) == [t("service.found", language, type=t("type.toilet", language))]
    first = customs(dispatcher, "venue")[0]
    expected = {
        "zh-Hans": "公共厕所（昭关石塔）",
        "zh-Hant": "公共廁所（昭關石塔）",
        "en": "Public Toilet (Zhaoguan Pagoda)",
        "ja": "公衆トイレ（昭関石塔）",
        "ko": "공중화장실(자오관 석탑)",
    }
    assert first["title"] == expected[language]


async def test_a_landmark_instead_of_a_location(kb: Database, dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker(
        "东门附近的厕所在哪",
        intent="find_service",
        entities={"service_type": ("toilet", "厕所"), "landmark": ("east_entrance", "东门")},
    )

    events = await ActionFindService().run(dispatcher, tracker, {})

    assert events == [SlotSet("service_type", "toilet")]
    first = customs(dispatcher, "venue")[0]
    assert (first["latitude"], first["longitude"]) == TOILET_4
    assert first["title"] == "公共厕所（东入口）"
    assert first["distance_m"] == round(haversine_m(*EAST_ENTRANCE, *TOILET_4))  # 62 m
    assert not customs(dispatcher, "location_request")


async def test_a_named_landmark_wins_over_the_last_location(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker(
        "toilet near the east gate",
        intent="find_service",
        entities={"service_type": ("toilet", "toilet"), "landmark": ("east_entrance", "east gate")},
        location=AT_PAGODA,
        language="en",
    )

    await ActionFindService().run(dispatcher, tracker, {})

    assert customs(dispatcher, "venue")[0]["title"] == "Public Toilet (East Entrance)"


async def test_a_landmark_the_model_did_not_tag_is_read_from_the_words(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker(
        "any toilet near the pagoda?",
        intent="find_service",
        entities={"service_type": ("toilet", "toilet")},
        language="en",
    )

    await ActionFindService().run(dispatcher, tracker, {})

    assert customs(dispatcher, "venue")[0]["title"] == "Public Toilet (Zhaoguan Pagoda)"
    assert not customs(dispatcher, "location_request")


async def test_without_a_location_asks_for_one(kb: Database, dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker("厕所在哪", intent="find_service", entities={"service_type": ("toilet", "厕所")})

    events = await ActionFindService().run(dispatcher, tracker, {})

    assert events == [SlotSet("service_type", "toilet")]
    [request] = customs(dispatcher)
    assert request == {
        "type": "location_request",
        "text": t("service.ask_location", "zh-Hans", type="厕所"),
        "button": t("service.share_button", "zh-Hans"),
        "reply_payload": request["reply_payload"],
    }
    # The shared location comes back as this message, so the search goes on with the same type.
    assert _split(request["reply_payload"]) == ("/find_service", {"service_type": "toilet"})
    assert not customs(dispatcher, "venue")


async def test_without_a_type_offers_the_common_types(kb: Database, dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker("我想找个地方", intent="find_service", location=AT_PAGODA, language="ja")

    events = await ActionFindService().run(dispatcher, tracker, {})

    assert events == []
    [message] = dispatcher.messages
    assert message["text"] == t("service.ask_type", "ja")
    assert [b["title"] for b in message["buttons"]] == [t(f"type.{c}", "ja") for c in COMMON_TYPES]
    assert [_split(b["payload"]) for b in message["buttons"]] == [
        ("/find_service", {"service_type": c}) for c in COMMON_TYPES
    ]


async def test_an_unknown_type_offers_the_common_types(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker("spa", intent="find_service", entities={"service_type": "spa"}, location=AT_PAGODA)

    assert await ActionFindService().run(dispatcher, tracker, {}) == []
    assert len(dispatcher.messages[0]["buttons"]) == len(COMMON_TYPES)


async def test_the_type_asked_before_carries_over(kb: Database, dispatcher: CollectingDispatcher) -> None:
    # The bot sends a shared location as the pending reply payload; a bare /find_service still means toilets.
    tracker = make_tracker(
        "/find_service",
        intent="find_service",
        slots={"service_type": "toilet"},
        location=AT_PAGODA,
        location_fresh=True,
    )

    assert await ActionFindService().run(dispatcher, tracker, {}) == [SlotSet("service_type", "toilet")]
    assert customs(dispatcher, "venue")[0]["title"] == "公共厕所（昭关石塔）"


async def test_closed_points_are_not_offered(
    kb: Database, dispatcher: CollectingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("actions.services.utcnow", lambda: NIGHT)
    tracker = make_tracker(
        "toilet", intent="find_service", entities={"service_type": "toilet"}, location=AT_PAGODA
    )

    await ActionFindService().run(dispatcher, tracker, {})

    # At 02:30 only the West Entrance toilet (24 h) is open; the one at the pagoda closes at 22:00.
    venues = customs(dispatcher, "venue")
    assert [v["title"] for v in venues] == ["公共厕所（西入口）"]


async def test_none_open_says_so(
    kb: Database, dispatcher: CollectingDispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("actions.services.utcnow", lambda: NIGHT)
    tracker = make_tracker(
        "luggage",
        intent="find_service",
        entities={"service_type": "luggage"},
        location=AT_PAGODA,
        language="en",
    )

    await ActionFindService().run(dispatcher, tracker, {})

    assert texts(dispatcher) == [t("service.none", "en", type=t("type.luggage", "en"))]
    assert not customs(dispatcher)


async def test_without_curated_texts_the_note_comes_once(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker(
        "où sont les toilettes", intent="find_service", entities={"service_type": "toilet"}, language="fr"
    )

    await ActionFindService().run(dispatcher, tracker, {})

    [request] = customs(dispatcher, "location_request")
    # The type is part of the English sentence, not a sentence of its own with its own note.
    assert request["text"] == in_english_with_note("service.ask_location", type=t("type.toilet", "en"))
    assert request["button"] == t("service.share_button", "en")
    assert NOTE not in request["button"]


async def test_without_curated_texts_type_buttons_are_plain(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    await ActionFindService().run(
        dispatcher, make_tracker("je cherche", intent="find_service", language="fr"), {}
    )

    [message] = dispatcher.messages
    assert message["text"] == in_english_with_note("service.ask_type")
    assert [b["title"] for b in message["buttons"]] == [t(f"type.{c}", "en") for c in COMMON_TYPES]


async def test_found_without_curated_texts(kb: Database, dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker(
        "toilettes",
        intent="find_service",
        entities={"service_type": "toilet"},
        location=AT_PAGODA,
        language="fr",
    )

    await ActionFindService().run(dispatcher, tracker, {})

    assert texts(dispatcher) == [in_english_with_note("service.found", type=t("type.toilet", "en"))]
    assert customs(dispatcher, "venue")[0]["title"] == "Public Toilet (Zhaoguan Pagoda)"


# --- the type named in free text, when the model tagged none -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("附近有厕所吗", "toilet"),
        ("附近有廁所嗎", "toilet"),
        ("Where is the nearest toilet?", "toilet"),
        ("where are the toilets", "toilet"),
        ("トイレはどこですか", "toilet"),
        ("화장실 어디예요", "toilet"),
        ("最近的急救点在哪", "first_aid"),
        ("I need an ATM", "atm"),
        ("哪里有充电点", "charging"),
        ("我想吃东西", None),
        # A type's name inside another word is not that type.
        ("where can I get medical treatment", None),
        ("I forgot my toiletries", None),
    ],
)
def test_service_type_in_text(text: str, expected: str | None) -> None:
    assert service_type_in_text(text) == expected


def test_payloads_of_the_type_buttons_parse_back() -> None:
    payload = _payload("/find_service", {"service_type": "first_aid"})
    assert _split(payload) == ("/find_service", {"service_type": "first_aid"})
