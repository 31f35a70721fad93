"""The web chat: the assistant on a page, for people without Telegram.

The same pipeline as Telegram and the terminal (bot/pipeline.py `Assistant`): language detection, Rasa and
the actions, the database. The page's script posts each message as JSON and shows the replies; it asks every
few seconds for the notifications the outbox holds for this browser's person (web/chat/inbox.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field, ValidationError

from bot.offload import run_sync
from bot.pipeline import Assistant, ChatUser
from bot.rasa_client import RasaClient
from bot.telegram.render import PayloadStore
from community.database import Database, utcnow
from community.i18n import t
from community.people.models import Person
from community.people.service import get_or_create_person
from community.servicemap.export import render_map_png
from community.settings import PROJECT_ROOT
from community.tickets import notify
from community.tickets.errors import TicketError
from community.tickets.service import rate
from web.chat.identity import browser_id, chat_user, web_user
from web.chat.inbox import take_notifications
from web.chat.render import notification_json, turn_json
from web.i18n import page_language
from web.security import PAGE_HEADERS, csrf_token, rate_limit, require_csrf
from web.templating import render

logger = logging.getLogger(__name__)

router = APIRouter()

# A message longer than this is refused politely before it reaches Rasa (Telegram's own limit is 4,096).
MAX_MESSAGE_CHARS = 2000
# The script names each message, so a message sent twice (a retry after a dropped answer) files one ticket.
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# Chat POSTs per client address: a person types a few messages a minute; a burst covers button presses.
MESSAGES_PER_MINUTE = 20
MESSAGE_BURST = 10


class Location(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Message(BaseModel):
    """What the page sends: typed text, a pressed button's payload, or a shared location."""

    message_id: str = Field(pattern=_MESSAGE_ID.pattern)
    text: str | None = Field(default=None, max_length=10 * MAX_MESSAGE_CHARS)
    payload: str | None = Field(default=None, max_length=500)
    location: Location | None = None


class Press(BaseModel):
    """A button of a notification (a rating, a Rasa payload kept for a Telegram button)."""

    message_id: str = Field(pattern=_MESSAGE_ID.pattern)
    data: str = Field(max_length=100)


# The red service map as a picture, drawn on first request (offline, no tiles); the bot draws the same file.
MAP_PICTURE = PROJECT_ROOT / "var" / "map" / "red-service-map.png"


def assistant_of(request: Request) -> Assistant:
    """The application's Assistant, made on first use from its settings and database."""
    state = request.app.state
    found: Assistant | None = getattr(state, "assistant", None)
    if found is None:
        settings = state.settings
        rasa = RasaClient(
            settings.rasa_url,
            token=settings.rasa_token.get_secret_value(),
            secret=settings.xijin_channel_secret.get_secret_value(),
            timeout_seconds=settings.rasa_timeout_seconds,
        )
        found = state.assistant = Assistant(state.database, rasa, map_path=MAP_PICTURE)
    return found


def _say(key: str, language: str, **params: Any) -> dict[str, Any]:
    return {"replies": [{"type": "text", "text": t(key, language, **params), "buttons": []}]}


def _polite(status: int, key: str, request: Request, **headers: str) -> JSONResponse:
    return JSONResponse(_say(key, page_language(request)), status_code=status, headers=headers or None)


