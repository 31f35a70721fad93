"""What every action needs: the user's language, identity and location from the bot's metadata, the
database, and replies from the message catalogue (translated for languages without curated texts).

The identity is believed only with the bot's proof (community/identity.py): this is the one place that
reads it, so a message that did not come from the bot names nobody — no tickets shown, nothing filed or
changed for anyone.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session

from community.database import Database, get_database
from community.grids.models import Landmark
from community.i18n import FALLBACK_LANGUAGE, is_curated, t
from community.identity import verified_user
from community.language.service import get_translator, localise
from community.language.translate import TranslationUnavailable
from community.people.models import Person
from community.people.service import get_or_create_person
from community.settings import get_settings
from community.tickets.models import IssueCategory

logger = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "zh-Hans"


def metadata(tracker: Tracker) -> dict[str, Any]:
    """The metadata the front end sent with the latest message (language, user, location, photos)."""
    return dict(tracker.latest_message.get("metadata") or {})


def language_of(tracker: Tracker) -> str:
    return str(metadata(tracker).get("language") or DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


def location_of(tracker: Tracker) -> Location | None:
    """The user's last shared location, as the front end knows it."""
    loc = metadata(tracker).get("location")
    if not isinstance(loc, dict):
        return None
    try:
        return Location(float(loc["latitude"]), float(loc["longitude"]))
    except (KeyError, TypeError, ValueError):
        return None


def fresh_location_of(tracker: Tracker) -> Location | None:
    """A location shared with this very message (for a report: where the problem is)."""
    return location_of(tracker) if metadata(tracker).get("location_fresh") else None


def photos_of(tracker: Tracker) -> list[str]:
    return [str(p) for p in metadata(tracker).get("photos") or []]


def source_key_of(tracker: Tracker) -> str | None:
    """channel:chat:message id of the latest message: the same message files one ticket."""
    meta = metadata(tracker)
    if meta.get("channel") and meta.get("chat_id") is not None and meta.get("message_id") is not None:
        return f"{meta['channel']}:{meta['chat_id']}:{meta['message_id']}"
    return None


def database() -> Database:
    return get_database()


class AnonymousCaller(Exception):
    """The message carries no valid proof that the bot sent it for this person."""


def channel_secret() -> str:
    return get_settings().xijin_channel_secret.get_secret_value()


def identity_of(tracker: Tracker) -> dict[str, Any] | None:
    """The user the bot vouches for in the latest message (key, telegram_id, chat_id, name), or None."""
    return verified_user(channel_secret(), str(tracker.sender_id), metadata(tracker))


def person_of(session: Session, tracker: Tracker) -> Person:
    """The person behind the conversation, as the bot signed it; registered on first contact.

    Raises AnonymousCaller without the bot's proof: callers check `refuse_anonymous` first.
    """
    user = identity_of(tracker)
    if user is None:
        raise AnonymousCaller(f"no valid identity proof for sender {tracker.sender_id!r}")
    return get_or_create_person(
        session,
        str(user["key"]),
        telegram_id=user.get("telegram_id"),
        chat_id=str(user["chat_id"]) if user.get("chat_id") is not None else None,
        display_name=str(user.get("name") or ""),
        language=language_of(tracker),
    )


