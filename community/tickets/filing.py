"""Filing a report: once per source message, linked to an open duplicate or routed to its first owner.

Two reports of the same thing must not both miss each other, so filings of one category are serialised (a
PostgreSQL advisory lock, SQLite's write lock). Nothing here waits on the network: a description is
translated for staff by the caller before the transaction that files it begins.
"""

from __future__ import annotations

import math
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from community.grids.geo import haversine_m
from community.grids.service import cached_get
from community.people.models import Person
from community.tickets import clock, notify, routing
from community.tickets.fanout import UNROUTED, announce
from community.tickets.models import EscalationLevel, IssueCategory, Ticket, TicketEvent, TicketState, Urgency
from community.tickets.states import CREATED, OPEN, Step
from community.tickets.transition import (
    FOLLOW_DUPLICATE,
    FOLLOW_EMERGENCY,
    accept_sla,
    assign,
    change,
    follow,
    require_aware,
)

S = TicketState

DUPLICATE_RADIUS_M = 50.0
DUPLICATE_WINDOW = timedelta(hours=2)
# A report with no one at all to route to is first retried by the sweeper this soon (see escalation.py
# for how the retries back off).
UNROUTED_RETRY = timedelta(minutes=5)
# Descriptions longer than this are refused with a polite message (actions/report.py); the domain keeps
# whatever it is given.
MAX_DESCRIPTION_CHARS = 2000

# No 0/O, 1/I/L: refs are read out over the phone and typed from paper.
REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REF_PREFIX = "XJ"
REF_LENGTH = 8


@dataclass
class FilingResult:
    ticket: Ticket
    created: bool
    duplicate_of: Ticket | None


def new_ref() -> str:
    return REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def _unused_ref(session: Session) -> str:
    while True:
        ref = new_ref()
        if session.scalar(select(Ticket.id).where(Ticket.ref == ref)) is None:
            return ref


def _by_source_key(session: Session, source_key: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.source_key == source_key))


def _replay(session: Session, ticket: Ticket) -> FilingResult:
    original = session.get(Ticket, ticket.duplicate_of_id) if ticket.duplicate_of_id else None
    return FilingResult(ticket, False, original)


def begin_write(session: Session) -> None:
    """On SQLite, take the database's write lock now (BEGIN IMMEDIATE).

    pysqlite opens its transaction lazily at the first INSERT/UPDATE, and a SAVEPOINT issued before that
    would open (and its RELEASE commit) a transaction of its own. Taking the lock first also makes
    check-then-insert sequences race-free, since SQLite has one writer at a time.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:  # type: ignore[attr-defined]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _lock_filing(session: Session, category_code: str | None) -> None:
    """Serialise filings of one category, so two reports of the same thing cannot both miss each other."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"xijin:file:{category_code or '-'}".encode())
        session.execute(select(func.pg_advisory_xact_lock(key)))
    else:
        begin_write(session)


def find_original(
    session: Session, category: IssueCategory, lat: float | None, lon: float | None, now: datetime
) -> tuple[Ticket, float] | None:
    """An open ticket of the same category within 50 m and 2 hours, nearest first."""
    if lat is None or lon is None:
        return None
    dlat = DUPLICATE_RADIUS_M / 111_000
    dlon = DUPLICATE_RADIUS_M / (111_000 * max(0.1, math.cos(math.radians(lat))))
    rows = session.scalars(
        select(Ticket)
        .where(
            Ticket.category_code == category.code,
            Ticket.state.in_(OPEN),
            Ticket.created_at >= now - DUPLICATE_WINDOW,
            Ticket.created_at <= now,
            Ticket.lat.between(lat - dlat, lat + dlat),
            Ticket.lon.between(lon - dlon, lon + dlon),
        )
        .order_by(Ticket.created_at, Ticket.id)
    )
    best: tuple[Ticket, float] | None = None
    for other in rows:
        assert other.lat is not None and other.lon is not None
        distance = haversine_m(lat, lon, other.lat, other.lon)
        if distance <= DUPLICATE_RADIUS_M and (best is None or distance < best[1]):
            best = (other, distance)
    return best


