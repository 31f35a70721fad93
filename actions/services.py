"""Finding the nearest service point on the red service map."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.common import (
    Location,
    database,
    entity_value,
    inline_text,
    label_for,
    landmark_named,
    language_of,
    location_of,
    mentions,
    say,
    text_for,
)
from community.database import utcnow
from community.grids.models import Landmark
from community.i18n import catalogue
from community.knowledge.schema import SERVICE_TYPES
from community.servicemap.service import nearest, venue_payload

# The types offered as buttons when the user did not say what they look for.
COMMON_TYPES = ("toilet", "first_aid", "charging", "luggage", "drinking_water", "volunteer_station")


def service_type_in_text(text: str) -> str | None:
    """A service type named in the text in any curated language (when the model found no entity)."""
    for code in SERVICE_TYPES:
        names = catalogue()[f"type.{code}"].values()
        if any(mentions(text, name) for name in names if len(name) >= 2):
            return code
    return None


def landmark_location(session: Session, code: str | None) -> Location | None:
    if not code:
        return None
    landmark = session.get(Landmark, code)
    return Location(landmark.lat, landmark.lon) if landmark else None


async def send_nearest(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    session: Session,
    where: Location,
    service_type: str,
    *,
    intro_key: str = "service.found",
    limit: int = 3,
) -> bool:
    """Nearest points of a type: a line of text and a venue for each. False when there is none."""
    language = language_of(tracker)
    type_name = inline_text(tracker, f"type.{service_type}")
    found = nearest(session, where.latitude, where.longitude, service_type, open_at=utcnow(), limit=limit)
    if not found:
        await say(dispatcher, tracker, "service.none", type=type_name)
        return False
    dispatcher.utter_message(text=await text_for(tracker, intro_key, type=type_name))
    # One venue each: Telegram shows a pin with name and address, the terminal a line with a map link.
    for item in found:
        dispatcher.utter_message(json_message=venue_payload(item, language))
    return True


async def ask_for_location(
    dispatcher: CollectingDispatcher, tracker: Tracker, text_key: str, reply_payload: str, **params: Any
) -> None:
    """A location request the front end shows natively; the shared location comes back with reply_payload."""
    dispatcher.utter_message(
        json_message={
            "type": "location_request",
            "text": await text_for(tracker, text_key, **params),
            "button": await label_for(tracker, "service.share_button"),
            "reply_payload": reply_payload,
        }
    )


class ActionFindService(Action):
    def name(self) -> str:
        return "action_find_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        service_type = (
            entity_value(tracker, "service_type")
            or service_type_in_text(tracker.latest_message.get("text") or "")
            or tracker.get_slot("service_type")
        )
        if service_type not in SERVICE_TYPES:
            buttons = [
                {
                    "title": await label_for(tracker, f"type.{code}"),
                    "payload": "/find_service" + json.dumps({"service_type": code}),
                }
                for code in COMMON_TYPES
            ]
            await say(dispatcher, tracker, "service.ask_type", buttons=buttons)
            return []
        with database().session() as session:
            where = landmark_location(session, landmark_named(session, tracker)) or location_of(tracker)
            if where is None:
                await ask_for_location(
                    dispatcher,
                    tracker,
                    "service.ask_location",
                    "/find_service" + json.dumps({"service_type": service_type}),
                    type=inline_text(tracker, f"type.{service_type}"),
                )
            else:
                await send_nearest(dispatcher, tracker, session, where, service_type)
        return [SlotSet("service_type", service_type)]
