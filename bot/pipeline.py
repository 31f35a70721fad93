"""The one path every user message takes, whatever the channel:

language detection → (translation for understanding) → Rasa REST with metadata → actions → database →
channel-neutral replies. Telegram (bot/telegram) and the terminal chat (bot/terminal.py) only render.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.offload import run_sync
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.replies import Button, LocationRequest, Photo, Reply, Text, Turn, Venue
from community.bookings.checkin import qr_png
from community.conversations import service as conversations
from community.database import Database, utcnow
from community.i18n import is_curated, t
from community.knowledge.faq import faq_text
from community.language import detect, normalise_code
from community.language.service import localise, to_chinese_for_staff, to_english_for_understanding
from community.people.models import Person
from community.people.service import get_or_create_person, set_language
from community.settings import get_settings
from community.tickets.service import file_report
from community.tickets.status_links import status_link
from community.tickets.views import reporter_tickets_text

logger = logging.getLogger(__name__)

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


# The kinds of conversation state (community/conversations) read for a user on every message.
USER_STATE_KINDS = ("location", "location_reply", "native_report", "restart_rasa")


@dataclass(frozen=True)
class _UserState:
    """What the user is in the middle of, as stored in the database (so a restarted or second bot process
    carries on); each part expires on its own (community.conversations.service.TTL)."""

    location: tuple[float, float] | None = None
    location_reply_payload: str | None = None
    awaiting_native_report: bool = False
    # A report was filed without Rasa while it was down: the report form Rasa may still hold for this user
    # is stale, and is ended (/restart) before the next message reaches Rasa.
    restart_rasa: bool = False

    @classmethod
    def of(cls, stored: dict[str, Any], source_key: str | None) -> _UserState:
        where = stored.get("location")
        report = stored.get("native_report")
        # After filing, the entry names the message that filed it: that message, redelivered because its
        # first handling did not finish, still files (the same ticket, by its source key) and is answered.
        filed_by = report.get("filed_by") if isinstance(report, dict) else None
        return cls(
            location=(float(where[0]), float(where[1])) if where else None,
            location_reply_payload=stored.get("location_reply"),
            awaiting_native_report=report is True or (filed_by is not None and filed_by == source_key),
            restart_rasa=bool(stored.get("restart_rasa")),
        )


class Assistant:
    """Turns one user message into replies. Safe to share across chats, tasks and bot processes: what a user
    is in the middle of lives in the database, read at the start of each message."""

    def __init__(self, database: Database, rasa: RasaClient, *, map_path: Path | None = None) -> None:
        self.database = database
        self.rasa = rasa
        self.map_path = map_path

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
        source_key = _source_key(user, message_id)
        language, state = await run_sync(self._begin, user, text, location, source_key)
        message = (text or "").strip()
        if state.awaiting_native_report and (message or photos or location) and not message.startswith("/"):
            return await self._file_native_report(user, language, state, message, photos, source_key)
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
        for_rasa = message
        if not message.startswith("/") and not is_curated(language):
            for_rasa = await to_english_for_understanding(message, language) or message
        metadata = self._metadata(user, language, state, location is not None, photos, message_id)
        try:
            if state.restart_rasa:
                await self.rasa.send(
                    user.key, "/restart", {"channel": user.channel, "user": {"key": user.key}}
                )
                await run_sync(self._change_state, user, {"restart_rasa": None})
            answers = await self.rasa.send(user.key, for_rasa, metadata)
        except RasaUnavailable:
            return await self.degraded(user, language)
        if not answers:
            # Rasa answers every message; nothing back means its action failed (the action server is down or
            # hung, and Rasa goes on without the action's replies). Silence is no answer: the menu is.
            return await self.degraded(user, language)
        turn = await self._turn(language, answers)
        if turn.location_reply_payload is not None:
            await run_sync(self._change_state, user, {"location_reply": turn.location_reply_payload})
        return turn

    async def press(self, user: ChatUser, payload: str, *, message_id: int | str | None = None) -> Turn:
        """A button was pressed: its payload goes to Rasa as the message (or is answered natively)."""
        return await self.handle(user, payload, message_id=message_id)

    async def remember_location(self, user: ChatUser, where: tuple[float, float]) -> None:
        """Where the user is, known without a shared location (a QR code at a service point)."""
        await run_sync(self._change_state, user, {"location": [where[0], where[1]]})

    async def cancel(self, user: ChatUser) -> None:
        """Ends a report in progress (Rasa's /restart) and forgets pending requests (a location request, a
        report for the desk, a volunteer's Resolve); the location stays."""
        pending = {
            "location_reply": None,
            "native_report": None,
            "resolve_note": None,
            "announce": None,
            "thread_next": None,
            "extension_reason": None,
        }
        await run_sync(self._change_state, user, pending)
        try:
            await self.rasa.send(user.key, "/restart", {"channel": user.channel, "user": {"key": user.key}})
        except RasaUnavailable:
            pass  # nothing is in progress in a Rasa that is down

    async def native(self, user: ChatUser, payload: str) -> Turn:
        """What works without Rasa: the map, the user's own tickets, a plain report for the desk."""
        language, text = await run_sync(self._native, user, payload)
        if payload == "/map":
            return Turn(replies=[self.map_photo(language)], language=language)
        if text is not None:
            return Turn(replies=[Text(await self._localised(text, language))], language=language)
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

    def person_for(self, session: Session, user: ChatUser) -> Person:
        """The person behind the chat; someone new starts in their Telegram client's language."""
        hint = normalise_code(user.language_hint) if user.language_hint else None
        return get_or_create_person(
            session,
            user.key,
            telegram_id=user.telegram_id,
            chat_id=user.chat_id,
            display_name=user.name,
            language=hint,
        )

    def _person_and_language(self, session: Session, user: ChatUser, text: str | None) -> tuple[Person, str]:
        """The person and the language of this message, detected once: a payload, a location or an
        ambiguous word keeps the previous language (for someone new, their Telegram client's)."""
        person = self.person_for(session, user)
        previous = person.preferred_language
        if not text or text.startswith("/"):
            return person, previous
        language = detect(text, previous=previous).language
        if language != previous:
            set_language(session, person, language)
        return person, language

    # --- database work, run off the event loop (run_sync): one short transaction each, no network ------

    def _begin(
        self, user: ChatUser, text: str | None, location: tuple[float, float] | None, source_key: str | None
    ) -> tuple[str, _UserState]:
        """The message's language and the user's state (a shared location is stored on the way)."""
        now = utcnow()
        with self.database.session() as session:
            _, language = self._person_and_language(session, user, text)
            stored = conversations.get_kinds(session, user.key, USER_STATE_KINDS, now)
            if location is not None:
                # Where the user is now; it answers the pending location request (read above), which ends.
                where = [location[0], location[1]]
                conversations.update(session, user.key, {"location": where, "location_reply": None}, now)
                stored["location"] = where
        return language, _UserState.of(stored, source_key)

    def _change_state(self, user: ChatUser, changes: dict[str, Any]) -> None:
        with self.database.session() as session:
            conversations.update(session, user.key, changes, utcnow())

    def _native(self, user: ChatUser, payload: str) -> tuple[str, str | None]:
        """The person's language and, for /mytickets, their tickets' text; /report_native starts a report."""
        with self.database.session() as session:
            person = self.person_for(session, user)
            language = person.preferred_language
            if payload in ("/mytickets", "/check_ticket_native"):
                return language, reporter_tickets_text(session, person, language)
            if payload != "/map":
                conversations.put(session, "native_report", user.key, True, utcnow())
            return language, None

    def _file(
        self,
        user: ChatUser,
        language: str,
        where: tuple[float, float] | None,
        text: str,
        description_zh: str | None,
        photos: tuple[str, ...],
        source_key: str | None,
    ) -> tuple[str, str]:
        """Files the report and ends the pending request in one transaction; the ticket's ref and the
        reporter's status-page link."""
        now = utcnow()
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
                source_key=source_key,
                now=now,
            )
            # Had Rasa's report form begun before Rasa went down, going on with it would file it twice.
            done = {"filed_by": source_key} if source_key is not None else None
            conversations.update(session, user.key, {"native_report": done, "restart_rasa": True}, now)
            return result.ticket.ref, status_link(session, result.ticket, get_settings().web_public_url)

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
        if state.location is not None:  # an expired one was not read (TTL in community.conversations)
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

    async def _turn(self, language: str, answers: list[dict[str, Any]]) -> Turn:
        turn = Turn(language=language)
        for answer in answers:
            custom = answer.get("custom")
            if isinstance(custom, dict):
                reply = await self._custom(turn, custom)
                if reply is not None:
                    turn.replies.append(reply)
            if answer.get("text") or answer.get("buttons"):
                buttons = tuple(Button(b["title"], b["payload"]) for b in answer.get("buttons") or [])
                turn.replies.append(Text(answer.get("text") or "", buttons))
            if answer.get("image"):
                turn.replies.append(Photo(file_id=answer["image"]))
        return turn

    async def _custom(self, turn: Turn, custom: dict[str, Any]) -> Reply | None:
        kind = custom.get("type")
        if kind == "faq":
            # Read in a transaction of its own; translated (network) after it has ended.
            text = await run_sync(self._faq_text, str(custom.get("topic")), turn.language)
            if text is not None:
                return Text(await self._localised(text, turn.language))
            return Text(await self._say("chat.faq_unknown", turn.language))
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
            # Remembered by `handle` (in the database) for the location the user shares next.
            turn.location_reply_payload = custom.get("reply_payload")
            return LocationRequest(text=str(custom.get("text", "")), button=str(custom.get("button", "📍")))
        if kind == "language":
            turn.language = str(custom.get("language") or turn.language)
            return None
        if kind == "map":
            return self.map_photo(turn.language)
        if kind == "qr":  # a booking's check-in code (community/bookings/checkin.py)
            return Photo(data=qr_png(str(custom.get("link", ""))), caption=str(custom.get("caption", "")))
        logger.warning("unknown custom payload from Rasa: %r", custom)
        return None

    async def _file_native_report(
        self,
        user: ChatUser,
        language: str,
        state: _UserState,
        text: str,
        photos: tuple[str, ...],
        source_key: str | None,
    ) -> Turn:
        """The report that works without Rasa: the text as it is, routed to the desk for triage."""
        # Staff read Chinese: the same translation the report form makes (None when Chinese or unavailable).
        description_zh = await to_chinese_for_staff(text, language)
        ref, link = await run_sync(
            self._file, user, language, state.location, text, description_zh, photos, source_key
        )
        filed = await self._say("human.filed", language, ref=ref)
        # The link is not translated with the rest: a translation service could change it.
        follow = t("webchat.status_link", language if is_curated(language) else "en", url=link)
        return Turn(replies=[Text(f"{filed}\n{follow}")], language=language)

    def _faq_text(self, topic: str, language: str) -> str | None:
        with self.database.session() as session:
            return faq_text(session, topic, language)

    async def _say(self, key: str, language: str, **params: Any) -> str:
        if is_curated(language):
            return t(key, language, **params)
        return await localise(t(key, "en", **params), language)

    async def _localised(self, text: str, language: str) -> str:
        return text if is_curated(language) else await localise(text, language)


def _source_key(user: ChatUser, message_id: int | str | None) -> str | None:
    """channel:chat:message id, as the action server writes it: the same message files one ticket."""
    return f"{user.channel}:{user.chat_id}:{message_id}" if message_id is not None else None
