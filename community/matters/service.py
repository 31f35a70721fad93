"""有事好商量 as service functions: raise, file, support, call a 议事会, sign up, record the outcome, close.

Each function takes the caller's session (one transaction per action) and `now`; what it tells other people
it writes to the outbox in the same transaction (community/matters/notify.py). Refusals are `MatterError`s
carrying a catalogue key, so every front end answers them politely in the reader's language.

Who is a resident of a micro-grid (only they count as supporters) is read from what the database has:
- the micro-grids the person subscribed to (`/subscribe`: the one place a person says "this is my area"),
- the micro-grids of their own roles (a volunteer serves the micro-grid they live in),
- the micro-grid their live shared location lies in (conversation state "location", 30 minutes).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from community.conversations import service as conversations
from community.grids.models import Grid, GridLevel
from community.grids.service import locate_code, street_grid_of
from community.matters import notify
from community.matters.models import (
    Matter,
    MatterEvent,
    MatterParticipant,
    MatterStandard,
    MatterState,
    MatterSupport,
)
from community.matters.standards import row
from community.outreach.models import Subscription
from community.people.models import Person, PersonRole, Role
from community.people.records import TeamMember
from community.tickets.clock import community_zone

MIN_TEXT = 4
MAX_TEXT = 1000
MAX_PLACE = 200
_REF_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud and typed from paper
_MEETING = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})\s+(.+?)\s*$", re.S)


class MatterError(Exception):
    """A refusal with the catalogue key (and its parameters) that explains it to the person."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class SupportResult:
    counted: bool  # False: this person had supported it already
    count: int
    threshold: int
    reached: bool  # this support is the one that reached the threshold


# --- who is who ---------------------------------------------------------------------------------------------


def is_desk(person: Person | None) -> bool:
    return person is not None and person.has_role(Role.DESK)


def _desk(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if not is_desk(person):
        raise MatterError("matters.not_desk")
    assert person is not None
    return person


def desk_people(session: Session) -> list[Person]:
    query = select(Person).join(PersonRole).where(PersonRole.role == Role.DESK).order_by(Person.id)
    return list(session.scalars(query.distinct()))


def micro_grid(session: Session, code: str | None) -> Grid | None:
    grid = session.get(Grid, code) if code else None
    return grid if grid is not None and grid.active and grid.level == GridLevel.MICRO_GRID else None


def resident_micro_grids(session: Session, person: Person, now: datetime) -> set[str]:
    """The micro-grids this person counts as a resident of (see the module's note)."""
    codes = set(
        session.scalars(
            select(Subscription.grid_code)
            .join(Grid, Grid.code == Subscription.grid_code)
            .where(Subscription.person_id == person.id, Grid.level == GridLevel.MICRO_GRID)
        )
    )
    codes |= {r.grid_code for r in person.roles if r.role == Role.VOLUNTEER and r.grid_code}
    where = conversations.get(session, "location", person.external_key, now)
    if where:
        found = locate_code(session, float(where[0]), float(where[1]))
        if found is not None:
            codes.add(found)
    return codes


# --- reading ------------------------------------------------------------------------------------------------


def by_ref(session: Session, ref: str) -> Matter | None:
    return session.scalar(select(Matter).where(Matter.ref == ref.strip().lower()))


def _matter(session: Session, matter_id: int, *, lock: bool = False) -> Matter:
    """The matter, locked for this transaction when `lock`: a row lock on PostgreSQL; on SQLite a write as
    the transaction's first statement, which takes the database's write lock, so racing actions queue."""
    if lock:
        if session.get_bind().dialect.name == "postgresql":
            found = session.scalar(select(Matter).where(Matter.id == matter_id).with_for_update())
        else:
            session.execute(update(Matter).where(Matter.id == matter_id).values(version=Matter.version))
            found = session.get(Matter, matter_id, populate_existing=True)
    else:
        found = session.get(Matter, matter_id)
    if found is None:
        raise MatterError("matters.unknown")
    return found


def open_matters(session: Session) -> list[Matter]:
    open_states = [s.value for s in MatterState if s.is_open]
    return list(session.scalars(select(Matter).where(Matter.state.in_(open_states)).order_by(Matter.id)))


def public_matters(session: Session, limit: int = 100) -> list[Matter]:
    return list(session.scalars(select(Matter).order_by(Matter.id.desc()).limit(limit)))


def events(session: Session, matter: Matter) -> list[MatterEvent]:
    query = select(MatterEvent).where(MatterEvent.matter_id == matter.id)
    return list(session.scalars(query.order_by(MatterEvent.at, MatterEvent.id)))


def supporter_ids(session: Session, matter: Matter) -> list[int]:
    query = select(MatterSupport.person_id).where(MatterSupport.matter_id == matter.id)
    return list(session.scalars(query.order_by(MatterSupport.id)))


def participants(session: Session, matter: Matter) -> list[MatterParticipant]:
    query = select(MatterParticipant).where(MatterParticipant.matter_id == matter.id)
    return list(session.scalars(query.order_by(MatterParticipant.id)))


def concerned_ids(session: Session, matter: Matter) -> list[int]:
    """Everyone an outcome goes to: the raiser, the supporters, the invited and the signed up; once each."""
    ids = [matter.raiser_id] if matter.raiser_id is not None else []
    ids += supporter_ids(session, matter) + [p.person_id for p in participants(session, matter)]
    return list(dict.fromkeys(ids))


def reader_languages(session: Session, matter_id: int) -> set[str]:
    """The languages of the people an outcome of this matter goes to (translated before the transaction)."""
    matter = session.get(Matter, matter_id)
    if matter is None:
        return set()
    ids = concerned_ids(session, matter)
    return set(session.scalars(select(Person.preferred_language).where(Person.id.in_(ids))))


def _event(
    session: Session, matter: Matter, kind: str, actor: int | None, now: datetime, **data: Any
) -> None:
    session.add(MatterEvent(matter_id=matter.id, kind=kind, actor_id=actor, data=data, at=now))
    matter.updated_at = now
    matter.version += 1


# --- raising ------------------------------------------------------------------------------------------------


def _new_ref(session: Session) -> str:
    while True:
        ref = "m" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))
        if session.scalar(select(Matter.id).where(Matter.ref == ref)) is None:
            return ref


