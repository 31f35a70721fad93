"""The two-stage fallback: offer the likely intents as buttons, then ask to rephrase, then show the menu."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.common import label_for, menu_buttons, say

# Intents that make sense as a button of their own; `faq` needs its topic and `nlu_fallback` is no answer.
OFFERABLE = {
    "greet",
    "goodbye",
    "thank",
    "bot_help",
    "set_language",
    "find_service",
    "report_issue",
    "emergency",
    "check_ticket",
    "talk_to_human",
}
MAX_OFFERED = 3


class ActionAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        likely = [r["name"] for r in ranking if r.get("name") in OFFERABLE][:MAX_OFFERED]
        buttons = [
            {"title": await label_for(tracker, f"intent.{name}"), "payload": f"/{name}"} for name in likely
        ]
        # Rasa's two-stage fallback goes on to "rephrase" only for out_of_scope (its own "No" button); any
        # other intent, /deny included, ends the loop as if the user had meant that intent.
        none_of_these = await label_for(tracker, "fallback.none_of_these")
        buttons.append({"title": none_of_these, "payload": "/out_of_scope"})
        await say(dispatcher, tracker, "fallback.ask_affirmation", buttons=buttons)
        return []


class ActionAskRephrase(Action):
    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        await say(dispatcher, tracker, "fallback.rephrase")
        return []


class ActionDefaultFallback(Action):
    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        await say(dispatcher, tracker, "fallback.default", buttons=await menu_buttons(tracker))
        # Forget the message we could not understand, so it does not steer the next prediction.
        return [UserUtteranceReverted()]
