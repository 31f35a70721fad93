"""The one path every user message takes, whatever the channel:

language detection → (translation for understanding) → Rasa REST with metadata → actions → database →
channel-neutral replies. Telegram (bot/telegram) and the terminal chat (bot/terminal.py) only render.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.rasa_client import RasaClient, RasaUnavailable
from bot.replies import Button, LocationRequest, Photo, Reply, Text, Turn, Venue
from community.database import Database, utcnow
from community.i18n import is_curated, t
from community.knowledge.faq import faq_answer
from community.language import detect, normalise_code
from community.language.service import localise, to_chinese_for_staff, to_english_for_understanding
from community.people.models import Person
from community.people.service import get_or_create_person, set_language
from community.tickets.service import file_report
from community.tickets.views import reporter_tickets_text

logger = logging.getLogger(__name__)

# A shared location is "where the user is" for this long; after that we ask again.
LOCATION_TTL_SECONDS = 30 * 60
# Payloads the front end answers itself, without Rasa: they must work when Rasa is down.
NATIVE_PAYLOADS = {"/map", "/mytickets", "/check_ticket_native", "/report_native"}


@dataclass(frozen=True)
class ChatUser:
    channel: str  # "telegram" or "terminal"
    user_id: str
    chat_id: str
    name: str = ""
    telegram_id: int | None = None
    language_hint: str | None = None  # Telegram's language_code for a first message

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass
class _UserState:
    location: tuple[float, float, float] | None = None  # lat, lon, monotonic time
    location_reply_payload: str | None = None
    awaiting_native_report: bool = False
    # A report was filed without Rasa while it was down: the report form Rasa may still hold for this user
    # is stale, and is ended (/restart) before the next message reaches Rasa.
    restart_rasa: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Assistant:
    """Turns one user message into replies. Safe to share across chats; state is per user."""

    def __init__(self, database: Database, rasa: RasaClient, *, map_path: Path | None = None) -> None:
        self.database = database
        self.rasa = rasa
        self.map_path = map_path
        self._states: dict[str, _UserState] = {}

    def state(self, user: ChatUser) -> _UserState:
        return self._states.setdefault(user.key, _UserState())

    # --- entry points ---------------------------------------------------------------------------------

    async def handle(
        self,
        user: ChatUser,
        text: str | None = None,
        *,
        location: tuple[float, float] | None = None,
        photos: tuple[str, ...] = (),
        message_id: int | str | None = None,
    ) -> Turn:
        state = self.state(user)
        with self.database.session() as session:
            person = self.person_for(session, user, text)
            language = self._language(session, person, text)
        if location is not None:
            state.location = (location[0], location[1], time.monotonic())
        message = (text or "").strip()
        if state.awaiting_native_report and (message or photos or location) and not message.startswith("/"):
            return await self._file_native_report(user, language, message, photos, message_id)
        if message in NATIVE_PAYLOADS:
            return await self.native(user, message)
        if not message:
            if location is not None:
                # A location answers the pending location request, else starts a search from here.
                message = state.location_reply_payload or "/find_service"
            elif photos:
                message = "/report_issue"
            else:
                return Turn(language=language)
        if location is not None:
            state.location_reply_payload = None
        for_rasa = message
        if not message.startswith("/") and not is_curated(language):
            for_rasa = await to_english_for_understanding(message, language) or message
        metadata = self._metadata(user, language, state, location is not None, photos, message_id)
        try:
            if state.restart_rasa:
                await self.rasa.send(
                    user.key, "/restart", {"channel": user.channel, "user": {"key": user.key}}
                )
                state.restart_rasa = False
            answers = await self.rasa.send(user.key, for_rasa, metadata)
        except RasaUnavailable:
            return await self.degraded(user, language)
        return await self._turn(user, language, answers)

    async def press(self, user: ChatUser, payload: str, *, message_id: int | str | None = None) -> Turn:
        """A button was pressed: its payload goes to Rasa as the message (or is answered natively)."""
        return await self.handle(user, payload, message_id=message_id)

    def remember_location(self, user: ChatUser, where: tuple[float, float]) -> None:
        """Where the user is, known without a shared location (a QR code at a service point)."""
        self.state(user).location = (where[0], where[1], time.monotonic())

    async def cancel(self, user: ChatUser) -> None:
        """Ends a report in progress (Rasa's /restart) and forgets pending requests; the location stays."""
        state = self.state(user)
        state.location_reply_payload = None
        state.awaiting_native_report = False
        try:
            await self.rasa.send(user.key, "/restart", {"channel": user.channel, "user": {"key": user.key}})
        except RasaUnavailable:
            pass  # nothing is in progress in a Rasa that is down

    async def native(self, user: ChatUser, payload: str) -> Turn:
        """What works without Rasa: the map, the user's own tickets, a plain report for the desk."""
        with self.database.session() as session:
            person = self.person_for(session, user)
            language = person.preferred_language
            if payload == "/map":
                return Turn(replies=[self.map_photo(language)], language=language)
            if payload in ("/mytickets", "/check_ticket_native"):
                text = reporter_tickets_text(session, person, language)
                return Turn(replies=[Text(await self._localised(text, language))], language=language)
        self.state(user).awaiting_native_report = True
        return Turn(replies=[Text(await self._say("report.ask_description", language))], language=language)

    def map_photo(self, language: str) -> Photo:
        return Photo(
            path=self.map_path, caption=t("bot.map_caption", language if is_curated(language) else "en")
        )

    async def degraded(self, user: ChatUser, language: str) -> Turn:
        """Rasa is down or slow: say so at once and offer what works without understanding."""
        buttons = (
            Button(await self._say("intent.map", language), "/map"),
            Button(await self._say("intent.report_issue", language), "/report_native"),
            Button(await self._say("intent.check_ticket", language), "/mytickets"),
        )
        text = await self._say("bot.degraded", language)
        return Turn(replies=[Text(text, buttons)], language=language, degraded=True)

    # --- helpers --------------------------------------------------------------------------------------

    def person_for(self, session: Session, user: ChatUser, text: str | None = None) -> Person:
        """The person behind the chat; someone new starts in the language of their first message."""
        hint = normalise_code(user.language_hint) if user.language_hint else None
        first = detect(text, previous=hint).language if text and not text.startswith("/") else hint
        return get_or_create_person(
            session,
            user.key,
            telegram_id=user.telegram_id,
            chat_id=user.chat_id,
            display_name=user.name,
            language=first,
        )

    def _language(self, session: Session, person: Person, text: str | None) -> str:
        """Detected from the text; a payload, a location or an ambiguous word keeps the previous one."""
        previous = person.preferred_language
        if not text or text.startswith("/"):
            return previous
        detection = detect(text, previous=previous)
        if detection.language != previous:
            set_language(session, person, detection.language)
        return detection.language

    def _metadata(
        self,
        user: ChatUser,
        language: str,
        state: _UserState,
        fresh: bool,
        photos: tuple[str, ...],
        message_id: int | str | None,
    ) -> dict[str, Any]:
        location = None
        if state.location and time.monotonic() - state.location[2] < LOCATION_TTL_SECONDS:
            location = {"latitude": state.location[0], "longitude": state.location[1]}
        return {
            "language": language,
            "channel": user.channel,
            "chat_id": user.chat_id,
            "message_id": message_id,
            "user": {
                "key": user.key,
                "telegram_id": user.telegram_id,
                "chat_id": user.chat_id,
                "name": user.name,
            },
            "location": location,
            "location_fresh": fresh and location is not None,
            "photos": list(photos),
        }

    async def _turn(self, user: ChatUser, language: str, answers: list[dict[str, Any]]) -> Turn:
        turn = Turn(language=language)
        for answer in answers:
            custom = answer.get("custom")
            if isinstance(custom, dict):
                reply = await self._custom(user, turn, custom)
                if reply is not None:
                    turn.replies.append(reply)
            if answer.get("text") or answer.get("buttons"):
                buttons = tuple(Button(b["title"], b["payload"]) for b in answer.get("buttons") or [])
                turn.replies.append(Text(answer.get("text") or "", buttons))
            if answer.get("image"):
                turn.replies.append(Photo(file_id=answer["image"]))
        return turn

    async def _custom(self, user: ChatUser, turn: Turn, custom: dict[str, Any]) -> Reply | None:
        kind = custom.get("type")
        if kind == "faq":
            with self.database.session() as session:
                text = await faq_answer(session, str(custom.get("topic")), turn.language)
            return Text(text or await self._say("chat.faq_unknown", turn.language))
        if kind == "venue":
            return Venue(
                latitude=float(custom["latitude"]),
                longitude=float(custom["longitude"]),
                title=str(custom.get("title", "")),
                address=str(custom.get("address", "")),
                distance_m=custom.get("distance_m"),
                walk_min=custom.get("walk_min"),
                open_now=custom.get("open_now"),
                map_url=str(custom.get("map_url", "")),
            )
        if kind == "location_request":
            self.state(user).location_reply_payload = custom.get("reply_payload")
            turn.location_reply_payload = custom.get("reply_payload")
            return LocationRequest(text=str(custom.get("text", "")), button=str(custom.get("button", "📍")))
        if kind == "language":
            turn.language = str(custom.get("language") or turn.language)
            return None
        if kind == "map":
            return self.map_photo(turn.language)
        logger.warning("unknown custom payload from Rasa: %r", custom)
        return None

    async def _file_native_report(
        self, user: ChatUser, language: str, text: str, photos: tuple[str, ...], message_id: int | str | None
    ) -> Turn:
        """The report that works without Rasa: the text as it is, routed to the desk for triage."""
        state = self.state(user)
        where = state.location
        # Staff read Chinese: the same translation the report form makes (None when Chinese or unavailable).
        description_zh = await to_chinese_for_staff(text, language)
        with self.database.session() as session:
            result = file_report(
                session,
                reporter=self.person_for(session, user),
                category_code=None,
                lat=where[0] if where else None,
                lon=where[1] if where else None,
                description=text,
                description_language=language,
                description_zh=description_zh,
                photo_file_ids=photos,
                channel=user.channel,
                source_key=f"{user.channel}:{user.chat_id}:{message_id}" if message_id is not None else None,
                now=utcnow(),
            )
            ref = result.ticket.ref
        state.awaiting_native_report = False
        # Had Rasa's report form begun before Rasa went down, going on with it would file this report twice.
        state.restart_rasa = True
        return Turn(replies=[Text(await self._say("human.filed", language, ref=ref))], language=language)

    async def _say(self, key: str, language: str, **params: Any) -> str:
        if is_curated(language):
            return t(key, language, **params)
        return await localise(t(key, "en", **params), language)

    async def _localised(self, text: str, language: str) -> str:
        return text if is_curated(language) else await localise(text, language)
