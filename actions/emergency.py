"""Emergencies: the numbers at once, the nearest first-aid point, and an emergency ticket to every level."""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    database,
    entity_value,
    language_of,
    location_of,
    metadata,
    person_of,
    say,
    source_key_of,
)
from actions.services import ask_for_location, landmark_location, send_nearest
from community.database import utcnow
from community.language.service import to_chinese_for_staff
from community.tickets.service import file_report

logger = logging.getLogger(__name__)

EMERGENCY_CATEGORIES = ("first_aid", "missing_person", "fire")
# Where the first-aid point search starts when we do not know where the user is: the Love Station.
FALLBACK_LANDMARK = "love_station"


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # The numbers come first, before anything that could fail or take time.
        await say(dispatcher, tracker, "emergency.call")
        category = entity_value(tracker, "issue_category")
        if category not in EMERGENCY_CATEGORIES:
            category = "first_aid"
        text = tracker.latest_message.get("text") or ""
        language = language_of(tracker)
        landmark = entity_value(tracker, "landmark")
        try:
            with database().session() as session:
                where = landmark_location(session, landmark) or location_of(tracker)
                await send_nearest(
                    dispatcher,
                    tracker,
                    session,
                    where or landmark_location(session, FALLBACK_LANDMARK),  # type: ignore[arg-type]
                    "first_aid",
                    intro_key="emergency.nearest",
                    limit=1,
                )
                result = file_report(
                    session,
                    reporter=person_of(session, tracker),
                    category_code=category,
                    lat=where.latitude if where else None,
                    lon=where.longitude if where else None,
                    landmark_code=landmark,
                    description=text,
                    description_language=language,
                    description_zh=await to_chinese_for_staff(text, language),
                    photo_file_ids=tuple(metadata(tracker).get("photos") or ()),
                    channel=str(metadata(tracker).get("channel") or "rasa"),
                    source_key=source_key_of(tracker),
                    now=utcnow(),
                )
                ref = result.ticket.ref
        except Exception:
            # The caller already has the numbers and the first-aid point; tell them the alert failed.
            logger.exception("emergency ticket could not be filed")
            await say(dispatcher, tracker, "report.failed")
            return []
        await say(dispatcher, tracker, "emergency.filed", ref=ref)
        if where is None:
            await ask_for_location(
                dispatcher,
                tracker,
                "emergency.share_location",
                "/emergency" + json.dumps({"issue_category": category}),
            )
        return []
