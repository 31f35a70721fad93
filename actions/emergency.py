"""Emergencies: the numbers at once, the nearest first-aid point, and an emergency ticket to every level."""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    category_entity,
    database,
    landmark_entity,
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
        text = tracker.latest_message.get("text") or ""
        language = language_of(tracker)
        category = "first_aid"
        landmark: str | None = None
        where = location_of(tracker)
        try:
            with database().session() as session:
                found = category_entity(session, tracker)
                category = found if found in EMERGENCY_CATEGORIES else "first_aid"
                landmark = landmark_entity(session, tracker)
                where = landmark_location(session, landmark) or where
                start = where or landmark_location(session, FALLBACK_LANDMARK)
                if start is not None:
                    await send_nearest(
                        dispatcher,
                        tracker,
                        session,
                        start,
                        "first_aid",
                        intro_key="emergency.nearest",
                        limit=1,
                    )
        except Exception:
            # The first-aid point helps, but the alert to the staff must not depend on finding it.
            logger.exception("first-aid point search failed; filing the emergency anyway")
        try:
            with database().session() as session:
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
