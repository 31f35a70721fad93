"""The ticket loop: file, route, accept, decline, resolve, escalate, reopen, rate, cancel.

Every change goes through `_change`: a compare-and-set UPDATE on (id, version, state) that bumps the
version, followed by exactly one appended TicketEvent, and the notifications it causes written to the
outbox in the same transaction. Checks run in one order everywhere: who may act (NotAllowed), then for
Accept whether someone already has it (AlreadyTaken), then the button's version (StaleVersion), then the
state machine (IllegalTransition), then the input (InvalidInput).
"""

from __future__ import annotations

import math
import secrets
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from community.grids.service import cached_get, locate
from community.people.models import Person, Role, VolunteerProfile
from community.tickets import notify, routing
from community.tickets.errors import (
    AlreadyTaken,
    AlreadyYours,
    InvalidInput,
    NoCandidate,
    NotAllowed,
    StaleVersion,
    TicketNotFound,
)
from community.tickets.models import (
    Assignment,
    EscalationLevel,
    Follower,
    IssueCategory,
    Rating,
    Ticket,
    TicketEvent,
    TicketState,
    Urgency,
)
from community.tickets.states import (
    AWAITING_ACCEPT,
    CREATED,
    EVENT_KIND,
    OPEN,
    Step,
    allowed_from,
    next_state,
)

S = TicketState

DUPLICATE_RADIUS_M = 50.0
DUPLICATE_WINDOW = timedelta(hours=2)
# Reports nobody's category covers go to the desk; these are the desk's own time limits.
DEFAULT_ACCEPT_SLA = timedelta(minutes=30)
DEFAULT_RESOLVE_SLA = timedelta(hours=24)
# A report with no one at all to route to is retried by the sweeper this often.
UNROUTED_RETRY = timedelta(minutes=5)

# No 0/O, 1/I/L: refs are read out over the phone and typed from paper.
REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REF_PREFIX = "XJ"
REF_LENGTH = 8

FOLLOW_DUPLICATE = "duplicate"  # a reporter of a linked duplicate: told what the reporter is told
FOLLOW_ESCALATION = "escalation"  # an earlier level: kept informed
FOLLOW_EMERGENCY = "emergency"  # alerted at once for an emergency


@dataclass
class FilingResult:
    ticket: Ticket
    created: bool
    duplicate_of: Ticket | None


# --- small helpers ---------------------------------------------------------------------------------------


def require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime (UTC)")


def new_ref() -> str:
    return REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def _unused_ref(session: Session) -> str:
    while True:
        ref = new_ref()
        if session.scalar(select(Ticket.id).where(Ticket.ref == ref)) is None:
            return ref


def accept_sla(category: IssueCategory | None) -> timedelta:
    return timedelta(minutes=category.accept_sla_minutes) if category else DEFAULT_ACCEPT_SLA


def resolve_sla(category: IssueCategory | None) -> timedelta:
    return timedelta(minutes=category.resolve_sla_minutes) if category else DEFAULT_RESOLVE_SLA


def sla_for_state(category: IssueCategory | None, state: str) -> timedelta:
    return resolve_sla(category) if state == S.ACCEPTED else accept_sla(category)


