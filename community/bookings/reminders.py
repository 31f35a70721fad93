"""The day-before reminder and the no-show sweep, run by the bot's job queue
(bot/telegram/handlers/bookings.py).

- **Reminder**: a booking made before 18:00 (community time) of the day before its session is reminded from
  then on, once: `reminded_at` is set by a compare-and-set in the transaction that queues the outbox message,
  so a restart, a second run or a second bot process never sends it twice. A booking made later than that is
  not reminded (its confirmation came that late, or later).
- **No-shows**: at the session's start + NO_SHOW_GRACE, bookings not checked in become `no_show` and their
  places are freed — bookable again by walk-ins until the session ends (no waitlist; see service.py).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from community.bookings.models import Booking, BookingStatus, ServiceSession
from community.bookings.service import NO_SHOW_GRACE, _free_places
from community.bookings.views import session_line
from community.i18n import is_curated, pick, t
from community.outbox.service import enqueue
from community.people.models import Person
from community.servicemap.models import ServicePoint
from community.tickets.filing import begin_write

REMINDER_TIME = time(18, 0)


def reminder_due_at(starts_at: datetime, zone: ZoneInfo) -> datetime:
    """18:00 community time on the day before the session, as an instant."""
    day_before = starts_at.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day_before, REMINDER_TIME, tzinfo=zone)


def send_reminders(session: Session, now: datetime, zone: ZoneInfo) -> int:
    """Queues the reminders that are due; returns how many were queued by this call."""
    begin_write(session)
    candidates = session.scalars(
        select(Booking)
        .join(ServiceSession, ServiceSession.id == Booking.session_id)
        .where(
            Booking.status == BookingStatus.BOOKED.value,
            Booking.reminded_at.is_(None),
            ServiceSession.starts_at > now,
            ServiceSession.starts_at <= now + timedelta(days=2),
        )
        .order_by(Booking.id)
    )
    sent = 0
    for booking in list(candidates):
        due = reminder_due_at(booking.session.starts_at, zone)
        if now < due or booking.created_at >= due:
            continue
        claimed = session.execute(
            update(Booking)
            .where(Booking.id == booking.id, Booking.reminded_at.is_(None))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another run took it
        person = session.get(Person, booking.person_id)
        if person is None:
            continue
        language = person.preferred_language if is_curated(person.preferred_language) else "en"
        station = session.get(ServicePoint, booking.session.item.station_code)
        text = t(
            "bookings.reminder",
            language,
            session=session_line(booking.session, language, zone),
            station=pick(station.names, language) if station else "",
            address=pick(station.address, language) if station else "",
        )
        # Due by the outbox's own (real) clock: `now` may be a moment the caller chose.
        enqueue(session, person, "booking_reminder", {"text": text})
        sent += 1
    return sent


def release_no_shows(session: Session, now: datetime) -> int:
    """Marks bookings not checked in by start + grace as no-shows and frees their places; returns how many."""
    begin_write(session)
    sessions = list(
        session.scalars(
            select(ServiceSession)
            .where(
                ServiceSession.no_shows_released_at.is_(None),
                ServiceSession.starts_at <= now - NO_SHOW_GRACE,
            )
            .order_by(ServiceSession.id)
        )
    )
    released = 0
    for target in sessions:
        claimed = session.execute(
            update(ServiceSession)
            .where(ServiceSession.id == target.id, ServiceSession.no_shows_released_at.is_(None))
            .values(no_shows_released_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        result = session.execute(
            update(Booking)
            .where(Booking.session_id == target.id, Booking.status == BookingStatus.BOOKED.value)
            .values(status=BookingStatus.NO_SHOW.value, no_show_at=now, token_hash=None)
            .execution_options(synchronize_session=False)
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if count:
            _free_places(session, target.id, count)
            released += count
    return released
