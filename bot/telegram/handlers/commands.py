"""Commands of tourists and residents: /start (with a deep-link payload), /help, /map, /report, /mytickets,
/language, /cancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import quote

from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.replies import Venue
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.handlers import bookings, enrol, matters, projects, thread
from bot.telegram.handlers.chat import _reply
from bot.telegram.render import remove_keyboard, send_text
from community.grids.models import Landmark
from community.i18n import is_curated, pick, t
from community.servicemap.hours import describe, is_open
from community.servicemap.models import ServicePoint
from community.servicemap.service import service_label, type_name

# `/start point_<code>`: the "open in Telegram" link of a service point's web page (web/map/data.py).
POINT_PAYLOAD = "point_"


async def _payload(update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str) -> None:
    message = update.effective_message
    turn = await assistant(context).press(
        chat_user(update), payload, message_id=message.message_id if message else None
    )
    await _reply(update, context, turn)


DeepLinkOpener = Callable[[Update, ContextTypes.DEFAULT_TYPE, str], Awaitable[None]]


def _deep_links() -> tuple[tuple[str, DeepLinkOpener], ...]:
    """`t.me/<bot>?start=<prefix><rest>`: each prefix opens its part with the rest; any other argument is a
    place (a service point's or landmark's QR code)."""
    return (
        (enrol.CODE_PREFIX, enrol.open_invitation),  # an invitation to join as a volunteer
        (matters.DEEP_LINK, matters.open_matter),  # a matter's card with its Support button (有事好商量)
        (projects.START_PAYLOAD, projects.open_project),  # a project's card with its Support button
        (bookings.CHECKIN_PREFIX, bookings.open_checkin),  # a booking's QR code, opened by the station
        (POINT_PAYLOAD, _point_from_web),  # the link on a service point's web page
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/start sp_love_station` (a QR code at a service point) tells us where the user stands;
    `/start point_sp_love_station` (the link on the point's web page) shows that point;
    `/start inv_<code>` opens an invitation (bot/telegram/handlers/enrol.py)."""
    for prefix, opener in _deep_links():
        if context.args and context.args[0].startswith(prefix):
            await opener(update, context, context.args[0].removeprefix(prefix))
            return
    if context.args:
        await _place_from_deep_link(update, context, context.args[0])
    await _payload(update, context, "/greet")


def _place(
    context: ContextTypes.DEFAULT_TYPE, update: Update, code: str
) -> tuple[tuple[float, float], str, str] | None:
    """Where the service point or landmark is, its name in the user's language, and that language."""
    _, language = person_of(context, update)
    with database(context).session() as session:
        place = session.get(ServicePoint, code) or session.get(Landmark, code)
        if place is None:
            return None
        return (place.lat, place.lon), pick(place.names, language), language


async def _place_from_deep_link(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    found = await run_sync(_place, context, update, code)
    if found is None:
        return
    where, name, language = found
    await assistant(context).remember_location(chat_user(update), where)
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, say("bot.start_at_point", language, place=name))


def _point_card(context: ContextTypes.DEFAULT_TYPE, update: Update, code: str) -> tuple[Venue | None, str]:
    """The point as a venue and a text with its type, whether it is open, its hours, services and web page;
    no venue and a polite text when there is no such (active) point."""
    _, language = person_of(context, update)
    with database(context).session() as session:
        point = session.get(ServicePoint, code)
        if point is None or not point.active:
            return None, say("web.bot.point_unknown", language)
        name = pick(point.names, language)
        lang = language if is_curated(language) else "en"
        lines = [
            say(
                "web.bot.point",
                language,
                name=name,
                type=type_name(point.type, lang),
                status=say(
                    "map.open_now" if is_open(point.opening_hours, datetime.now(UTC)) else "map.closed_now",
                    language,
                ),
                hours=describe(point.opening_hours, lang),
            )
        ]
        if point.services:
            services = t("map.day.sep", lang).join(service_label(s, lang) for s in point.services)
            lines.append(say("web.bot.point_services", language, services=services))
        settings = context.application.bot_data.get("settings")
        if settings is not None and settings.web_public_url:
            url = f"{settings.web_public_url.rstrip('/')}/map/points/{quote(point.code, safe='')}"
            lines.append(say("web.bot.point_page", language, url=url))
        venue = Venue(point.lat, point.lon, name, pick(point.address or {}, language) or name)
        return venue, "\n".join(lines)


async def _point_from_web(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    """The point a web page linked to: where it is (a venue) and what it offers. The user need not stand
    there, so their location is not changed."""
    venue, text = await run_sync(_point_card, context, update, code)
    chat = update.effective_chat
    assert chat is not None
    if venue is not None:
        await context.bot.send_venue(
            chat.id,
            latitude=venue.latitude,
            longitude=venue.longitude,
            title=venue.title[:256],
            address=venue.address[:256],
        )
    await send_text(context.bot, chat.id, text)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/bot_help")


async def map_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/map")


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/report_issue")


async def mytickets(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/mytickets")
    await thread.open_tickets(update, context)  # each open report with Reply and Cancel buttons


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _payload(update, context, "/set_language")


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ends whatever is going on: a report form in Rasa (/restart), a pending location request or report, a
    volunteer's pending Resolve."""
    _, lang = await run_sync(person_of, context, update)
    await assistant(context).cancel(chat_user(update))
    await run_sync(matters.forget_state, context, update)  # a matter's text or a meeting awaited (#17)
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, say("bot.cancelled", lang), remove_keyboard())