async def refuse_anonymous(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """True, with a polite answer, when nobody the bot vouches for sent the message: such a caller gets no
    personal data and changes nothing."""
    if identity_of(tracker) is not None:
        return False
    logger.warning("no valid identity proof (sender %r): nothing personal done", tracker.sender_id)
    await say(dispatcher, tracker, "chat.anonymous")
    return True


def entity_value(tracker: Tracker, entity: str) -> str | None:
    values = list(tracker.get_latest_entity_values(entity))
    return str(values[0]) if values else None


def entity_spans(tracker: Tracker, entity: str) -> list[str]:
    """What the model tagged as `entity`: each value, then the text it was found in.

    A value is a code when the tagged words were a synonym seen in training ("西入口" → west_entrance); for
    words it has not seen, DIET returns the words themselves, often cut short or split ("西入口牌", "坊").
    """
    text = str(tracker.latest_message.get("text") or "")
    spans: list[str] = []
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") != entity:
            continue
        spans.append(str(found.get("value") or ""))
        start, end = found.get("start"), found.get("end")
        if isinstance(start, int) and isinstance(end, int):
            spans.append(text[start:end])
    return [s for s in dict.fromkeys(spans) if s.strip()]


_LATIN = re.compile(r"[a-z0-9]")


def mentions(text: str, word: str) -> bool:
    """`word` in `text`, ignoring case. Han, kana and Hangul match anywhere (no spaces between words); a
    Latin word only as a whole word, plural allowed: "atm" is not in "treatment", "toilet" is in "toilets"."""
    word = word.strip().lower()
    if not word:
        return False
    before = r"(?<![a-z0-9])" if _LATIN.match(word[0]) else ""
    after = r"(?:e?s)?(?![a-z0-9])" if _LATIN.match(word[-1]) else ""
    return re.search(before + re.escape(word) + after, text.lower()) is not None


def _most_specific(text: str, candidates: list[tuple[str, list[str]]]) -> str | None:
    """The code whose longest word is in the text: "老人走失" (a missing person) beats "老人" (an elderly
    person who needs help). Ties go to the first code in alphabetical order, on every database."""
    best: tuple[int, str] | None = None
    for code, words in sorted(candidates):
        for word in words:
            if mentions(text, word) and (best is None or len(word) > best[0]):
                best = (len(word), code)
    return best[1] if best else None


def category_in_text(text: str, categories: list[IssueCategory]) -> str | None:
    """A category named by one of its keywords or names, in any language (when the model found none)."""
    return _most_specific(
        text,
        [
            (c.code, [w for words in c.keywords.values() for w in words] + list(c.names.values()))
            for c in categories
        ],
    )


def landmark_in_text(text: str, landmarks: list[Landmark]) -> str | None:
    return _most_specific(text, [(lm.code, [*lm.names.values(), *lm.aliases]) for lm in landmarks])


def _tagged_code(spans: list[str], codes: set[str], in_text: Callable[[str], str | None]) -> str | None:
    """The code the model tagged: its value when that is a known code, else the words it tagged, matched."""
    for span in spans:
        if span in codes:
            return span
    for span in spans:
        if code := in_text(span):
            return code
    return None


def landmark_entity(session: Session, tracker: Tracker) -> str | None:
    """The code of the landmark the model tagged in the latest message, or None when the tagged words name
    no landmark we know."""
    spans = entity_spans(tracker, "landmark")
    if not spans:
        return None
    landmarks = list(session.scalars(select(Landmark).where(Landmark.active)))
    return _tagged_code(
        spans, {lm.code for lm in landmarks}, lambda words: landmark_in_text(words, landmarks)
    )


def landmark_named(session: Session, tracker: Tracker) -> str | None:
    """The landmark the model tagged, else one the message names ("someone collapsed near the pagoda" with no
    tag): where someone needs help or a service now, a place in the words beats asking for a location."""
    if code := landmark_entity(session, tracker):
        return code
    landmarks = list(session.scalars(select(Landmark).where(Landmark.active)))
    return landmark_in_text(str(tracker.latest_message.get("text") or ""), landmarks)


def category_entity(session: Session, tracker: Tracker) -> str | None:
    """The code of the issue category the model tagged in the latest message (see landmark_entity)."""
    spans = entity_spans(tracker, "issue_category")
    if not spans:
        return None
    categories = list(session.scalars(select(IssueCategory).where(IssueCategory.active)))
    return _tagged_code(
        spans, {c.code for c in categories}, lambda words: category_in_text(words, categories)
    )


async def text_for(tracker: Tracker, key: str, **params: Any) -> str:
    """A catalogue text in the user's language; other languages get a translation or English with a note."""
    language = language_of(tracker)
    if is_curated(language):
        return t(key, language, **params)
    return await localise(t(key, "en", **params), language)


def inline_text(tracker: Tracker, key: str, **params: Any) -> str:
    """A catalogue text to put inside another one ("the nearest {type}"): in the user's language when it is
    curated, else in English, so that the sentence around it is translated (or noted) once, as a whole."""
    language = language_of(tracker)
    return t(key, language if is_curated(language) else FALLBACK_LANGUAGE, **params)


async def label_for(tracker: Tracker, key: str) -> str:
    """A short text on its own, such as a button title: translated when that works, else plain English.
    The "can't translate" note belongs to the message once, not to every button under it."""
    language = language_of(tracker)
    if is_curated(language):
        return t(key, language)
    english = t(key, FALLBACK_LANGUAGE)
    try:
        return (await get_translator().translate(english, language, FALLBACK_LANGUAGE)).text
    except TranslationUnavailable:
        return english


async def say(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    key: str,
    buttons: list[dict[str, str]] | None = None,
    **params: Any,
) -> None:
    dispatcher.utter_message(text=await text_for(tracker, key, **params), buttons=buttons or [])


async def button(tracker: Tracker, key: str, payload: str) -> dict[str, str]:
    return {"title": await label_for(tracker, key), "payload": payload}


async def menu_buttons(tracker: Tracker) -> list[dict[str, str]]:
    """What works without understanding free text: find, report, my reports, the map."""
    return [
        await button(tracker, "intent.find_service", "/find_service"),
        await button(tracker, "intent.report_issue", "/report_issue"),
        await button(tracker, "intent.check_ticket", "/check_ticket"),
        await button(tracker, "intent.map", "/map"),
    ]
