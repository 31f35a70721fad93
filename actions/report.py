"""The report form: category → location → description → photo → contact, then a ticket.

Slots are filled by `validate_report_form` (custom mappings): it reads entities, button payloads, keywords of
the categories, and the location and photos the front end sends as metadata. A message that is really another
question ("where's the toilet?") fills nothing, so the form steps aside, the question is answered by a rule
and the form asks again.
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select

from actions.common import (
    category_entity,
    category_in_text,
    database,
    fresh_location_of,
    inline_text,
    label_for,
    landmark_entity,
    landmark_in_text,
    language_of,
    metadata,
    person_of,
    photos_of,
    refuse_anonymous,
    say,
    source_key_of,
    text_for,
)
from actions.services import ask_for_location
from community.database import utcnow
from community.grids.models import Grid, GridLevel, Landmark
from community.grids.service import locate
from community.i18n import catalogue, pick
from community.language.service import to_chinese_for_staff
from community.people.models import Person
from community.settings import get_settings
from community.tickets.filing import MAX_DESCRIPTION_CHARS, file_report
from community.tickets.models import IssueCategory
from community.tickets.names import name_for_reporters
from community.tickets.status_links import status_link

logger = logging.getLogger(__name__)

FORM_SLOTS = ("issue_category", "report_location", "description", "photo", "contact")
NONE = "none"
# Intents that are questions of their own, never the answer to "describe the problem".
OTHER_QUESTIONS = {
    "find_service",
    "faq",
    "emergency",
    "check_ticket",
    "bot_help",
    "talk_to_human",
    "set_language",
    "greet",
}
_GRID_PICK = re.compile(r"^grid:([\w-]+)$")
_PHONE = re.compile(r"^\+?[\d\s()-]{6,20}$")


def _intent(tracker: Tracker) -> tuple[str, float]:
    intent = tracker.latest_message.get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def _is_skip(tracker: Tracker) -> bool:
    text = (tracker.latest_message.get("text") or "").strip().lower()
    skip_words = {w.lower() for w in catalogue()["report.skip"].values()}
    return _intent(tracker)[0] == "deny" or text in skip_words or text == "/deny"


class ValidateReportForm(FormValidationAction):
    def name(self) -> str:
        return "validate_report_form"

    # --- extraction: what this message says about each slot -------------------------------------------

    async def extract_issue_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("issue_category"):
            return {}
        with database().session() as session:
            value = category_entity(session, tracker)
            if value is None and tracker.get_slot("requested_slot") in (None, "issue_category"):
                categories = list(session.scalars(select(IssueCategory).where(IssueCategory.active)))
                value = category_in_text(tracker.latest_message.get("text") or "", categories)
        return {"issue_category": value} if value else {}

    async def extract_report_location(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        where = fresh_location_of(tracker)
        if where is not None:
            # A location shared during the report is where the problem is, even if a place was named before.
            return {"report_location": f"geo:{where.latitude:.6f},{where.longitude:.6f}"}
        asked = tracker.get_slot("requested_slot") == "report_location"
        if tracker.get_slot("report_location") and not asked:
            # A sight named in passing later ("the lamp by the West Entrance arch") does not replace the place
            # the reporter gave, least of all a shared location.
            return {}
        with database().session() as session:
            landmark = landmark_entity(session, tracker)
            if landmark:
                return {"report_location": f"landmark:{landmark}"}
            if not asked:
                return {}
            text = (tracker.latest_message.get("text") or "").strip()
            if match := _GRID_PICK.match(text):
                return {"report_location": f"grid:{match.group(1)}"}
            landmarks = list(session.scalars(select(Landmark).where(Landmark.active)))
            code = landmark_in_text(text, landmarks)
        return {"report_location": f"landmark:{code}"} if code else {}

    async def extract_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "description":
            return {}
        intent, confidence = _intent(tracker)
        text = (tracker.latest_message.get("text") or "").strip()
        if (intent in OTHER_QUESTIONS and confidence >= 0.6) or not text or text.startswith("/"):
            return {}
        return {"description": text}

    async def extract_photo(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        photos = photos_of(tracker)
        if photos:
            # A photo sent at any point of the report belongs to it.
            return {"photo": ",".join(photos)}
        if tracker.get_slot("requested_slot") == "photo" and _is_skip(tracker):
            return {"photo": NONE}
        return {}

    async def extract_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "contact":
            return {}
        if _is_skip(tracker):
            return {"contact": NONE}
        text = (tracker.latest_message.get("text") or "").strip()
        return {"contact": text} if _PHONE.match(text) else {}

    # --- validation -------------------------------------------------------------------------------------

    async def validate_issue_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        with database().session() as session:
            category = session.get(IssueCategory, str(value))
            known, emergency = category is not None, category is not None and category.emergency
        if emergency:
            # Danger to a person that came in as a report ("someone fell, by the pagoda"): the numbers now,
            # before any more questions; the ticket this form files alerts every level as an emergency.
            await say(dispatcher, tracker, "emergency.call")
        return {"issue_category": value if known else None}

    async def validate_report_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        kind, _, rest = str(value).partition(":")
        with database().session() as session:
            if kind == "geo":
                lat, lon = (float(x) for x in rest.split(","))
                ok = locate(session, lat, lon) is not None
            elif kind in ("landmark", "grid"):
                # A place taken out of the knowledge base (inactive) is no longer routed to.
                place = session.get(Landmark if kind == "landmark" else Grid, rest)
                ok = place is not None and place.active
            else:
                ok = False
        if not ok:
            await say(dispatcher, tracker, "report.bad_location")
        return {"report_location": value if ok else None}

    async def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value).strip()
        # Two characters say something in Chinese ("漏水"); Latin text needs a few letters more.
        cjk = any("\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in text)
        if len(text) < (2 if cjk else 4):
            await say(dispatcher, tracker, "report.too_short")
            return {"description": None}
        if len(text) > MAX_DESCRIPTION_CHARS:
            # A report is read on a phone by a volunteer: a page of text is asked to be told shorter.
            await say(dispatcher, tracker, "report.too_long", length=len(text), limit=MAX_DESCRIPTION_CHARS)
            return {"description": None}
        return {"description": text}


class _AskAction(Action, ABC):
    """Asks for one slot of the report form (abstract, so rasa-sdk does not register it)."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abstractmethod
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]: ...


