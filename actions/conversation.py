"""Small talk and navigation: greet, goodbye, thanks, help, out of scope, language."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import database, entity_value, identity_of, menu_buttons, person_of, say
from community.i18n import CURATED_LANGUAGES, LANGUAGE_NAMES, t
from community.people.service import set_language


class _Reply(Action, ABC):
    """An action that answers with one catalogue text (abstract, so rasa-sdk does not register it)."""

    key = ""
    with_menu = False

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        buttons = await menu_buttons(tracker) if self.with_menu else None
        await say(dispatcher, tracker, self.key, buttons=buttons)
        return []


class ActionGreet(_Reply):
    key = "chat.greet"

    def name(self) -> str:
        return "action_greet"


class ActionGoodbye(_Reply):
    key = "chat.goodbye"

    def name(self) -> str:
        return "action_goodbye"


class ActionThank(_Reply):
    key = "chat.thank"

    def name(self) -> str:
        return "action_thank"


class ActionAcknowledge(_Reply):
    key = "chat.acknowledge"

    def name(self) -> str:
        return "action_acknowledge"


class ActionHelp(_Reply):
    key, with_menu = "chat.help", True

    def name(self) -> str:
        return "action_help"


class ActionOutOfScope(_Reply):
    key, with_menu = "chat.out_of_scope", True

    def name(self) -> str:
        return "action_out_of_scope"


class ActionSetLanguage(Action):
    """Remembers the language asked for and confirms in that language."""

    def name(self) -> str:
        return "action_set_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = entity_value(tracker, "language")
        if language not in LANGUAGE_NAMES:
            buttons = [
                {"title": LANGUAGE_NAMES[code], "payload": f'/set_language{{"language": "{code}"}}'}
                for code in CURATED_LANGUAGES
            ]
            await say(dispatcher, tracker, "chat.language_ask", buttons=buttons)
            return []
        if identity_of(tracker) is not None:  # remembered only for a person the bot vouches for
            with database().session() as session:
                set_language(session, person_of(session, tracker), language)
        if language in CURATED_LANGUAGES:
            text = t("chat.language_set", language)
        else:
            text = t("chat.language_other", "en", language=LANGUAGE_NAMES[language])
        # The front end reads this to answer in the new language from now on.
        dispatcher.utter_message(text=text, json_message={"type": "language", "language": language})
        return [SlotSet("language", language)]
