"""Trackers as Rasa sends them to the action server, and small readers of what an action answered.

`make_tracker` builds a `rasa_sdk.Tracker` the way Rasa's demo bot tests do (`Tracker.from_dict`), with the
metadata bot/pipeline.py attaches to every message (`Assistant._metadata`), its identity signed as the bot
signs it (with CHANNEL_SECRET, the secret the action tests give the actions; `secret=None` leaves it bare).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from community.i18n import t
from community.identity import sign_metadata

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "nlu" / "domain.yml").read_text(encoding="utf-8"))
SLOTS = [*DOMAIN["slots"], "requested_slot"]
NOTE = t("chat.english_only", "en")
CURATED = ("zh-Hans", "zh-Hant", "en", "ja", "ko")

USER_KEY = "telegram:1001"
CHANNEL_SECRET = "action-tests-channel-secret"


def make_metadata(
    *,
    language: str = "zh-Hans",
    location: tuple[float, float] | None = None,
    location_fresh: bool = False,
    photos: tuple[str, ...] | list[str] = (),
    user_key: str = USER_KEY,
    telegram_id: int | None = 1001,
    name: str = "李雷",
    channel: str = "telegram",
    chat_id: int | str | None = 1001,
    message_id: int | str | None = 42,
    secret: str | None = CHANNEL_SECRET,
    signed_at: float | None = None,
) -> dict[str, Any]:
    metadata = {
        "language": language,
        "channel": channel,
        "chat_id": chat_id,
        "message_id": message_id,
        "user": {"key": user_key, "telegram_id": telegram_id, "chat_id": chat_id, "name": name},
        "location": {"latitude": location[0], "longitude": location[1]} if location else None,
        "location_fresh": location_fresh and location is not None,
        "photos": list(photos),
    }
    # The bot sends each message as its user's key, so the proof is bound to that conversation.
    return metadata if secret is None else sign_metadata(secret, user_key, metadata, signed_at)


def _entity(text: str, name: str, value: str | tuple[str, str]) -> dict[str, Any]:
    """An entity as Rasa reports it: `(value, words)` tags `words` of the text (start/end), a bare value
    carries no span (as a button payload such as `/find_service{"service_type": "toilet"}`)."""
    if isinstance(value, tuple):
        code, words = value
        start = text.index(words)
        return {"entity": name, "value": code, "start": start, "end": start + len(words), "extractor": "DIET"}
    return {"entity": name, "value": value}


def make_tracker(
    text: str = "",
    *,
    intent: str | None = None,
    confidence: float = 0.99,
    entities: dict[str, str | tuple[str, str]] | None = None,
    intent_ranking: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    requested_slot: str | None = None,
    active_loop: str | None = None,
    sender_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    **meta: Any,
) -> Tracker:
    """The tracker Rasa sends for one user message. `meta` goes to `make_metadata` unless `metadata` is
    given whole (a forged one, say)."""
    metadata = make_metadata(**meta) if metadata is None else metadata
    user_key = metadata["user"]["key"]
    latest_message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "entities": [_entity(text, name, value) for name, value in (entities or {}).items()],
        "intent_ranking": intent_ranking or ([{"name": intent, "confidence": confidence}] if intent else []),
        "metadata": metadata,
    }
    all_slots: dict[str, Any] = dict.fromkeys(SLOTS)
    all_slots.update(slots or {})
    if requested_slot is not None:
        all_slots["requested_slot"] = requested_slot
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest_message, "metadata": metadata},
    ]
    return Tracker.from_dict(
        {
            "sender_id": sender_id or user_key,
            "slots": all_slots,
            "latest_message": latest_message,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


# --- reading what an action said ------------------------------------------------------------------------


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages if m.get("text")]


def customs(dispatcher: CollectingDispatcher, kind: str | None = None) -> list[dict[str, Any]]:
    found = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    return [c for c in found if kind is None or c.get("type") == kind]


def buttons(dispatcher: CollectingDispatcher) -> list[dict[str, str]]:
    return [b for m in dispatcher.messages for b in m.get("buttons") or []]


def events_as_slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The SlotSet events of an action as {slot: value} (later events win)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def in_english_with_note(key: str, **params: Any) -> str:
    """What a language without curated texts gets with the null translator."""
    return f"{t(key, 'en', **params)}\n{NOTE}"


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean Earth radius, written out here to check the service map by hand."""
    r = 6_371_008.8
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# --- reading the database -------------------------------------------------------------------------------


def tickets_in(database: Any) -> list[Any]:
    """Every ticket, oldest first (detached, readable after the session)."""
    from sqlalchemy import select

    from community.tickets.models import Ticket

    with database.session() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def roster_key(person_id: int | None, database: Any) -> str | None:
    """The external key ("roster:cm_1", "telegram:1001") of a person id."""
    from community.people.models import Person

    if person_id is None:
        return None
    with database.session() as session:
        person = session.get(Person, person_id)
        return person.external_key if person else None


# --- who the roster says should get a ticket (knowledge/roster.yml, through the parsed knowledge base) ---


def volunteers_for(knowledge: Any, micro_grid: str, skill: str) -> list[str]:
    """External keys of the on-duty volunteers of a micro-grid with a skill, in roster order (which is the
    order of their person ids, so the first one is whom routing picks when nobody has open work)."""
    return [
        f"roster:{p.id}"
        for p in knowledge.people
        if p.on_duty
        and skill in p.skills
        and any(r.role == "volunteer" and r.grid == micro_grid for r in p.roles)
    ]


def people_with_role(knowledge: Any, role: str, grid: str | None = None) -> list[str]:
    return [
        f"roster:{p.id}"
        for p in knowledge.people
        if any(r.role == role and (grid is None or r.grid == grid) for r in p.roles)
    ]


def roster_entry(knowledge: Any, key: str) -> Any:
    return next(p for p in knowledge.people if f"roster:{p.id}" == key)
