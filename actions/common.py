"""What every action needs: the user's language, identity and location from the bot's metadata, the
database, and replies from the message catalogue (translated for languages without curated texts)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from community.database import Database, get_database
from community.i18n import is_curated, t
from community.language.service import localise
from community.people.models import Person
from community.people.service import get_or_create_person

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


def person_of(session: Session, tracker: Tracker) -> Person:
    """The person behind the conversation; the front end sends its identity as metadata."""
    user = metadata(tracker).get("user") or {}
    key = str(user.get("key") or f"rasa:{tracker.sender_id}")
    return get_or_create_person(
        session,
        key,
        telegram_id=user.get("telegram_id"),
        chat_id=str(user["chat_id"]) if user.get("chat_id") is not None else None,
        display_name=str(user.get("name") or ""),
        language=language_of(tracker),
    )


def entity_value(tracker: Tracker, entity: str) -> str | None:
    values = list(tracker.get_latest_entity_values(entity))
    return str(values[0]) if values else None


async def text_for(tracker: Tracker, key: str, **params: Any) -> str:
    """A catalogue text in the user's language; other languages get a translation or English with a note."""
    language = language_of(tracker)
    if is_curated(language):
        return t(key, language, **params)
    return await localise(t(key, "en", **params), language)


async def say(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    key: str,
    buttons: list[dict[str, str]] | None = None,
    **params: Any,
) -> None:
    dispatcher.utter_message(text=await text_for(tracker, key, **params), buttons=buttons or [])


async def button(tracker: Tracker, key: str, payload: str) -> dict[str, str]:
    return {"title": await text_for(tracker, key), "payload": payload}


async def menu_buttons(tracker: Tracker) -> list[dict[str, str]]:
    """What works without understanding free text: find, report, my reports, the map."""
    return [
        await button(tracker, "intent.find_service", "/find_service"),
        await button(tracker, "intent.report_issue", "/report_issue"),
        await button(tracker, "intent.check_ticket", "/check_ticket"),
        await button(tracker, "intent.map", "/map"),
    ]
