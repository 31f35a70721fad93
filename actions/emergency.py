"""Emergencies: the numbers at once, the nearest first-aid point, and an emergency ticket to every level."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.common import (
    category_entity,
    category_in_text,
    database,
    fresh_location_of,
    landmark_named,
    language_of,
    location_of,
    metadata,
    person_of,
    refuse_anonymous,
    say,
    source_key_of,
)
from actions.services import ask_for_location, landmark_location, send_nearest
from community.database import utcnow
from community.language.service import to_chinese_for_staff
from community.tickets.models import IssueCategory
from community.tickets.service import add_location, file_report, open_emergency_of

logger = logging.getLogger(__name__)

EMERGENCY_CATEGORIES = ("first_aid", "missing_person", "fire")
# Where the first-aid point search starts when we do not know where the user is: the Love Station.
FALLBACK_LANDMARK = "love_station"
# A location shared this soon after an alert without one belongs to that alert, not to a new emergency.
LOCATION_FOLLOWS_ALERT = timedelta(minutes=30)
# The numbers with the one to call first: the emergency net's `call` (nlu/xijin_nlu/emergency_lexicon.yml:
# police for violence, a weapon or a lost child; fire for fire, smoke, gas or the water). Without it (the
# model alone said emergency) the ambulance comes first.
CALL_KEYS = {"police": "emergency.call_police", "fire": "emergency.call_fire", "ambulance": "emergency.call"}


def net_finding(tracker: Tracker) -> dict[str, Any]:
    """What the emergency net of the NLU pipeline found in the message (kind, call, category), or {}."""
    found = tracker.latest_message.get("emergency_net")
    return found if isinstance(found, dict) else {}


def emergency_categories(session: Session) -> list[IssueCategory]:
    query = select(IssueCategory).where(IssueCategory.active, IssueCategory.emergency)
    return list(session.scalars(query))


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # The numbers come first, before anything that could fail or take time.
        finding = net_finding(tracker)
        await say(dispatcher, tracker, CALL_KEYS.get(str(finding.get("call")), "emergency.call"))
        text = tracker.latest_message.get("text") or ""
        language = language_of(tracker)
        category = "first_aid"
        landmark: str | None = None
        where = location_of(tracker)
        try:
            with database().session() as session:
                found = category_entity(session, tracker)
                if found not in EMERGENCY_CATEGORIES:
                    found = finding.get("category")
                if found not in EMERGENCY_CATEGORIES:
                    # "着火了" with no tag: the words still say fire, and fire goes to other people.
                    found = category_in_text(text, emergency_categories(session))
                category = found if found in EMERGENCY_CATEGORIES else "first_aid"
                landmark = landmark_named(session, tracker)
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
        # The numbers and the first-aid point are for anyone; an alert to the staff only for a person the
        # bot vouches for (a forged request must not page the community committee).
        if await refuse_anonymous(dispatcher, tracker):
            return []
        if (
            where is not None
            and fresh_location_of(tracker) is not None
            and await self._locate_earlier_alert(dispatcher, tracker, where.latitude, where.longitude)
        ):
            return []
        try:
            # Translated before the transaction: no lock is held while Google answers (or does not).
            description_zh = await to_chinese_for_staff(text, language)
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
                    description_zh=description_zh,
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

    async def _locate_earlier_alert(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, lat: float, lon: float
    ) -> bool:
        """The location answers our request after an alert without one: it goes to that alert's staff."""
        try:
            with database().session() as session:
                reporter = person_of(session, tracker)
                ticket = open_emergency_of(session, reporter, utcnow(), LOCATION_FOLLOWS_ALERT)
                if ticket is None:
                    return False
                add_location(
                    session,
                    ticket.id,
                    reporter,
                    lat,
                    lon,
                    now=utcnow(),
                    channel=str(metadata(tracker).get("channel") or "rasa"),
                )
                ref = ticket.ref
        except Exception:
            logger.exception("could not add the location to the earlier alert; filing a new one")
            return False
        await say(dispatcher, tracker, "emergency.location_added", ref=ref)
        return True