def file_report(
    session: Session,
    *,
    reporter: Person,
    category_code: str | None,
    lat: float | None = None,
    lon: float | None = None,
    landmark_code: str | None = None,
    grid_code: str | None = None,
    description: str = "",
    description_language: str = "zh-Hans",
    description_zh: str | None = None,
    photo_file_ids: Sequence[str] = (),
    contact: str | None = None,
    channel: str = "telegram",
    source_key: str | None = None,
    now: datetime,
) -> FilingResult:
    """File a report once per source message, link it to an open duplicate or route it, and tell people.

    `description_zh` is the staff's translation, made by the caller before its transaction began
    (`community.language.service.to_chinese_for_staff`): no lock is held across a network call.
    """
    require_aware(now)
    if (lat is None) != (lon is None):
        raise ValueError("give both lat and lon, or neither")
    if source_key and (existing := _by_source_key(session, source_key)) is not None:
        return _replay(session, existing)
    category = cached_get(session, IssueCategory, category_code) if category_code else None
    if category is not None and not category.active:
        category = None
    _lock_filing(session, category.code if category else None)
    if source_key and (existing := _by_source_key(session, source_key)) is not None:
        return _replay(session, existing)

    place = routing.resolve_place(session, lat=lat, lon=lon, landmark_code=landmark_code, grid_code=grid_code)
    found = find_original(session, category, place.lat, place.lon, now) if category else None
    emergency = bool(category and category.emergency)
    ticket = Ticket(
        ref=_unused_ref(session),
        source_key=source_key,
        channel=channel,
        category_code=category.code if category else None,
        urgency=Urgency.EMERGENCY if emergency else (category.urgency if category else Urgency.NORMAL),
        state=S.NEW,
        version=1,
        lat=place.lat,
        lon=place.lon,
        micro_grid_code=place.micro_grid.code if place.micro_grid else None,
        grid_code=place.grid.code if place.grid else None,
        landmark_code=landmark_code,
        description=description.strip(),
        description_language=description_language,
        description_zh=description_zh,
        photo_file_ids=list(photo_file_ids),
        contact=contact,
        reporter_id=reporter.id,
        owner_id=None,
        escalation_level=EscalationLevel.BACKBONE,
        created_at=now,
        due_at=None,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
    except IntegrityError:
        # Another worker filed the same message between our check and our insert.
        if source_key and (existing := _by_source_key(session, source_key)) is not None:
            return _replay(session, existing)
        raise
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=CREATED,
            actor_id=reporter.id,
            actor_role="reporter",
            channel=channel,
            from_state=None,
            to_state=S.NEW.value,
            reason="",
            data={"place": place.data(), "category": category_code, "source_key": source_key},
            at=now,
        )
    )
    notifier = notify.Notifier(session, ticket, now)
    if found is not None:
        original, distance = found
        _link(session, ticket, original, distance, reporter, notifier, now, channel)
        return FilingResult(ticket, True, original)
    dispatch(session, ticket, category, notifier, now)
    return FilingResult(ticket, True, None)


def _link(
    session: Session,
    ticket: Ticket,
    original: Ticket,
    distance: float,
    reporter: Person,
    notifier: notify.Notifier,
    now: datetime,
    channel: str,
) -> None:
    minutes = (now - original.created_at).total_seconds() / 60
    change(
        session,
        ticket,
        Step.LINK,
        expected_version=ticket.version,
        actor=reporter,
        channel=channel,
        now=now,
        values={"duplicate_of_id": original.id},
        reason=f"same category {distance:.0f} m and {minutes:.0f} min from {original.ref}",
        data={"original_id": original.id, "original_ref": original.ref, "distance_m": round(distance, 1)},
    )
    if reporter.id != original.reporter_id:
        follow(session, original.id, reporter.id, FOLLOW_DUPLICATE)
    category = cached_get(session, IssueCategory, original.category_code) if original.category_code else None
    announce(
        session,
        ticket,
        Step.LINK,
        now=now,
        actor=reporter,
        about=original,
        notifier=notifier,
        emergency=bool(category and category.emergency),
    )


_WHO = {
    routing.Rule.VOLUNTEER: "ticket.who.volunteer",
    routing.Rule.GRID_MEMBER: "ticket.who.grid_member",
    routing.Rule.COMMITTEE: "ticket.who.committee",
    routing.Rule.DESK: "ticket.who.desk",
}


def dispatch(
    session: Session, ticket: Ticket, category: IssueCategory | None, notifier: notify.Notifier, now: datetime
) -> bool:
    """Route a NEW ticket to its first owner (all levels at once for an emergency); False if nobody exists."""
    emergency = bool(category and category.emergency)
    team: list[routing.Candidate] = []
    if emergency:
        decision, team = routing.emergency_team(session, ticket, category)
    else:
        decision = routing.route(session, ticket, category)
    if decision.person is None:
        # Nobody at all to send it to: keep it NEW and let the sweeper retry; the reporter still hears back.
        if ticket.due_at is None:
            ticket.due_at = now + UNROUTED_RETRY
            announce(
                session,
                ticket,
                UNROUTED,
                now=now,
                notifier=notifier,
                who="ticket.who.pending",
                emergency=emergency,
            )
        return False
    owner = decision.person
    due = clock.deadline(ticket, category, now, accept_sla(category))
    data: dict[str, Any] = {
        "routing": decision.data(),
        "due_at": due.isoformat(),
        "skill": category.skill if category else None,
        "emergency": emergency,
    }
    if team:
        data["alerted"] = [{"person_id": c.person.id, "level": c.level} for c in team]
    change(
        session,
        ticket,
        Step.ROUTE,
        expected_version=ticket.version,
        actor=None,
        channel="system",
        now=now,
        values={
            "owner_id": owner.id,
            "escalation_level": decision.level,
            "dispatched_at": now,
            "due_at": due,
            "sweep_lease_until": None,
        },
        reason=decision.reason,
        data=data,
    )
    assign(session, ticket, owner, decision.level, now)
    alerted = [member for member in team if member.person.id != owner.id]
    for member in alerted:
        assign(session, ticket, member.person, member.level, now)
        follow(session, ticket.id, member.person.id, FOLLOW_EMERGENCY)
    announce(
        session,
        ticket,
        Step.ROUTE,
        now=now,
        team=[member.person for member in alerted],
        notifier=notifier,
        desk=decision.rule is routing.Rule.DESK,
        emergency=emergency,
        who="ticket.who.everyone" if emergency else _WHO[decision.rule or routing.Rule.DESK],
    )
    return True
