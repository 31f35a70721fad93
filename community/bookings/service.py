"""Sessions and bookings of the stations' service items (knowledge/service_items.yml).

- **Sessions** are made from each item's weekly schedule for the next `DAYS_AHEAD` days, in the community's
  zone (Asia/Shanghai), skipping the public holidays of knowledge/calendar.yml (the stations close on them).
  Making them again changes nothing (one row per item, start and language; a unique constraint backs it).
- **Booking** is one transaction: the session's row is locked (`with_for_update()` on PostgreSQL; SQLite's
  write lock is taken first), and its `taken` counter moves only by a compare-and-set against `capacity`, so
  two people taking the last place at once cannot both get it. One person holds at most one place per session.
  A session can be booked until it ends (a walk-in may take a place a no-show freed).
- **Cancelling** frees the place at once. There is no waitlist: a freed place is simply bookable again, and
  the next person who asks sees it.
- **Check-in** (community/bookings/checkin.py) and the **day-before reminder and no-shows**
  (community/bookings/reminders.py): at the session's start + `NO_SHOW_GRACE`, bookings not checked in become
  `no_show` and their places are freed for walk-ins until the session ends.

Retention: sessions that ended more than `KEPT` ago are deleted with their bookings (`prune`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from community.bookings.models import HOLDING, Booking, BookingStatus, ServiceItem, ServiceSession
from community.i18n import t
from community.people.models import Person
from community.tickets.filing import begin_write

DAYS_AHEAD = 14
NO_SHOW_GRACE = timedelta(minutes=15)
KEPT = timedelta(days=90)
TOKEN_BYTES = 18  # 24 URL-safe characters: `ci_` + token fits Telegram's 64-character start parameter


class BookingError(Exception):
    """A booking that cannot be made or changed; `code` names the reason (a catalogue key's last part)."""

    def __init__(self, code: str, session: ServiceSession | None = None) -> None:
        super().__init__(code)
        self.code = code
        # The id only: the transaction the error leaves is rolled back, and its objects with it.
        self.session_id = session.id if session is not None else None

    def localized(self, language: str) -> str:
        return t(f"bookings.error.{self.code}", language)


@dataclass(frozen=True)
class NewBooking:
    booking: Booking
    token: str  # the check-in token in clear: only in the booker's confirmation, never stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- Sessions -----------------------------------------------------------------------------------------------


def _holidays() -> frozenset[date]:
    from community.tickets.clock import community_calendar  # the calendar the ticket clock reads

    return community_calendar().holidays


def materialise(
    session: Session,
    now: datetime,
    zone: ZoneInfo,
    *,
    days: int = DAYS_AHEAD,
    holidays: frozenset[date] | None = None,
) -> int:
    """Creates the sessions of the active items for the next `days` local days; returns how many were new."""
    holidays = _holidays() if holidays is None else holidays
    begin_write(session)  # SQLite: a savepoint before the write lock would open a transaction of its own
    today = now.astimezone(zone).date()
    items = list(session.scalars(select(ServiceItem).where(ServiceItem.active).order_by(ServiceItem.code)))
    existing = {
        (s.item_code, s.starts_at, s.language)
        for s in session.scalars(select(ServiceSession).where(ServiceSession.starts_at > now))
    }
    made = 0
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        if day in holidays:
            continue
        for item in items:
            for slot in item.schedule:
                if int(slot["day"]) != day.weekday():
                    continue
                hour, minute = (int(part) for part in str(slot["start"]).split(":"))
                starts = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(now.tzinfo)
                key = (item.code, starts, str(slot.get("language") or ""))
                if starts <= now or key in existing:
                    continue
                try:
                    with session.begin_nested():  # another process made it meanwhile: that one stands
                        session.add(
                            ServiceSession(
                                item_code=item.code,
                                starts_at=starts,
                                ends_at=starts + timedelta(minutes=item.duration_minutes),
                                language=key[2],
                                capacity=item.capacity,
                                taken=0,
                            )
                        )
                    made += 1
                except IntegrityError:
                    pass
                existing.add(key)
    return made


def upcoming(
    session: Session,
    now: datetime,
    zone: ZoneInfo,
    item_codes: list[str] | None = None,
    *,
    weekday: int | None = None,
    language: str | None = None,
    limit: int = 6,
) -> list[ServiceSession]:
    """Sessions not yet ended, soonest first: of some items, on a weekday (local), in a language."""
    query = (
        select(ServiceSession)
        .join(ServiceItem, ServiceItem.code == ServiceSession.item_code)
        .where(ServiceItem.active, ServiceSession.ends_at > now)
        .order_by(ServiceSession.starts_at, ServiceSession.id)
    )
    if item_codes is not None:
        query = query.where(ServiceSession.item_code.in_(item_codes))
    if language:
        query = query.where(ServiceSession.language == language)
    found = []
    for candidate in session.scalars(query):
        if weekday is not None and candidate.starts_at.astimezone(zone).weekday() != weekday:
            continue
        found.append(candidate)
        if len(found) >= limit:
            break
    return found


def next_with_room(session: Session, full: ServiceSession, now: datetime) -> ServiceSession | None:
    """The next session of the same item (and language) with a free place, after a full one."""
    return session.scalar(
        select(ServiceSession)
        .where(
            ServiceSession.item_code == full.item_code,
            ServiceSession.language == full.language,
            ServiceSession.starts_at > full.starts_at,
            ServiceSession.ends_at > now,
            ServiceSession.taken < ServiceSession.capacity,
        )
        .order_by(ServiceSession.starts_at)
        .limit(1)
    )


# --- Booking and cancelling ---------------------------------------------------------------------------------


def _locked_session(session: Session, session_id: int) -> ServiceSession | None:
    begin_write(session)  # SQLite: the write lock first, so the checks below cannot go stale
    query = select(ServiceSession).where(ServiceSession.id == session_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=ServiceSession)
    return session.scalar(query.execution_options(populate_existing=True))


def book(session: Session, person: Person, session_id: int, now: datetime) -> NewBooking:
    """Takes one place of the session for `person`, in the caller's transaction. Raises BookingError:
    `unknown`, `ended`, `already` (this person holds a place) or `full` (with the session, to offer the
    next)."""
    target = _locked_session(session, session_id)
    if target is None or not target.item.active:
        raise BookingError("unknown")
    if target.ends_at <= now:
        raise BookingError("ended", target)
    mine = session.scalar(
        select(Booking).where(Booking.session_id == target.id, Booking.person_id == person.id)
    )
    if mine is not None and mine.status in HOLDING:
        raise BookingError("already", target)
    taken = session.execute(
        update(ServiceSession)
        .where(ServiceSession.id == target.id, ServiceSession.taken < ServiceSession.capacity)
        .values(taken=ServiceSession.taken + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise BookingError("full", target)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    if mine is None:
        mine = Booking(session_id=target.id, person_id=person.id)
        session.add(mine)
    # A place given back earlier (cancelled, no-show) is the same row taken again, with a new token.
    mine.status = BookingStatus.BOOKED.value
    mine.token_hash = token_hash(token)
    mine.created_at = now
    mine.cancelled_at = mine.checked_in_at = mine.checked_in_by_id = None
    mine.reminded_at = mine.no_show_at = None
    session.flush()
    session.refresh(target)
    return NewBooking(mine, token)


def cancel(session: Session, person: Person, booking_id: int, now: datetime) -> Booking:
    """Gives the place back. Only the booker cancels, only a booking that still holds a place and has not
    started."""
    begin_write(session)
    booking = session.get(Booking, booking_id, populate_existing=True)
    if booking is None or booking.person_id != person.id:
        raise BookingError("unknown")
    if booking.status != BookingStatus.BOOKED.value:
        raise BookingError("not_cancellable")
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == BookingStatus.BOOKED.value)
        .values(status=BookingStatus.CANCELLED.value, cancelled_at=now, token_hash=None)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise BookingError("not_cancellable")
    _free_places(session, booking.session_id, 1)
    session.refresh(booking)
    return booking


def _free_places(session: Session, session_id: int, count: int) -> None:
    session.execute(
        update(ServiceSession)
        .where(ServiceSession.id == session_id)
        .values(taken=ServiceSession.taken - count)
        .execution_options(synchronize_session=False)
    )


def own_bookings(session: Session, person: Person, now: datetime) -> list[Booking]:
    """The person's bookings that still hold a place in a session not yet ended, soonest first."""
    return list(
        session.scalars(
            select(Booking)
            .join(ServiceSession, ServiceSession.id == Booking.session_id)
            .where(
                Booking.person_id == person.id,
                Booking.status.in_(HOLDING),
                ServiceSession.ends_at > now,
            )
            .order_by(ServiceSession.starts_at)
        )
    )


def prune(session: Session, now: datetime) -> int:
    """Deletes sessions (and their bookings) that ended more than KEPT ago."""
    old = select(ServiceSession.id).where(ServiceSession.ends_at < now - KEPT)
    session.execute(delete(Booking).where(Booking.session_id.in_(old)))
    result = session.execute(delete(ServiceSession).where(ServiceSession.ends_at < now - KEPT))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
