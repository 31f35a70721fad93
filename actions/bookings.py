"""Service items at the micro-grid stations: "有没有免费理发？", "Can I book an English guide on Saturday?".

`book_service` without a session lists the next sessions of the items the message names (keywords, a weekday,
a guided walk's language), each a button; a button sends `/book_service{"session_id": "…"}` back through
Rasa, and this action books it for the person the bot vouches for, answering with the confirmation and the
check-in QR code. The same path serves Telegram, the web chat and the terminal. A full session is refused
politely with the next one that has room.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import database, entity_value, language_of, person_of, refuse_anonymous, text_for
from community.bookings.checkin import deep_link
from community.bookings.knowledge import active_items
from community.bookings.matching import understand
from community.bookings.models import ServiceSession
from community.bookings.service import BookingError, book, materialise, next_with_room, upcoming
from community.bookings.views import item_name, session_button, session_line, sessions_text, when
from community.database import utcnow
from community.i18n import FALLBACK_LANGUAGE, is_curated, pick, t
from community.servicemap.models import ServicePoint
from community.settings import get_settings

logger = logging.getLogger(__name__)

INTENT = "/book_service"
# When the bot's username is not configured, the link still has the right shape; the setting fixes it.
DEFAULT_BOT_USERNAME = "XijinAssistantBot"
_PAYLOAD = re.compile(r"^/book_service(\{.*\})\s*$", re.S)


def payload_value(tracker: Tracker, name: str) -> str | None:
    """An entity of a button payload: from Rasa's entities, else read from the payload text itself."""
    if value := entity_value(tracker, name):
        return value
    match = _PAYLOAD.match(str(tracker.latest_message.get("text") or ""))
    if match is None:
        return None
    try:
        found = json.loads(match.group(1)).get(name)
    except (ValueError, AttributeError):
        return None
    return str(found) if found is not None else None


def session_payload(session_id: int) -> str:
    return INTENT + json.dumps({"session_id": str(session_id)})


def _texts_language(language: str) -> str:
    """Item names and weekday names go inside catalogue texts: curated, or English to be translated whole."""
    return language if is_curated(language) else FALLBACK_LANGUAGE


class ActionBookService(Action):
    def name(self) -> str:
        return "action_book_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        session_id = payload_value(tracker, "session_id")
        if session_id is not None and session_id.isdigit():
            await self._book(dispatcher, tracker, int(session_id))
        else:
            await self._list(dispatcher, tracker, payload_value(tracker, "item_id"))
        return []

    async def _list(self, dispatcher: CollectingDispatcher, tracker: Tracker, item_id: str | None) -> None:
        language = _texts_language(language_of(tracker))
        zone = get_settings().zone
        now = utcnow()
        text = str(tracker.latest_message.get("text") or "")
        with database().session() as session:
            materialise(session, now, zone)  # idempotent: the bot's job keeps them made too
            items = active_items(session)
            request = understand(text, items, now.astimezone(zone).date(), entity_value(tracker, "language"))
            codes = [item_id] if item_id in {i.code for i in items} else request.items
            if not codes:
                buttons = [
                    {"title": item_name(i, language), "payload": INTENT + json.dumps({"item_id": i.code})}
                    for i in items
                ]
                dispatcher.utter_message(text=await text_for(tracker, "bookings.pick_item"), buttons=buttons)
                return
            offered = {lang for i in items if i.code in codes for lang in i.languages}
            language_wanted = request.language if request.language in offered else None
            found = upcoming(session, now, zone, codes, weekday=request.weekday, language=language_wanted)
            intro = ""
            if not found and request.weekday is not None:
                day = t(f"bookings.weekday.{request.weekday}", language)
                intro = await text_for(tracker, "bookings.none_on_day", day=day)
                found = upcoming(session, now, zone, codes, language=language_wanted)
            if not found:
                dispatcher.utter_message(text=await text_for(tracker, "bookings.none"))
                return
            listing = await text_for(tracker, "bookings.list", items=sessions_text(found, language, zone))
            buttons = [
                {"title": session_button(s, language, zone), "payload": session_payload(s.id)} for s in found
            ]
        dispatcher.utter_message(text=f"{intro}\n{listing}".strip(), buttons=buttons)

    async def _book(self, dispatcher: CollectingDispatcher, tracker: Tracker, session_id: int) -> None:
        if await refuse_anonymous(dispatcher, tracker):
            return
        language = _texts_language(language_of(tracker))
        zone = get_settings().zone
        now = utcnow()
        try:
            with database().session() as session:
                made = book(session, person_of(session, tracker), session_id, now)
                booked = made.booking.session
                station = session.get(ServicePoint, booked.item.station_code)
                line = session_line(booked, language, zone)
                confirmed = await text_for(
                    tracker,
                    "bookings.confirmed",
                    session=line,
                    station=pick(station.names, language) if station else "",
                    address=pick(station.address, language) if station else "",
                )
        except BookingError as refused:
            await self._refused(dispatcher, tracker, refused)
            return
        username = get_settings().telegram_bot_username or DEFAULT_BOT_USERNAME
        link = deep_link(username, made.token)
        caption = await text_for(tracker, "bookings.qr_caption", session=line)
        dispatcher.utter_message(text=confirmed)
        dispatcher.utter_message(json_message={"type": "qr", "link": link, "caption": f"{caption}\n{link}"})

    async def _refused(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, refused: BookingError
    ) -> None:
        language = _texts_language(language_of(tracker))
        zone = get_settings().zone
        if refused.code != "full" or refused.session_id is None:
            dispatcher.utter_message(text=await text_for(tracker, f"bookings.error.{refused.code}"))
            return
        with database().session() as session:
            full = session.get(ServiceSession, refused.session_id)
            assert full is not None
            following = next_with_room(session, full, utcnow())
            line = session_line(full, language, zone)
            if following is None:
                dispatcher.utter_message(text=await text_for(tracker, "bookings.full_none", session=line))
                return
            text = await text_for(
                tracker, "bookings.full_next", session=line, next=session_line(following, language, zone)
            )
            button = {
                "title": await text_for(
                    tracker, "bookings.button.book", when=when(following, language, zone)
                ),
                "payload": session_payload(following.id),
            }
        dispatcher.utter_message(text=text, buttons=[button])