def check_text(text: str) -> str:
    text = (text or "").strip()
    if len(text) < MIN_TEXT:
        raise MatterError("matters.text.too_short", minimum=MIN_TEXT)
    if len(text) > MAX_TEXT:
        raise MatterError("matters.text.too_long", length=len(text), limit=MAX_TEXT)
    return text


def raise_matter(
    session: Session,
    raiser: Person,
    words: dict[str, Any],
    grid_code: str,
    now: datetime,
    *,
    place: str = "",
    channel: str = "telegram",
) -> Matter:
    """`words` is the text as written with its translations (community/tickets/thread.py prepare_words)."""
    text = check_text(str(words.get("text") or ""))
    grid = micro_grid(session, grid_code)
    if grid is None:
        raise MatterError("matters.grid.unknown")
    if len(place.strip()) > MAX_PLACE:
        raise MatterError("matters.place.too_long", limit=MAX_PLACE)
    matter = Matter(
        ref=_new_ref(session),
        text=text,
        language=str(words.get("language") or raiser.preferred_language),
        translations=dict(words.get("translations") or {}),
        place=place.strip(),
        grid_code=grid.code,
        raiser_id=raiser.id,
        channel=channel,
        state=MatterState.RAISED,
        created_at=now,
        updated_at=now,
    )
    session.add(matter)
    session.flush()
    _event(session, matter, "raised", raiser.id, now, grid=grid.code)
    for desk in desk_people(session):
        notify.to_desk_raised(session, matter, desk, now)
    return matter


# --- the desk files it --------------------------------------------------------------------------------------


def file_matter(
    session: Session, matter_id: int, desk_id: int, area_code: str, standard_code: str, now: datetime
) -> Matter:
    desk = _desk(session, desk_id)
    matter = _matter(session, matter_id, lock=True)
    if matter.state != MatterState.RAISED:
        raise MatterError("matters.state.not_raised", ref=matter.ref)
    standard = row(session, standard_code, "standard")
    if row(session, area_code, "area") is None or standard is None or standard.area_code != area_code:
        raise MatterError("matters.standard.unknown")
    matter.area_code, matter.standard_code = area_code, standard.code
    matter.threshold = int(standard.data.get("threshold") or 3)
    matter.state = MatterState.FILED
    _event(session, matter, "filed", desk.id, now, area=area_code, standard=standard.code)
    notify.filed(session, matter, _residents(session, matter), now)
    return matter


def _residents(session: Session, matter: Matter) -> list[Person]:
    """Whom the announcement of a filed matter reaches: the subscribers of its micro-grid."""
    query = (
        select(Person)
        .join(Subscription, Subscription.person_id == Person.id)
        .where(Subscription.grid_code == matter.grid_code)
        .order_by(Person.id)
    )
    return list(session.scalars(query))


