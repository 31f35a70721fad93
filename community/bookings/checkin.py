"""Check-in with the booking's QR code.

The confirmation carries a QR code of `https://t.me/<bot>?start=ci_<token>`; only the token's SHA-256 is
stored, so a copy of the database checks nobody in. When the station's volunteer opens the link — a volunteer
or grid member whose role covers the station's micro-grid, a member of the item's team, the desk or the
committee; roles from the database — the booking is checked in by a compare-and-set and the token is spent;
the booker is told through the outbox. Anyone else is refused politely and nothing changes (the token still
works). A booking can be checked in from the moment it is made until the session ends.
"""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import segno
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from community.bookings.models import Booking, BookingStatus, ServiceItem
from community.bookings.service import BookingError, token_hash
from community.bookings.views import session_line
from community.grids.models import Grid
from community.i18n import is_curated, t
from community.outbox.service import enqueue
from community.people.models import Person, Role
from community.people.records import TeamMember
from community.tickets.filing import begin_write

CHECKIN_PREFIX = "ci_"
QR_SCALE = 8


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={CHECKIN_PREFIX}{token}"


def qr_png(link: str) -> bytes:
    """The link as a QR code the volunteer scans from the booker's screen."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=QR_SCALE, border=2)
    return buffer.getvalue()


def may_check_in(session: Session, person: Person, item: ServiceItem) -> bool:
    """Whether `person` serves the item's station: by role on its micro-grid (or the grid above), by team, or
    as the desk or the committee."""
    if person.has_role(Role.DESK, Role.COMMITTEE_MEMBER):
        return True
    grid = session.get(Grid, item.grid_code) if item.grid_code else None
    covered = {grid.code, grid.parent_code} if grid is not None else set()
    for row in person.roles:
        if row.role in (Role.VOLUNTEER.value, Role.GRID_MEMBER.value) and row.grid_code in covered:
            return True
    if item.team_code:
        member = session.scalar(
            select(TeamMember.id).where(
                TeamMember.team_code == item.team_code, TeamMember.person_id == person.id
            )
        )
        return member is not None
    return False


def check_in(session: Session, actor: Person, token: str, now: datetime, zone: ZoneInfo) -> Booking:
    """Checks the booking of `token` in, as `actor`; the booker's notice is in the same transaction.

    Raises BookingError: `bad_token` (unknown or already used), `not_station` (the actor does not serve this
    station), `ended` (the session is over)."""
    begin_write(session)
    booking = session.scalar(
        select(Booking)
        .where(Booking.token_hash == token_hash(token))
        .execution_options(populate_existing=True)
    )
    if booking is None or booking.status != BookingStatus.BOOKED.value:
        raise BookingError("bad_token")
    if not may_check_in(session, actor, booking.session.item):
        raise BookingError("not_station")
    if booking.session.ends_at <= now:
        raise BookingError("ended")
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == BookingStatus.BOOKED.value)
        .values(
            status=BookingStatus.CHECKED_IN.value,
            checked_in_at=now,
            checked_in_by_id=actor.id,
            token_hash=None,  # single use
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise BookingError("bad_token")
    session.refresh(booking)
    booker = session.get(Person, booking.person_id)
    assert booker is not None
    language = booker.preferred_language if is_curated(booker.preferred_language) else "en"
    text = t("bookings.checked_in.booker", language, session=session_line(booking.session, language, zone))
    enqueue(session, booker, "booking_checked_in", {"text": text}, now=now)
    return booking
