"""actions/fallback.py: Rasa's two-stage fallback in our texts: likely intents, rephrase, the menu.

Rasa's TwoStageFallbackAction (rasa/core/actions/two_stage_fallback.py) ends the loop as soon as the
latest intent is anything but `nlu_fallback` or `out_of_scope`: "none of these" must be `/out_of_scope` for
Rasa to go on to the rephrase step (a `/deny` would end the loop as if the user had meant "no").
"""

from __future__ import annotations

import pytest
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import MAX_OFFERED, ActionAskAffirmation, ActionAskRephrase, ActionDefaultFallback
from community.i18n import t
from tests.actions.support import CURATED, NOTE, in_english_with_note, make_tracker

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.7},
    {"name": "faq", "confidence": 0.31},
    {"name": "find_service", "confidence": 0.22},
    {"name": "out_of_scope", "confidence": 0.2},
    {"name": "report_issue", "confidence": 0.12},
    {"name": "greet", "confidence": 0.05},
    {"name": "emergency", "confidence": 0.04},
    {"name": "thank", "confidence": 0.01},
]
MENU = ["/find_service", "/report_issue", "/check_ticket", "/map"]


def _tracker(language: str = "zh-Hans", ranking: list[dict] | None = None):  # type: ignore[no-untyped-def, type-arg]
    return make_tracker(
        "嗯嗯那个啥",
        intent="nlu_fallback",
        confidence=0.7,
        intent_ranking=ranking or RANKING,
        language=language,
    )


def test_action_names_are_rasas(domain: dict) -> None:  # type: ignore[type-arg]
    names = {"action_default_ask_affirmation", "action_default_ask_rephrase", "action_default_fallback"}
    assert {a().name() for a in (ActionAskAffirmation, ActionAskRephrase, ActionDefaultFallback)} == names
    assert names <= set(domain["actions"])


@pytest.mark.parametrize("language", CURATED)
async def test_ask_affirmation_offers_the_likely_intents(
    dispatcher: CollectingDispatcher, language: str
) -> None:
    events = await ActionAskAffirmation().run(dispatcher, _tracker(language), {})

    assert events == []
    [message] = dispatcher.messages
    assert message["text"] == t("fallback.ask_affirmation", language)
    # The best three that make sense as a button of their own, in the model's order; faq needs a topic and
    # nlu_fallback / out_of_scope are no answer.
    assert message["buttons"] == [
        {"title": t("intent.find_service", language), "payload": "/find_service"},
        {"title": t("intent.report_issue", language), "payload": "/report_issue"},
        {"title": t("intent.greet", language), "payload": "/greet"},
        {"title": t("fallback.none_of_these", language), "payload": "/out_of_scope"},
    ]
    assert len(message["buttons"]) == MAX_OFFERED + 1


async def test_ask_affirmation_with_nothing_likely(dispatcher: CollectingDispatcher) -> None:
    await ActionAskAffirmation().run(
        dispatcher,
        _tracker("en", [{"name": "nlu_fallback", "confidence": 0.9}, {"name": "faq", "confidence": 0.1}]),
        {},
    )

    assert dispatcher.messages[0]["buttons"] == [
        {"title": t("fallback.none_of_these", "en"), "payload": "/out_of_scope"}
    ]


async def test_ask_affirmation_without_a_ranking(dispatcher: CollectingDispatcher) -> None:
    tracker = _tracker("en")
    tracker.latest_message.pop("intent_ranking")

    await ActionAskAffirmation().run(dispatcher, tracker, {})

    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/out_of_scope"]


async def test_ask_affirmation_without_curated_texts(dispatcher: CollectingDispatcher) -> None:
    await ActionAskAffirmation().run(dispatcher, _tracker("fr"), {})

    [message] = dispatcher.messages
    assert message["text"] == in_english_with_note("fallback.ask_affirmation")
    assert [b["title"] for b in message["buttons"]] == [
        t("intent.find_service", "en"),
        t("intent.report_issue", "en"),
        t("intent.greet", "en"),
        t("fallback.none_of_these", "en"),
    ]
    assert not any(NOTE in b["title"] for b in message["buttons"])


@pytest.mark.parametrize("language", CURATED)
async def test_rephrase(dispatcher: CollectingDispatcher, language: str) -> None:
    assert await ActionAskRephrase().run(dispatcher, _tracker(language), {}) == []

    [message] = dispatcher.messages
    assert message["text"] == t("fallback.rephrase", language)
    assert message["buttons"] == []


@pytest.mark.parametrize("language", CURATED)
async def test_default_fallback_shows_the_menu_and_forgets_the_message(
    dispatcher: CollectingDispatcher, language: str
) -> None:
    events = await ActionDefaultFallback().run(dispatcher, _tracker(language), {})

    assert events == [UserUtteranceReverted()]
    [message] = dispatcher.messages
    assert message["text"] == t("fallback.default", language)
    assert [b["payload"] for b in message["buttons"]] == MENU
    assert message["buttons"][0]["title"] == t("intent.find_service", language)


async def test_default_fallback_without_curated_texts(dispatcher: CollectingDispatcher) -> None:
    events = await ActionDefaultFallback().run(dispatcher, _tracker("de"), {})

    assert events == [UserUtteranceReverted()]
    [message] = dispatcher.messages
    assert message["text"] == in_english_with_note("fallback.default")
    assert [b["title"] for b in message["buttons"]] == [
        t(k, "en")
        for k in ("intent.find_service", "intent.report_issue", "intent.check_ticket", "intent.map")
    ]