# --- residents support it -----------------------------------------------------------------------------------


def support(session: Session, matter_id: int, person_id: int, now: datetime) -> SupportResult:
    """One support per person, from residents of the matter's micro-grid only.

    The matter is locked first, so two supports at once (the same person pressing twice, or two residents
    reaching the threshold together) are taken one after the other; the unique key is the last guard."""
    matter = _matter(session, matter_id, lock=True)
    person = session.get(Person, person_id)
    assert person is not None
    if matter.state == MatterState.RAISED:
        raise MatterError("matters.support.not_filed", ref=matter.ref)
    if matter.state not in (MatterState.FILED, MatterState.MEETING_CALLED):
        raise MatterError("matters.support.closed", ref=matter.ref)
    if matter.grid_code not in resident_micro_grids(session, person, now):
        raise MatterError("matters.support.not_resident", ref=matter.ref, grid=matter.grid_code)
    counted = True
    if session.scalar(
        select(MatterSupport.id).where(
            MatterSupport.matter_id == matter.id, MatterSupport.person_id == person.id
        )
    ):
        counted = False
    else:
        try:
            with session.begin_nested():
                session.add(MatterSupport(matter_id=matter.id, person_id=person.id, at=now))
        except IntegrityError:
            counted = False
    count = int(
        session.scalar(
            select(func.count()).select_from(MatterSupport).where(MatterSupport.matter_id == matter.id)
        )
        or 0
    )
    reached = counted and count == matter.threshold
    if counted:
        matter.supporters = count
        _event(session, matter, "supported", None, now, count=count)
        if reached:
            _event(session, matter, "threshold_reached", None, now, count=count, threshold=matter.threshold)
            if matter.state == MatterState.FILED:
                for desk in desk_people(session):
                    notify.to_desk_threshold(session, matter, desk, now)
    return SupportResult(counted, count, matter.threshold, reached)


# --- the 议事会 (meeting) ---------------------------------------------------------------------------


def parse_meeting(text: str, zone: Any = None) -> tuple[datetime, str]:
    """ "2026-12-12 19:30 社区议事厅" (the community's local time) → the moment in UTC and the place."""
    found = _MEETING.match(text or "")
    if found is None:
        raise MatterError("matters.meeting.format")
    try:
        local = datetime.fromisoformat(
            f"{found[1]} {int(found[2].split(':')[0]):02d}:{found[2].split(':')[1]}"
        )
    except ValueError as exc:
        raise MatterError("matters.meeting.format") from exc
    place = found[3].strip()
    if len(place) > MAX_PLACE:
        raise MatterError("matters.place.too_long", limit=MAX_PLACE)
    return local.replace(tzinfo=zone or community_zone()).astimezone(UTC), place


def invitees(session: Session, matter: Matter) -> dict[int, str]:
    """Person id → the invitee kind they are invited as, from the standard: the leaders (or, where a team has
    no leader, the members) of its teams; committee members and the grid members of the matter's grid."""
    standard = row(session, matter.standard_code, "standard")
    if standard is None:
        return {}
    found: dict[int, str] = {}
    for kind_code in standard.data.get("invite") or []:
        kind = row(session, kind_code, "invitee")
        if kind is None:
            continue
        if kind.data.get("from") == "teams":
            for team in standard.data.get("teams") or []:
                members = list(session.scalars(select(TeamMember).where(TeamMember.team_code == team)))
                chosen = [m for m in members if m.leader] or members
                for m in chosen:
                    found.setdefault(m.person_id, kind.code)
        else:
            grid = session.get(Grid, matter.grid_code)
            street = street_grid_of(session, grid) if grid is not None else None
            for role in kind.data.get("roles") or []:
                query = select(PersonRole.person_id).where(PersonRole.role == role)
                if role == Role.GRID_MEMBER:
                    query = query.where(PersonRole.grid_code == (street.code if street else None))
                for person_id in session.scalars(query):
                    found.setdefault(person_id, kind.code)
    return found