def category_of(session: Session, ticket: Ticket) -> IssueCategory | None:
    return cached_get(session, IssueCategory, ticket.category_code) if ticket.category_code else None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _load(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise TicketNotFound(f"#{ticket_id}")
    return ticket


def _roles(person: Person) -> set[tuple[str, str | None]]:
    return {(r.role, r.grid_code) for r in person.roles}


def _is_committee(person: Person) -> bool:
    return person.has_role(Role.COMMITTEE_MEMBER)


def _is_desk(person: Person) -> bool:
    return person.has_role(Role.DESK)


def is_grid_member_of(person: Person, ticket: Ticket) -> bool:
    return ticket.grid_code is not None and (Role.GRID_MEMBER.value, ticket.grid_code) in _roles(person)


def _has_active_assignment(session: Session, ticket: Ticket, person: Person) -> bool:
    return (
        session.scalar(
            select(Assignment.id).where(
                Assignment.ticket_id == ticket.id,
                Assignment.person_id == person.id,
                Assignment.active.is_(True),
            )
        )
        is not None
    )


def _was_asked(session: Session, ticket: Ticket, person: Person) -> bool:
    return person.id != ticket.reporter_id and (
        session.scalar(
            select(Assignment.id)
            .where(Assignment.ticket_id == ticket.id, Assignment.person_id == person.id)
            .limit(1)
        )
        is not None
    )


def _may_handle(session: Session, ticket: Ticket, person: Person) -> bool:
    """Assigned staff, the ticket's grid member, or any committee member; never the reporter."""
    if person.id == ticket.reporter_id:
        return False
    return (
        person.id == ticket.owner_id
        or _is_committee(person)
        or is_grid_member_of(person, ticket)
        or _has_active_assignment(session, ticket, person)
    )


def _level_of(person: Person, ticket: Ticket) -> int:
    if _is_committee(person):
        return EscalationLevel.COMMITTEE
    if is_grid_member_of(person, ticket):
        return EscalationLevel.GRID_MEMBER
    return EscalationLevel.BACKBONE


def actor_role(ticket: Ticket, person: Person | None) -> str:
    """The capacity in which a person acts on this ticket, for the event log."""
    if person is None:
        return "system"
    if person.id == ticket.reporter_id:
        return "reporter"
    roles = _roles(person)
    if ticket.micro_grid_code and (Role.VOLUNTEER.value, ticket.micro_grid_code) in roles:
        return Role.VOLUNTEER.value
    if is_grid_member_of(person, ticket):
        return Role.GRID_MEMBER.value
    for role in (Role.COMMITTEE_MEMBER, Role.DESK, Role.VOLUNTEER, Role.GRID_MEMBER):
        if any(r == role.value for r, _ in roles):
            return role.value
    return next(iter(sorted(r for r, _ in roles)), "resident")


def _people(session: Session, ids: Iterable[int | None]) -> list[Person]:
    """Persons by id in the order given; one query for all (the sweeper calls this for every ticket)."""
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    if not wanted:
        return []
    # Only ids and languages are read here: the relationships load if (and when) someone needs them.
    query = (
        select(Person)
        .where(Person.id.in_(wanted))
        .options(lazyload(Person.roles), lazyload(Person.volunteer))
    )
    found = {p.id: p for p in session.scalars(query)}
    return [found[i] for i in wanted if i in found]


# --- the compare-and-set core ----------------------------------------------------------------------------


def _precheck(ticket: Ticket, step: Step, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise StaleVersion(ticket.ref, expected_version, ticket.version, ticket.state)
    next_state(step, ticket.state, ticket.ref)


def _winner(session: Session, ticket: Ticket) -> tuple[int | None, str]:
    actor_id = session.scalar(
        select(TicketEvent.actor_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EVENT_KIND[Step.ACCEPT])
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    person = session.get(Person, actor_id) if actor_id is not None else None
    return actor_id, person.display_name if person else ""


def _taken(session: Session, ticket: Ticket, actor: Person | None) -> AlreadyTaken:
    winner_id, name = _winner(session, ticket)
    # Telling a volunteer that a task "has been taken by" themselves reads like someone else has it.
    error = AlreadyYours if actor is not None and winner_id == actor.id else AlreadyTaken
    return error(ticket.ref, ticket.state, winner_id, name)


def _change(
    session: Session,
    ticket: Ticket,
    step: Step,
    *,
    expected_version: int | None,
    actor: Person | None,
    channel: str,
    now: datetime,
    values: dict[str, Any] | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> TicketEvent:
    """Apply one step: UPDATE … WHERE id AND version AND state IN (…); then append its event."""
    expected = ticket.version if expected_version is None else expected_version
    _precheck(ticket, step, expected)
    from_state = ticket.state
    to_state = next_state(step, from_state, ticket.ref)
    changes = {**(values or {}), "state": to_state.value, "version": expected + 1}
    result = session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket.id,
            Ticket.version == expected,
            Ticket.state.in_(allowed_from(step)),
            *where,
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(ticket)
        if step is Step.ACCEPT and ticket.state in (S.ACCEPTED, S.RESOLVED, S.CLOSED):
            raise _taken(session, ticket, actor)
        if ticket.version != expected:
            raise StaleVersion(ticket.ref, expected, ticket.version, ticket.state)
        next_state(step, ticket.state, ticket.ref)
        raise StaleVersion(ticket.ref, expected, ticket.version, ticket.state)  # a guard in `where` failed
    for key, value in changes.items():
        set_committed_value(ticket, key, value)
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=EVENT_KIND[step],
        actor_id=actor.id if actor else None,
        actor_role=actor_role(ticket, actor),
        channel=channel if actor else "system",
        from_state=from_state,
        to_state=to_state.value,
        reason=reason,
        data=data or {},
        at=now,
    )
    session.add(event)
    return event


def _assign(session: Session, ticket: Ticket, person: Person, level: int, now: datetime) -> None:
    existing = session.scalar(
        select(Assignment).where(
            Assignment.ticket_id == ticket.id, Assignment.person_id == person.id, Assignment.active.is_(True)
        )
    )
    if existing is None:
        session.add(
            Assignment(ticket_id=ticket.id, person_id=person.id, level=level, active=True, created_at=now)
        )
    elif existing.level < level:
        existing.level = level


def _follow(session: Session, ticket_id: int, person_id: int, reason: str) -> None:
    """Add a follower once; concurrent adds of the same pair are harmless (ON CONFLICT DO NOTHING)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Follower)
        .values(ticket_id=ticket_id, person_id=person_id, reason=reason)
        .on_conflict_do_nothing(index_elements=["ticket_id", "person_id"])
    )


def _active_assignees(session: Session, ticket: Ticket) -> list[int]:
    return list(
        session.scalars(
            select(Assignment.person_id)
            .where(Assignment.ticket_id == ticket.id, Assignment.active.is_(True))
            .order_by(Assignment.id)
        )
    )


def _followers(session: Session, ticket: Ticket, duplicate: bool) -> list[int]:
    reason = Follower.reason == FOLLOW_DUPLICATE if duplicate else Follower.reason != FOLLOW_DUPLICATE
    return list(
        session.scalars(
            select(Follower.person_id).where(Follower.ticket_id == ticket.id, reason).order_by(Follower.id)
        )
    )


def staff_audience(session: Session, ticket: Ticket) -> list[Person]:
    """Owner, everyone still assigned, and staff who follow (earlier levels, emergency alerts)."""
    return _people(
        session, [ticket.owner_id, *_active_assignees(session, ticket), *_followers(session, ticket, False)]
    )


def reporter_audience(session: Session, ticket: Ticket) -> tuple[Person | None, list[Person]]:
    """The reporter, and the reporters of linked duplicates who follow the ticket."""
    return session.get(Person, ticket.reporter_id), _people(session, _followers(session, ticket, True))


def contact_of(session: Session, ticket: Ticket) -> str | None:
    if ticket.contact:
        return ticket.contact
    return session.scalar(select(Person.phone).where(Person.id == ticket.reporter_id))


def _serial(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- filing ----------------------------------------------------------------------------------------------


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
    """File a report once per source message, link it to an open duplicate or route it, and tell people."""
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
    _change(
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
        _follow(session, original.id, reporter.id, FOLLOW_DUPLICATE)
    view = notify.load_view(session, original)
    emergency = bool(view.category and view.category.emergency)
    notifier.send(
        reporter, "ticket.duplicate", notify.reporter_duplicate(view, reporter, emergency=emergency)
    )


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
            reporter = session.get(Person, ticket.reporter_id)
            view = notify.load_view(session, ticket)
            if reporter is not None:
                notifier.send(
                    reporter,
                    "ticket.received",
                    notify.reporter_received(view, reporter, "ticket.who.pending", emergency=emergency),
                )
        return False
    owner = decision.person
    due = now + accept_sla(category)
    data: dict[str, Any] = {
        "routing": decision.data(),
        "due_at": due.isoformat(),
        "skill": category.skill if category else None,
        "emergency": emergency,
    }
    if team:
        data["alerted"] = [{"person_id": c.person.id, "level": c.level} for c in team]
    _change(
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
    _assign(session, ticket, owner, decision.level, now)
    view = notify.load_view(session, ticket)
    desk = decision.rule is routing.Rule.DESK
    contact = contact_of(session, ticket)
    headline = "ticket.headline.emergency" if emergency else "ticket.headline.new"
    notifier.send(
        owner,
        "ticket.task",
        notify.task(view, owner, headline, buttons="awaiting", show_contact=True, contact=contact, desk=desk),
    )
    for member in team:
        if member.person.id == owner.id:
            continue
        _assign(session, ticket, member.person, member.level, now)
        _follow(session, ticket.id, member.person.id, FOLLOW_EMERGENCY)
        notifier.send(
            member.person,
            "ticket.task",
            notify.task(view, member.person, "ticket.headline.emergency", buttons="accept_only"),
        )
    reporter = session.get(Person, ticket.reporter_id)
    if reporter is not None:
        who = {
            routing.Rule.VOLUNTEER: "ticket.who.volunteer",
            routing.Rule.GRID_MEMBER: "ticket.who.grid_member",
            routing.Rule.COMMITTEE: "ticket.who.committee",
            routing.Rule.DESK: "ticket.who.desk",
        }[decision.rule or routing.Rule.DESK]
        if emergency:
            who = "ticket.who.everyone"
        notifier.send(
            reporter, "ticket.received", notify.reporter_received(view, reporter, who, emergency=emergency)
        )
    return True


# --- staff steps -----------------------------------------------------------------------------------------


def accept(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Take the ticket. Exactly one of many simultaneous presses wins; the rest get AlreadyTaken."""
    require_aware(now)
    ticket = _load(session, ticket_id)
    taken = (S.ACCEPTED, S.RESOLVED, S.CLOSED)
    if not _may_handle(session, ticket, actor):
        # Everyone who was asked hears who won, although the winner's acceptance retired their assignment
        # (possibly between our reading the ticket and reading the assignment: read it again).
        if _was_asked(session, ticket, actor):
            session.refresh(ticket)
            if ticket.state in taken:
                raise _taken(session, ticket, actor)
        raise NotAllowed(ticket.ref, Step.ACCEPT.value, actor.id)
    if ticket.state in taken:
        raise _taken(session, ticket, actor)
    category = category_of(session, ticket)
    level = max(ticket.escalation_level, _level_of(actor, ticket))
    previous_owner = ticket.owner_id
    due = now + resolve_sla(category)
    _change(
        session,
        ticket,
        Step.ACCEPT,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"owner_id": actor.id, "accepted_at": now, "due_at": due, "escalation_level": level},
        data={"previous_owner": previous_owner, "due_at": due.isoformat(), "level": level},
    )
    informed = staff_audience(session, ticket)
    # The others who were asked (an emergency alert, earlier levels) are told who has it and drop it from
    # their task lists; they stay followers where they were.
    session.execute(
        update(Assignment)
        .where(
            Assignment.ticket_id == ticket.id, Assignment.person_id != actor.id, Assignment.active.is_(True)
        )
        .values(active=False)
        .execution_options(synchronize_session="fetch")
    )
    _assign(session, ticket, actor, level, now)
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    notifier.send(
        actor,
        "ticket.accepted",
        notify.task(
            view,
            actor,
            "ticket.headline.accepted",
            buttons="accepted",
            show_contact=True,
            contact=contact_of(session, ticket),
        ),
    )
    reporter, followers = reporter_audience(session, ticket)
    name = notify.first_name(actor.display_name)
    for person in [reporter, *followers]:
        if person is not None:
            notifier.send(
                person,
                "ticket.accepted",
                notify.reporter_update(view, person, "ticket.reporter.accepted", name=name),
            )
    for person in informed:
        notifier.send(
            person,
            "ticket.taken",
            notify.staff_info(view, person, "ticket.staff.taken", name=actor.display_name),
        )
    return ticket


def decline(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str = "",
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Can't take: the owner passes the ticket to the next candidate, or up the chain."""
    require_aware(now)
    ticket = _load(session, ticket_id)
    if actor.id != ticket.owner_id:
        raise NotAllowed(ticket.ref, Step.DECLINE.value, actor.id)
    _precheck(ticket, Step.DECLINE, expected_version)
    category = category_of(session, ticket)
    declined = set(
        session.scalars(
            select(Assignment.person_id).where(
                Assignment.ticket_id == ticket.id, Assignment.declined.is_(True)
            )
        )
    )
    decision = routing.route(
        session, ticket, category, min_level=ticket.escalation_level, exclude=frozenset(declined | {actor.id})
    )
    if decision.person is None:
        raise NoCandidate(ticket.ref, Step.DECLINE.value)
    owner = decision.person
    due = now + accept_sla(category)
    from_level = ticket.escalation_level
    _change(
        session,
        ticket,
        Step.DECLINE,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"owner_id": owner.id, "escalation_level": decision.level, "due_at": due},
        reason=reason.strip() or "can't take",
        data={
            "routing": decision.data(),
            "declined_by": actor.id,
            "from_level": from_level,
            "to_level": decision.level,
            "due_at": due.isoformat(),
        },
    )
    # Writes only after the compare-and-set won: a failed step leaves nothing behind, even if the
    # caller catches the error and commits.
    for assignment in session.scalars(
        select(Assignment).where(Assignment.ticket_id == ticket.id, Assignment.person_id == actor.id)
    ):
        assignment.active = False
        assignment.declined = True
    _assign(session, ticket, owner, decision.level, now)
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    notifier.skip(actor.id)
    notifier.send(
        owner,
        "ticket.task",
        notify.task(
            view,
            owner,
            "ticket.headline.rerouted",
            buttons="awaiting",
            show_contact=True,
            contact=contact_of(session, ticket),
            desk=decision.rule is routing.Rule.DESK,
        ),
    )
    return ticket


def resolve(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    note: str,
    photo_file_ids: Sequence[str] = (),
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Mark the work done with a note (and photos); the reporter is asked to rate it."""
    require_aware(now)
    ticket = _load(session, ticket_id)
    if not _may_handle(session, ticket, actor):
        raise NotAllowed(ticket.ref, Step.RESOLVE.value, actor.id)
    _precheck(ticket, Step.RESOLVE, expected_version)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(ticket.ref, "note", "a resolution needs a note")
    photos = list(photo_file_ids)
    _change(
        session,
        ticket,
        Step.RESOLVE,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"resolved_at": now, "due_at": None},
        reason=note,
        data={"note": note, "photos": photos},
    )
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    notifier.skip(actor.id)
    reporter, followers = reporter_audience(session, ticket)
    if reporter is not None:
        notifier.send(
            reporter,
            "ticket.resolved",
            notify.reporter_resolved(view, reporter, note, photos, ask_rating=True),
        )
    for person in followers:
        notifier.send(
            person, "ticket.resolved", notify.reporter_resolved(view, person, note, photos, ask_rating=False)
        )
    for person in staff_audience(session, ticket):
        notifier.send(
            person,
            "ticket.resolved",
            notify.staff_info(view, person, "ticket.staff.resolved", name=actor.display_name, note=note),
        )
    return ticket


def escalate_one_level(
    session: Session,
    ticket: Ticket,
    *,
    actor: Person | None,
    expected_version: int,
    cause: str,
    reason: str,
    now: datetime,
    channel: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> bool:
    """Move the ticket to the next rung above its level; False when there is nobody above."""
    category = category_of(session, ticket)
    decision = routing.route(session, ticket, category, min_level=ticket.escalation_level + 1)
    if decision.person is None:
        return False
    owner = decision.person
    previous_owner = ticket.owner_id
    from_level = ticket.escalation_level
    missed = ticket.due_at
    due = now + sla_for_state(category, ticket.state)
    _change(
        session,
        ticket,
        Step.ESCALATE,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={
            "owner_id": owner.id,
            "escalation_level": decision.level,
            "due_at": due,
            "sweep_lease_until": None,
        },
        reason=reason or decision.reason,
        data={
            "cause": cause,
            "from_level": from_level,
            "to_level": decision.level,
            "from_owner": previous_owner,
            "to_owner": owner.id,
            "missed_due_at": _serial(missed) if cause == "overdue" else None,
            "due_at": due.isoformat(),
            "routing": decision.data(),
        },
        where=where,
    )
    _assign(session, ticket, owner, decision.level, now)
    if previous_owner is not None and previous_owner != owner.id:
        _follow(session, ticket.id, previous_owner, FOLLOW_ESCALATION)
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    if actor is not None:
        notifier.skip(actor.id)
    mode = notify.buttons_for_state(ticket)
    notifier.send(
        owner,
        "ticket.task",
        notify.task(
            view,
            owner,
            "ticket.headline.escalated",
            buttons=mode,
            show_contact=True,
            contact=contact_of(session, ticket),
            reason=reason,
        ),
    )
    informed_buttons = "accept_only" if ticket.state in AWAITING_ACCEPT else None
    for person in staff_audience(session, ticket):
        level = notify.level_name(decision.level, person.preferred_language)
        key = "ticket.staff.escalated_can_accept" if informed_buttons else "ticket.staff.escalated"
        notifier.send(
            person,
            "ticket.escalated",
            notify.staff_info(
                view, person, key, buttons=informed_buttons, level=level, name=owner.display_name
            ),
        )
    return True


def remind(
    session: Session,
    ticket: Ticket,
    *,
    now: datetime,
    reason: str,
    where: Sequence[ColumnElement[bool]] = (),
) -> None:
    """A missed deadline with nobody above: remind the owner and set a new deadline."""
    category = category_of(session, ticket)
    missed = ticket.due_at
    due = now + (UNROUTED_RETRY if ticket.state == S.NEW else sla_for_state(category, ticket.state))
    _change(
        session,
        ticket,
        Step.REMIND,
        expected_version=ticket.version,
        actor=None,
        channel="system",
        now=now,
        values={"due_at": due, "sweep_lease_until": None},
        reason=reason,
        data={
            "cause": "overdue",
            "missed_due_at": _serial(missed),
            "due_at": due.isoformat(),
            "level": ticket.escalation_level,
        },
        where=where,
    )
    owner = session.get(Person, ticket.owner_id) if ticket.owner_id else None
    if owner is not None:
        view = notify.load_view(session, ticket)
        notify.Notifier(session, ticket, now).send(
            owner,
            "ticket.reminder",
            notify.task(
                view,
                owner,
                "ticket.headline.reminder",
                buttons=notify.buttons_for_state(ticket),
                show_contact=True,
                contact=contact_of(session, ticket),
            ),
        )


def escalate(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str = "",
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """The owner asks the next level up to take over."""
    require_aware(now)
    ticket = _load(session, ticket_id)
    if actor.id != ticket.owner_id:
        raise NotAllowed(ticket.ref, Step.ESCALATE.value, actor.id)
    _precheck(ticket, Step.ESCALATE, expected_version)
    done = escalate_one_level(
        session,
        ticket,
        actor=actor,
        expected_version=expected_version,
        cause="manual",
        reason=reason.strip(),
        now=now,
        channel=channel,
    )
    if not done:
        raise NoCandidate(ticket.ref, Step.ESCALATE.value)
    return ticket


# --- reporter steps --------------------------------------------------------------------------------------


def _reopen(
    session: Session,
    ticket: Ticket,
    actor: Person,
    expected_version: int,
    reason: str,
    now: datetime,
    channel: str,
    rating: str | None,
) -> None:
    category = category_of(session, ticket)
    due = now + accept_sla(category)
    data: dict[str, Any] = {"due_at": due.isoformat()}
    if rating:
        data["rating"] = rating
    _change(
        session,
        ticket,
        Step.REOPEN,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"due_at": due, "sweep_lease_until": None},
        reason=reason,
        data=data,
    )
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    notifier.skip(actor.id)
    owner = session.get(Person, ticket.owner_id) if ticket.owner_id else None
    if owner is not None:
        _assign(session, ticket, owner, ticket.escalation_level, now)
        notifier.send(
            owner,
            "ticket.task",
            notify.task(
                view,
                owner,
                "ticket.headline.reopened",
                buttons="awaiting",
                show_contact=True,
                contact=contact_of(session, ticket),
                reason=reason,
            ),
        )
    reporter, followers = reporter_audience(session, ticket)
    for person in [reporter, *followers]:
        if person is not None:
            notifier.send(
                person, "ticket.reopened", notify.reporter_update(view, person, "ticket.reporter.reopened")
            )
    for person in staff_audience(session, ticket):
        notifier.send(
            person, "ticket.reopened", notify.staff_info(view, person, "ticket.staff.reopened", reason=reason)
        )


def reopen(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Reopen a resolved ticket (the reporter, its staff or the desk), with a reason."""
    require_aware(now)
    ticket = _load(session, ticket_id)
    if not (actor.id == ticket.reporter_id or _is_desk(actor) or _may_handle(session, ticket, actor)):
        raise NotAllowed(ticket.ref, Step.REOPEN.value, actor.id)
    _precheck(ticket, Step.REOPEN, expected_version)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(ticket.ref, "reason", "reopening needs a reason")
    _reopen(session, ticket, actor, expected_version, reason, now, channel, rating=None)
    return ticket


def rate(
    session: Session,
    ticket_id: int,
    actor: Person,
    *,
    score: int | None = None,
    not_fixed: bool = False,
    now: datetime,
    channel: str = "telegram",
    expected_version: int | None = None,
) -> Ticket:
    """The reporter's verdict on a resolution: 1–5 closes the ticket, "not fixed" reopens it.

    Rating buttons carry no version: they stay valid for as long as the ticket is resolved.
    """
    require_aware(now)
    ticket = _load(session, ticket_id)
    if actor.id != ticket.reporter_id:
        raise NotAllowed(ticket.ref, Step.RATE.value, actor.id)
    step = Step.REOPEN if not_fixed else Step.RATE
    _precheck(ticket, step, expected_version)
    version = ticket.version if expected_version is None else expected_version
    if not_fixed:
        _reopen(
            session, ticket, actor, version, "not fixed (reporter's rating)", now, channel, rating="not_fixed"
        )
        session.add(Rating(ticket_id=ticket.id, person_id=actor.id, score=None, not_fixed=True, at=now))
        return ticket
    if score is None or not 1 <= int(score) <= 5:
        raise InvalidInput(ticket.ref, "score", "a rating is 1 to 5")
    score = int(score)
    _change(
        session,
        ticket,
        Step.RATE,
        expected_version=version,
        actor=actor,
        channel=channel,
        now=now,
        values={"closed_at": now, "due_at": None},
        reason=f"rated {score}",
        data={"rating": score},
    )
    session.add(Rating(ticket_id=ticket.id, person_id=actor.id, score=score, not_fixed=False, at=now))
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    notifier.send(actor, "ticket.closed", notify.reporter_update(view, actor, "ticket.reporter.closed"))
    for person in staff_audience(session, ticket):
        notifier.send(
            person, "ticket.closed", notify.staff_info(view, person, "ticket.staff.closed", score=str(score))
        )
    return ticket


def cancel(
    session: Session,
    ticket_id: int,
    actor: Person,
    expected_version: int,
    *,
    reason: str = "",
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """Withdraw an open ticket: its reporter, the desk, a committee member or the ticket's grid member."""
    require_aware(now)
    ticket = _load(session, ticket_id)
    is_reporter = actor.id == ticket.reporter_id
    if not (is_reporter or _is_desk(actor) or _is_committee(actor) or is_grid_member_of(actor, ticket)):
        raise NotAllowed(ticket.ref, Step.CANCEL.value, actor.id)
    _precheck(ticket, Step.CANCEL, expected_version)
    reason = (reason or "").strip()
    if not reason:
        if not is_reporter:
            raise InvalidInput(ticket.ref, "reason", "staff cancelling a report must say why")
        reason = "withdrawn by the reporter"
    staff = staff_audience(session, ticket)
    _change(
        session,
        ticket,
        Step.CANCEL,
        expected_version=expected_version,
        actor=actor,
        channel=channel,
        now=now,
        values={"closed_at": now, "due_at": None, "sweep_lease_until": None},
        reason=reason,
    )
    session.execute(
        update(Assignment)
        .where(Assignment.ticket_id == ticket.id, Assignment.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session="fetch")
    )
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    notifier.skip(actor.id)
    for person in staff:
        notifier.send(
            person,
            "ticket.cancelled",
            notify.staff_info(view, person, "ticket.staff.cancelled", reason=reason),
        )
    reporter, followers = reporter_audience(session, ticket)
    for person in [reporter, *followers]:
        if person is not None:
            notifier.send(
                person,
                "ticket.cancelled",
                notify.reporter_update(view, person, "ticket.reporter.cancelled", reason=reason),
            )
    return ticket


def add_location(
    session: Session,
    ticket_id: int,
    actor: Person,
    lat: float,
    lon: float,
    *,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """The reporter says where it is after filing (an emergency alert goes out before the location is known):
    the ticket gets the place, and the staff on it get the location at once."""
    require_aware(now)
    ticket = _load(session, ticket_id)
    if actor.id != ticket.reporter_id:
        raise NotAllowed(ticket.ref, Step.LOCATE.value, actor.id)
    micro = locate(session, lat, lon)
    values: dict[str, Any] = {"lat": lat, "lon": lon}
    if micro is not None and ticket.micro_grid_code is None:
        values |= {"micro_grid_code": micro.code, "grid_code": micro.parent_code}
    _change(
        session,
        ticket,
        Step.LOCATE,
        expected_version=None,
        actor=actor,
        channel=channel,
        now=now,
        values=values,
        data={"lat": lat, "lon": lon},
    )
    view = notify.load_view(session, ticket)
    notifier = notify.Notifier(session, ticket, now)
    for person in staff_audience(session, ticket):
        payload = notify.staff_info(view, person, "ticket.staff.located")
        notifier.send(
            person, "ticket.located", {**payload, **notify.place_payload(view, person.preferred_language)}
        )
    return ticket


def open_emergency_of(session: Session, reporter: Person, now: datetime, within: timedelta) -> Ticket | None:
    """The reporter's latest emergency still open and filed within `within`, without a location yet."""
    return session.scalar(
        select(Ticket)
        .where(
            Ticket.reporter_id == reporter.id,
            Ticket.urgency == Urgency.EMERGENCY,
            Ticket.state.in_(OPEN),
            Ticket.lat.is_(None),
            Ticket.created_at >= now - within,
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )


# --- volunteers ------------------------------------------------------------------------------------------


def set_duty(session: Session, person: Person, on: bool) -> VolunteerProfile:
    """/duty on|off for a volunteer; off-duty volunteers are skipped by routing."""
    if not person.has_role(Role.VOLUNTEER):
        raise PermissionError(f"person {person.id} is not a volunteer")
    profile = person.volunteer
    if profile is None:
        profile = VolunteerProfile(person_id=person.id, on_duty=on, skills=[])
        person.volunteer = profile
    profile.on_duty = on
    session.flush()
    return profile
