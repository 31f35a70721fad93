"""Service items at the micro-grid stations in Telegram, for people who prefer commands (community/bookings).

`/book` lists the items (`bk:i:<item>`), an item its next sessions (`bk:b:<session id>`), which books one
and sends the confirmation with the check-in QR code; `/bookings` lists one's own bookings with a cancel
button each (`bk:c:<booking id>`). `/start ci_<token>` is the QR code opened by the station's volunteer: the
booking is checked in and the booker told through the outbox. The periodic job makes sessions, queues the
day-before reminders and frees the places of no-shows. In chat, "有没有免费理发？" goes through Rasa
(actions/bookings.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, say
from bot.telegram.render import send_text
from community.bookings import checkin, reminders, service
from community.bookings.checkin import CHECKIN_PREFIX, deep_link, qr_png
from community.bookings.knowledge import active_items
from community.bookings.models import ServiceSession
from community.bookings.views import booking_line, item_name, session_button, session_line, when
from community.database import Database, utcnow
from community.i18n import is_curated, pick
from community.people.models import Person
from community.servicemap.models import ServicePoint
from community.settings import get_settings

PREFIX = "bk:"
__all__ = ["CHECKIN_PREFIX", "book_command", "bookings_command", "bookings_job", "on_button", "open_checkin"]


def _language(language: str) -> str:
    return language if is_curated(language) else "en"


def _keyboard(rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(title[:64], callback_data=data)] for title, data in rows]
    )


async def _send(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, rows: list[tuple[str, str]]
) -> None:
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, text, _keyboard(rows) if rows else None)


# --- /book: items, then sessions, then a booking ------------------------------------------------------------


def _items(context: ContextTypes.DEFAULT_TYPE, update: Update) -> tuple[str, list[tuple[str, str]]]:
    with database(context).session() as session:
        language = _language(assistant(context).person_for(session, chat_user(update)).preferred_language)
        rows = [(item_name(i, language), f"{PREFIX}i:{i.code}") for i in active_items(session)]
    return say("bookings.pick_item", language), rows


async def book_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, rows = await run_sync(_items, context, update)
    await _send(update, context, text, rows)


def _sessions(
    context: ContextTypes.DEFAULT_TYPE, update: Update, code: str
) -> tuple[str, list[tuple[str, str]]]:
    zone, now = get_settings().zone, utcnow()
    with database(context).session() as session:
        language = _language(assistant(context).person_for(session, chat_user(update)).preferred_language)
        service.materialise(session, now, zone)
        found = service.upcoming(session, now, zone, [code])
        if not found:
            return say("bookings.none", language), []
        rows = [(session_button(s, language, zone), f"{PREFIX}b:{s.id}") for s in found]
        item = found[0].item
        text = say(
            "bookings.list",
            language,
            items=f"• {item_name(item, language)}: {pick(item.descriptions, language)}",
        )
    return text, rows


def _book(
    context: ContextTypes.DEFAULT_TYPE, update: Update, session_id: int
) -> tuple[str, str | None, str, list[tuple[str, str]]]:
    """(text, QR link or None, caption, buttons): the confirmation, or a polite refusal (with the next
    session that has room when this one is full)."""
    zone, now = get_settings().zone, utcnow()
    with database(context).session() as session:
        language = _language(assistant(context).person_for(session, chat_user(update)).preferred_language)
    try:
        with database(context).session() as session:
            person = assistant(context).person_for(session, chat_user(update))
            made = service.book(session, person, session_id, now)
            booked = made.booking.session
            station = session.get(ServicePoint, booked.item.station_code)
            line = session_line(booked, language, zone)
            text = say(
                "bookings.confirmed",
                language,
                session=line,
                station=pick(station.names, language) if station else "",
                address=pick(station.address, language) if station else "",
            )
    except service.BookingError as refused:
        return _refusal(context, refused, language), None, "", _next_rows(context, refused, language)
    link = deep_link(get_settings().telegram_bot_username or context.bot.username, made.token)
    return text, link, say("bookings.qr_caption", language, session=line), []


def _refusal(context: ContextTypes.DEFAULT_TYPE, refused: service.BookingError, language: str) -> str:
    zone = get_settings().zone
    if refused.code != "full" or refused.session_id is None:
        return refused.localized(language)
    with database(context).session() as session:
        full = session.get(ServiceSession, refused.session_id)
        assert full is not None
        following = service.next_with_room(session, full, utcnow())
        line = session_line(full, language, zone)
        if following is None:
            return say("bookings.full_none", language, session=line)
        return say("bookings.full_next", language, session=line, next=session_line(following, language, zone))


def _next_rows(
    context: ContextTypes.DEFAULT_TYPE, refused: service.BookingError, language: str
) -> list[tuple[str, str]]:
    if refused.code != "full" or refused.session_id is None:
        return []
    zone = get_settings().zone
    with database(context).session() as session:
        full = session.get(ServiceSession, refused.session_id)
        following = service.next_with_room(session, full, utcnow()) if full is not None else None
        if following is None:
            return []
        return [
            (
                say("bookings.button.book", language, when=when(following, language, zone)),
                f"{PREFIX}b:{following.id}",
            )
        ]


# --- /bookings: one's own, and cancelling ---------------------------------------------------------------


def _mine(context: ContextTypes.DEFAULT_TYPE, update: Update) -> tuple[str, list[tuple[str, str]]]:
    zone, now = get_settings().zone, utcnow()
    with database(context).session() as session:
        person = assistant(context).person_for(session, chat_user(update))
        language = _language(person.preferred_language)
        mine = service.own_bookings(session, person, now)
        if not mine:
            return say("bookings.mine_none", language), []
        lines = [say("bookings.mine", language)] + [f"• {booking_line(b, language, zone)}" for b in mine]
        rows = [
            (
                say("bookings.button.cancel", language, when=when(b.session, language, zone)),
                f"{PREFIX}c:{b.id}",
            )
            for b in mine
            if b.status == "booked"
        ]
    return "\n".join(lines), rows


async def bookings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, rows = await run_sync(_mine, context, update)
    await _send(update, context, text, rows)


def _cancel(context: ContextTypes.DEFAULT_TYPE, update: Update, booking_id: int) -> str:
    zone, now = get_settings().zone, utcnow()
    with database(context).session() as session:
        language = _language(assistant(context).person_for(session, chat_user(update)).preferred_language)
    try:
        with database(context).session() as session:
            person = assistant(context).person_for(session, chat_user(update))
            booking = service.cancel(session, person, booking_id, now)
            return say("bookings.cancelled", language, session=session_line(booking.session, language, zone))
    except service.BookingError as refused:
        return refused.localized(language)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    kind, _, value = query.data.removeprefix(PREFIX).partition(":")
    await query.answer()
    if kind == "i":
        text, rows = await run_sync(_sessions, context, update, value)
        await _send(update, context, text, rows)
    elif kind == "b" and value.isdigit():
        text, link, caption, rows = await run_sync(_book, context, update, int(value))
        await _send(update, context, text, rows)
        if link is not None:
            await context.bot.send_photo(
                update.effective_chat.id, photo=qr_png(link), caption=f"{caption}\n{link}"[:1024]
            )
    elif kind == "c" and value.isdigit():
        await _send(update, context, await run_sync(_cancel, context, update, int(value)), [])


# --- the QR code opened by the station's volunteer --------------------------------------------------------


def _check_in(context: ContextTypes.DEFAULT_TYPE, update: Update, token: str) -> str:
    zone, now = get_settings().zone, utcnow()
    with database(context).session() as session:
        language = _language(assistant(context).person_for(session, chat_user(update)).preferred_language)
    try:
        with database(context).session() as session:
            actor = assistant(context).person_for(session, chat_user(update))
            booking = checkin.check_in(session, actor, token, now, zone)
            name = (session.get(Person, booking.person_id) or actor).display_name
            return say(
                "bookings.checked_in.volunteer",
                language,
                session=session_line(booking.session, language, zone),
                name=name,
            )
    except service.BookingError as refused:
        return refused.localized(language)


async def open_checkin(update: Update, context: ContextTypes.DEFAULT_TYPE, token: str) -> None:
    """`/start ci_<token>`: checks the booking in when a volunteer of the station opens it; else a polite
    no."""
    await _send(update, context, await run_sync(_check_in, context, update, token), [])


# --- the periodic job ------------------------------------------------------------------------------------


def tick(database_: Database, now: datetime) -> dict[str, int]:
    """Sessions for the next days, due reminders, no-shows; each in a transaction of its own."""
    zone = get_settings().zone
    counts: dict[str, int] = {}
    steps: list[tuple[str, Callable[..., int]]] = [
        ("sessions", lambda s: service.materialise(s, now, zone)),
        ("reminders", lambda s: reminders.send_reminders(s, now, zone)),
        ("no_shows", lambda s: reminders.release_no_shows(s, now)),
        ("pruned", lambda s: service.prune(s, now)),
    ]
    for name, step in steps:
        with database_.session() as session:
            counts[name] = step(session)
    return counts


async def bookings_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every few minutes on the job queue; `job.data["now"]` runs it at another moment (tests)."""
    data = context.job.data if context.job is not None and isinstance(context.job.data, dict) else {}
    await run_sync(tick, database(context), data.get("now") or utcnow())