def call_meeting(
    session: Session, matter_id: int, desk_id: int, at: datetime, place: str, now: datetime
) -> Matter:
    desk = _desk(session, desk_id)
    matter = _matter(session, matter_id, lock=True)
    if matter.state != MatterState.FILED:
        raise MatterError("matters.state.not_filed", ref=matter.ref)
    place = place.strip()
    if not place or len(place) > MAX_PLACE:
        raise MatterError("matters.meeting.format")
    if at <= now or at > now + timedelta(days=366):
        raise MatterError("matters.meeting.when")
    matter.meeting_at, matter.meeting_place = at, place
    matter.state = MatterState.MEETING_CALLED
    invited = invitees(session, matter)
    for person_id, kind in invited.items():
        session.add(MatterParticipant(matter_id=matter.id, person_id=person_id, invited_as=kind, at=now))
    session.flush()
    counts: dict[str, int] = {}
    for kind in invited.values():
        counts[kind] = counts.get(kind, 0) + 1
    _event(session, matter, "meeting_called", desk.id, now, at=at.isoformat(), place=place, invited=counts)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(list(invited))))}
    for person_id, kind in invited.items():
        notify.invitation(session, matter, people[person_id], kind, now)
    residents = [matter.raiser_id, *supporter_ids(session, matter)] + [
        p.id for p in _residents(session, matter)
    ]
    told = set(invited)
    for person_id in dict.fromkeys(i for i in residents if i is not None):
        if person_id not in told:
            person = session.get(Person, person_id)
            if person is not None:
                notify.meeting_notice(session, matter, person, now)
    return matter


def sign_up(session: Session, matter_id: int, person_id: int, now: datetime) -> bool:
    """True when this signs the person up; False when they were signed up already."""
    matter = _matter(session, matter_id, lock=True)
    person = session.get(Person, person_id)
    assert person is not None
    if matter.state != MatterState.MEETING_CALLED:
        raise MatterError("matters.signup.closed", ref=matter.ref)
    row_ = session.scalar(
        select(MatterParticipant).where(
            MatterParticipant.matter_id == matter.id, MatterParticipant.person_id == person.id
        )
    )
    if row_ is None:
        known = person.id == matter.raiser_id or person.id in supporter_ids(session, matter)
        if not known and matter.grid_code not in resident_micro_grids(session, person, now):
            raise MatterError("matters.support.not_resident", ref=matter.ref, grid=matter.grid_code)
        row_ = MatterParticipant(matter_id=matter.id, person_id=person.id, at=now)
        session.add(row_)
    elif row_.signed_up:
        return False
    row_.signed_up = True
    session.flush()
    count = int(
        session.scalar(
            select(func.count())
            .select_from(MatterParticipant)
            .where(MatterParticipant.matter_id == matter.id, MatterParticipant.signed_up.is_(True))
        )
        or 0
    )
    _event(session, matter, "signed_up", None, now, count=count)
    notify.signed_up(session, matter, person, now)
    return True


# --- the end: an outcome, or closed without a meeting -------------------------------------------------------


def _words(words: dict[str, Any]) -> dict[str, Any]:
    text = str(words.get("text") or "").strip()
    if len(text) < MIN_TEXT:
        raise MatterError("matters.text.too_short", minimum=MIN_TEXT)
    if len(text) > MAX_TEXT:
        raise MatterError("matters.text.too_long", length=len(text), limit=MAX_TEXT)
    return {
        "text": text,
        "language": words.get("language") or "zh-Hans",
        "translations": dict(words.get("translations") or {}),
    }


def record_outcome(
    session: Session, matter_id: int, desk_id: int, words: dict[str, Any], now: datetime
) -> Matter:
    desk = _desk(session, desk_id)
    matter = _matter(session, matter_id, lock=True)
    if matter.state != MatterState.MEETING_CALLED:
        raise MatterError("matters.state.no_meeting", ref=matter.ref)
    matter.outcome = _words(words)
    matter.state = MatterState.DECIDED
    _event(session, matter, "decided", desk.id, now)
    for person in session.scalars(select(Person).where(Person.id.in_(concerned_ids(session, matter)))):
        notify.outcome(session, matter, person, now)
    return matter


def close_matter(
    session: Session, matter_id: int, desk_id: int, words: dict[str, Any], now: datetime
) -> Matter:
    """Settled without a meeting, or declined: the reason goes to everyone concerned."""
    desk = _desk(session, desk_id)
    matter = _matter(session, matter_id, lock=True)
    if not MatterState(matter.state).is_open:
        raise MatterError("matters.state.finished", ref=matter.ref)
    matter.outcome = _words(words)
    matter.state = MatterState.CLOSED
    _event(session, matter, "closed", desk.id, now)
    for person in session.scalars(select(Person).where(Person.id.in_(concerned_ids(session, matter)))):
        notify.outcome(session, matter, person, now)
    return matter


def standard_names(session: Session, matter: Matter) -> tuple[MatterStandard | None, MatterStandard | None]:
    return row(session, matter.area_code, "area"), row(session, matter.standard_code, "standard")
