"""How sessions and bookings read, in a person's language (the action, the bot and the reminders share it)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from community.bookings.models import Booking, ServiceItem, ServiceSession
from community.i18n import LANGUAGE_NAMES, pick, t


def item_name(item: ServiceItem, language: str) -> str:
    return pick(item.names, language)


def when(session: ServiceSession, language: str, zone: ZoneInfo) -> str:
    """ "Sat 12/12 10:00" in the reader's language (the community's local time)."""
    local = session.starts_at.astimezone(zone)
    day = t(f"bookings.weekday.{local.weekday()}", language)
    return t("bookings.when", language, day=day, month=local.month, date=local.day, time=f"{local:%H:%M}")


def session_line(session: ServiceSession, language: str, zone: ZoneInfo) -> str:
    """ "Sat 12/12 10:00 · Guided walk of the old street (English)"."""
    name = item_name(session.item, language)
    if session.language:
        name += f" ({LANGUAGE_NAMES.get(session.language, session.language)})"
    return f"{when(session, language, zone)} · {name}"


def session_button(session: ServiceSession, language: str, zone: ZoneInfo) -> str:
    """A button title: when, language, and the free places (or "full")."""
    label = when(session, language, zone)
    if session.language:
        label += f" {LANGUAGE_NAMES.get(session.language, session.language)}"
    free = session.free
    places = t("bookings.places_free", language, count=free) if free else t("bookings.full_short", language)
    return f"{label} · {places}"


def sessions_text(sessions: list[ServiceSession], language: str, zone: ZoneInfo) -> str:
    """The items of the sessions with their descriptions and stations, then a line per session."""
    lines: list[str] = []
    seen: set[str] = set()
    for found in sessions:
        item = found.item
        if item.code in seen:
            continue
        seen.add(item.code)
        lines.append(f"• {item_name(item, language)}: {pick(item.descriptions, language)}")
    return "\n".join(lines)


def booking_line(booking: Booking, language: str, zone: ZoneInfo) -> str:
    status = t(f"bookings.status.{booking.status}", language)
    return f"{session_line(booking.session, language, zone)} — {status}"
