"""actions/emergency.py and the emergency net's finding (nlu/xijin_nlu/emergency_net.py): the number to call
first and the ticket's category come from the kind the net found; without a finding, the ambulance first."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import ActionEmergency
from community.database import Database
from community.i18n import t
from tests.actions.support import CURATED, make_tracker, tickets_in

AT_LOVE_STATION = (32.2098, 119.4312)


def tracker_with_finding(text: str, finding: dict[str, str] | None, language: str = "zh-Hans") -> Tracker:
    tracker = make_tracker(text, intent="emergency", location=AT_LOVE_STATION, language=language)
    if finding is not None:
        # What Rasa's parse result carries when the net matched (EmergencyNet.process).
        tracker.latest_message["emergency_net"] = {**finding, "terms": ["拿刀"]}
    return tracker


@pytest.mark.parametrize("language", CURATED)
async def test_a_weapon_gives_the_police_first(
    kb: Database, dispatcher: CollectingDispatcher, language: str
) -> None:
    finding = {"kind": "weapon", "call": "police", "category": "first_aid"}
    tracker = tracker_with_finding("有人在打架，還拿刀", finding, language)

    await ActionEmergency().run(dispatcher, tracker, {})

    first = dispatcher.messages[0]["text"]
    assert first == t("emergency.call_police", language)
    assert first.index("110") < first.index("120") and first.index("110") < first.index("119")
    [ticket] = tickets_in(kb)
    assert ticket.category_code == "first_aid"


async def test_a_gas_smell_gives_the_fire_brigade_first_and_files_a_fire(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    # No keyword of an emergency category in the words: the category is the net's.
    finding = {"kind": "gas", "call": "fire", "category": "fire"}
    tracker = tracker_with_finding("It smells of gas in the lane, really strong", finding, "en")

    await ActionEmergency().run(dispatcher, tracker, {})

    first = dispatcher.messages[0]["text"]
    assert first == t("emergency.call_fire", "en")
    assert first.index("119") < first.index("120") and first.index("119") < first.index("110")
    [ticket] = tickets_in(kb)
    assert ticket.category_code == "fire"


async def test_a_lost_child_is_a_missing_person_for_the_police(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    finding = {"kind": "lost_child", "call": "police", "category": "missing_person"}
    tracker = tracker_with_finding("우리 애가 안 보여요", finding, "ko")

    await ActionEmergency().run(dispatcher, tracker, {})

    assert dispatcher.messages[0]["text"] == t("emergency.call_police", "ko")
    [ticket] = tickets_in(kb)
    assert ticket.category_code == "missing_person"


async def test_without_a_finding_the_ambulance_comes_first(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = tracker_with_finding("救命", None)

    await ActionEmergency().run(dispatcher, tracker, {})

    first = dispatcher.messages[0]["text"]
    assert first == t("emergency.call", "zh-Hans")
    assert first.index("120") < first.index("110")
