"""actions/conversation.py: small talk from the catalogue in every language, and changing the language."""

from __future__ import annotations

import json

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.conversation import (
    ActionAcknowledge,
    ActionGoodbye,
    ActionGreet,
    ActionHelp,
    ActionOutOfScope,
    ActionSetLanguage,
    ActionThank,
)
from community.database import Database
from community.i18n import t
from community.people.models import Person
from tests.actions.support import (
    CURATED,
    NOTE,
    USER_KEY,
    buttons,
    customs,
    in_english_with_note,
    make_tracker,
)

REPLIES = [
    (ActionGreet, "chat.greet", False),
    (ActionGoodbye, "chat.goodbye", False),
    (ActionThank, "chat.thank", False),
    (ActionAcknowledge, "chat.acknowledge", False),
    (ActionHelp, "chat.help", True),
    (ActionOutOfScope, "chat.out_of_scope", True),
]
MENU = [
    ("intent.find_service", "/find_service"),
    ("intent.report_issue", "/report_issue"),
    ("intent.check_ticket", "/check_ticket"),
    ("intent.map", "/map"),
]


def test_action_names_are_those_of_the_domain(domain: dict) -> None:  # type: ignore[type-arg]
    names = {cls().name() for cls, _, _ in REPLIES} | {ActionSetLanguage().name()}
    assert names <= set(domain["actions"])


@pytest.mark.parametrize("language", CURATED)
@pytest.mark.parametrize(("action", "key", "with_menu"), REPLIES, ids=[k for _, k, _ in REPLIES])
async def test_reply_in_each_curated_language(
    action: type, key: str, with_menu: bool, language: str, dispatcher: CollectingDispatcher
) -> None:
    events = await action().run(dispatcher, make_tracker("…", intent="greet", language=language), {})

    assert events == []
    assert len(dispatcher.messages) == 1
    message = dispatcher.messages[0]
    assert message["text"] == t(key, language)
    expected = [{"title": t(k, language), "payload": p} for k, p in MENU] if with_menu else []
    assert message["buttons"] == expected


@pytest.mark.parametrize(("action", "key", "with_menu"), REPLIES, ids=[k for _, k, _ in REPLIES])
async def test_reply_in_english_with_a_note_without_curated_texts(
    action: type, key: str, with_menu: bool, dispatcher: CollectingDispatcher
) -> None:
    await action().run(dispatcher, make_tracker("bonjour", intent="greet", language="fr"), {})

    [message] = dispatcher.messages
    assert message["text"] == in_english_with_note(key)
    if with_menu:
        # The note is said once, in the message; button titles stay short and plain.
        assert message["buttons"] == [{"title": t(k, "en"), "payload": p} for k, p in MENU]
        assert not any(NOTE in b["title"] for b in message["buttons"])


async def test_missing_language_metadata_means_simplified_chinese(dispatcher: CollectingDispatcher) -> None:
    tracker = make_tracker("你好", intent="greet")
    tracker.latest_message["metadata"] = {}

    await ActionGreet().run(dispatcher, tracker, {})

    assert dispatcher.messages[0]["text"] == t("chat.greet", "zh-Hans")


# --- set_language ---------------------------------------------------------------------------------------


def _person(db: Database, key: str = USER_KEY) -> Person | None:
    with db.session() as session:
        return session.scalar(select(Person).where(Person.external_key == key))


async def test_set_language_without_an_entity_offers_the_curated_languages(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    events = await ActionSetLanguage().run(
        dispatcher, make_tracker("change language", intent="set_language", language="en"), {}
    )

    assert events == []
    [message] = dispatcher.messages
    assert message["text"] == t("chat.language_ask", "en")
    assert [b["title"] for b in message["buttons"]] == ["简体中文", "繁體中文", "English", "日本語", "한국어"]
    for button, code in zip(message["buttons"], CURATED, strict=True):
        intent, _, entities = button["payload"].partition("{")
        assert intent == "/set_language"
        assert json.loads("{" + entities) == {"language": code}
    assert _person(kb) is None  # nothing was stored


async def test_set_language_with_an_unknown_code_offers_the_buttons(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker(
        "Klingon please", intent="set_language", entities={"language": "tlh"}, language="en"
    )

    assert await ActionSetLanguage().run(dispatcher, tracker, {}) == []

    assert len(buttons(dispatcher)) == len(CURATED)


@pytest.mark.parametrize("language", CURATED)
async def test_set_language_to_a_curated_language(
    kb: Database, dispatcher: CollectingDispatcher, language: str
) -> None:
    tracker = make_tracker(
        "switch", intent="set_language", entities={"language": language}, language="zh-Hans"
    )

    events = await ActionSetLanguage().run(dispatcher, tracker, {})

    assert events == [SlotSet("language", language)]
    [message] = dispatcher.messages
    assert message["text"] == t("chat.language_set", language)  # confirmed in the new language
    assert message["custom"] == {"type": "language", "language": language}
    person = _person(kb)
    assert person is not None and person.preferred_language == language


async def test_set_language_to_a_language_without_curated_texts(
    kb: Database, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker(
        "フランス語に変更できますか", intent="set_language", entities={"language": "fr"}, language="ja"
    )

    events = await ActionSetLanguage().run(dispatcher, tracker, {})

    assert events == [SlotSet("language", "fr")]
    assert dispatcher.messages[0]["text"] == t("chat.language_other", "en", language="Français")
    assert customs(dispatcher, "language") == [{"type": "language", "language": "fr"}]
    person = _person(kb)
    assert person is not None and person.preferred_language == "fr"


async def test_set_language_updates_a_known_person(kb: Database) -> None:
    await ActionSetLanguage().run(
        CollectingDispatcher(),
        make_tracker("日本語で", intent="set_language", entities={"language": "ja"}),
        {},
    )
    await ActionSetLanguage().run(
        CollectingDispatcher(),
        make_tracker("한국어로", intent="set_language", entities={"language": "ko"}, language="ja"),
        {},
    )

    with kb.session() as session:
        people = session.scalars(select(Person).where(Person.external_key == USER_KEY)).all()
        assert [p.preferred_language for p in people] == ["ko"]