async def _body(request: Request, model: type[BaseModel]) -> BaseModel | JSONResponse:
    """The JSON body as `model`, or a polite answer in the page language (never a stack of errors)."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError:
        return _polite(422, "webchat.bad_request", request)


@router.get("/chat")
def chat_page(request: Request) -> Response:
    cookies = Response()
    web_user(request, cookies)  # a new browser gets its person's cookie with the page
    page = render(request, "chat/chat.html", {"nav": "chat", "csrf": csrf_token(request, cookies)})
    for value in cookies.headers.getlist("set-cookie"):
        page.headers.append("set-cookie", value)
    page.headers["Cache-Control"] = "no-store"
    page.headers.update(PAGE_HEADERS)
    return page


LIMIT = Depends(rate_limit("chat", per_minute=MESSAGES_PER_MINUTE, burst=MESSAGE_BURST))


@router.post("/chat/api/message", dependencies=[Depends(require_csrf), LIMIT])
async def chat_message(request: Request, response: Response) -> Any:
    body = await _body(request, Message)
    if isinstance(body, JSONResponse):
        return body
    assert isinstance(body, Message)
    user = web_user(request, response)
    assistant = assistant_of(request)
    text = (body.text or "").strip()
    if len(text) > MAX_MESSAGE_CHARS:
        return _say("webchat.too_long", page_language(request), limit=MAX_MESSAGE_CHARS)
    where = (body.location.latitude, body.location.longitude) if body.location else None
    try:
        if body.payload is not None:
            turn = await assistant.press(user, body.payload, message_id=body.message_id)
        else:
            turn = await assistant.handle(user, text or None, location=where, message_id=body.message_id)
    except Exception:
        logger.exception("web chat: the message could not be handled")
        return _polite(500, "bot.error", request)
    return turn_json(turn)


@router.post("/chat/api/press", dependencies=[Depends(require_csrf), LIMIT])
async def chat_press(request: Request, response: Response) -> Any:
    """A button on a notification: a rating goes to the ticket service, a Rasa payload to the pipeline."""
    body = await _body(request, Press)
    if isinstance(body, JSONResponse):
        return body
    assert isinstance(body, Press)
    user = web_user(request, response)
    assistant = assistant_of(request)
    press = notify.parse_callback(body.data)
    if press is not None and press.kind == "rating":
        return await run_sync(_rate, assistant.database, user, press)
    payload = await PayloadStore(assistant.database).decode(body.data)
    if payload is None:
        language = await run_sync(_language_of, assistant.database, user)
        return _say("fallback.rephrase", language)
    return turn_json(await assistant.press(user, payload, message_id=body.message_id))


def _language_of(database: Database, user: ChatUser) -> str:
    with database.session() as session:
        return get_or_create_person(session, user.key).preferred_language


def _rate(database: Database, user: ChatUser, press: notify.Callback) -> dict[str, Any]:
    with database.session() as session:
        me: Person = get_or_create_person(session, user.key)
        language = me.preferred_language
        try:
            # Only the ticket's reporter may rate it: the service checks, from the database.
            with session.begin_nested():
                ticket = rate(
                    session,
                    press.ticket_id,
                    me,
                    score=press.score,
                    not_fixed=press.not_fixed,
                    now=utcnow(),
                    channel="web",
                )
                ref = ticket.ref
        except TicketError as exc:
            return {"replies": [{"type": "text", "text": exc.localized(language), "buttons": []}]}
    if press.not_fixed:
        return _say("rating.reopened", language, ref=ref)
    return _say("rating.thanks", language, score=press.score)


@router.get("/chat/api/inbox")
async def chat_inbox(request: Request) -> Any:
    """The notifications waiting for this browser's person (none for a browser without a valid cookie)."""
    found = browser_id(request)
    if found is None:
        return {"replies": []}
    database: Database = request.app.state.database
    payloads = await run_sync(take_notifications, database, chat_user(found).key, utcnow())
    return {"replies": [reply for payload in payloads for reply in notification_json(payload)]}


@router.get("/chat/map.png")
def chat_map(request: Request) -> Response:
    """The map picture a /map reply shows (a plain function: FastAPI runs it in a worker thread)."""
    path = assistant_of(request).map_path
    if path is None:
        raise HTTPException(status_code=404)
    if not path.exists():
        try:
            with request.app.state.database.session() as session:
                render_map_png(session, path)
        except Exception:
            logger.exception("the red service map picture could not be drawn")
            raise HTTPException(status_code=404) from None
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=300"})