class ActionAskIssueCategory(_AskAction):
    slot = "issue_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        with database().session() as session:
            categories = session.scalars(
                select(IssueCategory)
                .where(IssueCategory.active, ~IssueCategory.emergency)
                .order_by(IssueCategory.code)
            ).all()
            buttons = [
                {
                    "title": pick(c.names, language),
                    "payload": "/report_issue" + json.dumps({"issue_category": c.code}),
                }
                for c in categories
            ]
        await say(dispatcher, tracker, "report.ask_category", buttons=buttons)
        return []


class ActionAskReportLocation(_AskAction):
    slot = "report_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        await ask_for_location(dispatcher, tracker, "report.ask_location", "/report_issue")
        with database().session() as session:
            grids = session.scalars(
                select(Grid).where(Grid.active, Grid.level == GridLevel.GRID).order_by(Grid.code)
            ).all()
            buttons = [{"title": pick(g.names, language), "payload": f"grid:{g.code}"} for g in grids]
        if buttons:
            dispatcher.utter_message(text="👇", buttons=buttons)
        return []


class ActionAskDescription(_AskAction):
    slot = "description"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        await say(dispatcher, tracker, "report.ask_description")
        return []


class ActionAskPhoto(_AskAction):
    slot = "photo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        skip = {"title": await label_for(tracker, "report.skip"), "payload": "/deny"}
        await say(dispatcher, tracker, "report.ask_photo", buttons=[skip])
        return []


class ActionAskContact(_AskAction):
    slot = "contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        skip = {"title": await label_for(tracker, "report.skip"), "payload": "/deny"}
        await say(dispatcher, tracker, "report.ask_contact", buttons=[skip])
        return []


class ActionSubmitReport(Action):
    """Files the ticket. On failure the slots stay filled, so asking again files it without retyping."""

    def name(self) -> str:
        return "action_submit_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if await refuse_anonymous(dispatcher, tracker):
            # Nobody the bot vouches for: nothing is filed, and the form starts afresh next time.
            return [SlotSet(name, None) for name in FORM_SLOTS]
        language = language_of(tracker)
        slots = {name: tracker.get_slot(name) for name in FORM_SLOTS}
        kind, _, where = str(slots["report_location"] or "").partition(":")
        lat = lon = None
        if kind == "geo":
            lat, lon = (float(x) for x in where.split(","))
        description = str(slots["description"] or "")
        photo = str(slots["photo"] or NONE)
        contact = str(slots["contact"] or NONE)
        try:
            description_zh = await to_chinese_for_staff(description, language)
            with database().session() as session:
                result = file_report(
                    session,
                    reporter=person_of(session, tracker),
                    category_code=slots["issue_category"],
                    lat=lat,
                    lon=lon,
                    landmark_code=where if kind == "landmark" else None,
                    grid_code=where if kind == "grid" else None,
                    description=description,
                    description_language=language,
                    description_zh=description_zh,
                    photo_file_ids=tuple(photo.split(",")) if photo != NONE else (),
                    contact=None if contact == NONE else contact,
                    channel=str(metadata(tracker).get("channel") or "rasa"),
                    source_key=source_key_of(tracker),
                    now=utcnow(),
                )
                ticket = result.ticket
                category = session.get(IssueCategory, ticket.category_code) if ticket.category_code else None
                category_name = pick(category.names, language) if category else "—"
                duplicate_ref = result.duplicate_of.ref if result.duplicate_of is not None else None
                owner = session.get(Person, ticket.owner_id) if ticket.owner_id else None
                # The name the community lets reporters see (VOLUNTEER_NAME_TO_REPORTERS), not the full one.
                owner_name = (name_for_reporters(owner, language) if owner else "") or "—"
                ref = ticket.ref
                # The reporter's link to the status page (web/status), made with the ticket.
                link = status_link(session, ticket, get_settings().web_public_url)
            # The reply is translated after the transaction ended: no lock is held across a network call.
            if duplicate_ref is not None:
                text = await text_for(tracker, "report.duplicate", ref=duplicate_ref)
            else:
                text = await text_for(
                    tracker, "report.filed", ref=ref, category=category_name, owner=owner_name
                )
        except Exception:
            logger.exception("report could not be filed")
            await say(dispatcher, tracker, "report.failed")
            return []
        dispatcher.utter_message(text=text)
        if duplicate_ref is None:
            # The status page's link, not translated: a translation service could change it.
            dispatcher.utter_message(text=inline_text(tracker, "webchat.status_link", url=link))
        return [SlotSet(name, None) for name in FORM_SLOTS]
