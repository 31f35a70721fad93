"""Enrolment without files: one-time invitations, role changes by the level above, and the person-events log.

Who may give whom a role follows the chain, and comes from the database: the desk and the committee place
volunteers anywhere, a grid member places volunteers in the micro-grids of their own grid; the committee
places grid members. The same rule says who may change or remove a role. Every change is a PersonEvent (who,
whom, what, when, why), and marks the person and the role rows as made in chat, so that loading the roster
file never undoes it (community/knowledge/loader.py).

An invitation's code is random and only its SHA-256 is stored; it expires, and it works once: the claim is a
compare-and-set on `used_at`, so two people opening the same link at once → one enrols, the other is told.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel
from community.grids.service import get_grid, street_grid_of
from community.i18n import t
from community.outbox.service import enqueue
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.people.profile import ProfileError, parse_skills
from community.people.records import Invitation, PersonEvent

# Deep-link payloads are [A-Za-z0-9_-], at most 64 characters: "inv_" and 22 characters of 16 random bytes.
CODE_PREFIX = "inv_"
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
INVITABLE = (Role.VOLUNTEER, Role.GRID_MEMBER)
# Invitations are deleted this long after they expire, used or not (community/retention.py): the enrolment
# itself stays in person_events.
INVITATIONS_KEPT_DAYS = 30


class EnrolError(Exception):
    """Refused politely: `key` is the catalogue text (community/i18n/enrol.yml)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def localized(self, language: str) -> str:
        return t(self.key, language, **self.params)


def _profile_error(exc: ProfileError) -> EnrolError:
    return EnrolError(exc.key, **exc.params)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()


def record(
    session: Session,
    person: Person,
    actor: Person | None,
    kind: str,
    now: datetime,
    reason: str = "",
    **data: Any,
) -> PersonEvent:
    """Appends one person event; the caller's transaction commits it with the change it describes."""
    event = PersonEvent(
        person_id=person.id,
        actor_id=actor.id if actor else None,
        kind=kind,
        reason=reason.strip()[:500],
        data=data,
        at=now,
    )
    session.add(event)
    return event


# --- Who may place whom -------------------------------------------------------------------------------------


def may_place(session: Session, actor: Person, role: str, grid: Grid) -> bool:
    """Whether `actor` may give (or change, or take away) `role` in `grid`: the level above, from the
    database."""
    if role == Role.VOLUNTEER:
        if grid.level != GridLevel.MICRO_GRID:
            return False
        if actor.has_role(Role.DESK, Role.COMMITTEE_MEMBER):
            return True
        street = street_grid_of(session, grid)
        return street is not None and any(
            r.role == Role.GRID_MEMBER and r.grid_code == street.code for r in actor.roles
        )
    if role == Role.GRID_MEMBER:
        return grid.level == GridLevel.GRID and actor.has_role(Role.COMMITTEE_MEMBER)
    return False


def may_invite_anyone(actor: Person) -> bool:
    return actor.has_role(Role.DESK, Role.COMMITTEE_MEMBER, Role.GRID_MEMBER)


def grids_for(session: Session, actor: Person, role: str) -> list[Grid]:
    """The grids where `actor` may place `role`, for the invitation buttons."""
    level = GridLevel.MICRO_GRID if role == Role.VOLUNTEER else GridLevel.GRID
    grids = session.scalars(
        select(Grid).where(Grid.level == level, Grid.active.is_(True)).order_by(Grid.code)
    ).all()
    return [g for g in grids if may_place(session, actor, role, g)]


def _check_place(session: Session, actor: Person, role: str, grid_code: str) -> Grid:
    if role not in [r.value for r in INVITABLE]:
        raise EnrolError("enrol.error.unknown_role", role=role)
    grid = get_grid(session, grid_code)
    if grid is None or not grid.active:
        raise EnrolError("enrol.error.unknown_grid", grid=grid_code)
    if not may_place(session, actor, role, grid):
        raise EnrolError("enrol.error.not_allowed", role=role, grid=grid_code)
    return grid


# --- Invitations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewInvitation:
    code: str  # shown once, in the link; never stored
    invitation_id: int
    role: str
    grid_code: str
    skills: list[str]
    expires_at: datetime


def create_invitation(
    session: Session,
    actor: Person,
    role: str,
    grid_code: str,
    skills_text: str,
    *,
    now: datetime,
    ttl: timedelta,
) -> NewInvitation:
    _check_place(session, actor, role, grid_code)
    try:
        skills = parse_skills(session, skills_text) if skills_text.strip() else []
    except ProfileError as exc:
        raise _profile_error(exc) from exc
    code = secrets.token_urlsafe(16)
    invitation = Invitation(
        code_hash=hash_code(code),
        role=role,
        grid_code=grid_code,
        skills=skills,
        inviter_id=actor.id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invitation)
    session.flush()
    record(
        session,
        actor,
        actor,
        "invitation_created",
        now,
        role=role,
        grid=grid_code,
        skills=skills,
        invitation_id=invitation.id,
    )
    return NewInvitation(code, invitation.id, role, grid_code, skills, invitation.expires_at)


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={CODE_PREFIX}{code}"


def find_invitation(session: Session, code: str, now: datetime) -> Invitation:
    """The open invitation behind `code`, or the polite reason it cannot be used."""
    if not CODE_PATTERN.match(code):
        raise EnrolError("enrol.error.invalid")
    invitation = session.scalar(select(Invitation).where(Invitation.code_hash == hash_code(code)))
    if invitation is None:
        raise EnrolError("enrol.error.invalid")
    if invitation.used_at is not None:
        raise EnrolError("enrol.error.used")
    if invitation.expires_at <= now:
        raise EnrolError("enrol.error.expired")
    return invitation


def _has_role(person: Person, role: str, grid_code: str) -> bool:
    return any(r.role == role and r.grid_code == grid_code for r in person.roles)


def claim_invitation(session: Session, code: str, person: Person, *, now: datetime) -> Invitation:
    """Uses the invitation for `person`: they get its role in its grid (and its skills), the inviter is told
    through the outbox, all in the caller's transaction. Exactly one of two simultaneous claims wins."""
    invitation = find_invitation(session, code, now)
    if invitation.inviter_id == person.id:
        raise EnrolError("enrol.error.own_link")
    if _has_role(person, invitation.role, invitation.grid_code):
        raise EnrolError("enrol.error.already", grid=invitation.grid_code)
    won = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(used_at=now, used_by_id=person.id)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise EnrolError("enrol.error.used")
    person.roles.append(PersonRole(role=invitation.role, grid_code=invitation.grid_code, made_in_chat=True))
    if invitation.role == Role.VOLUNTEER:
        profile = person.volunteer
        if profile is None:
            # Off duty until they say /duty on: a new volunteer gets no task before they are ready.
            person.volunteer = VolunteerProfile(on_duty=False, skills=list(invitation.skills), duty_hours=[])
        else:
            profile.skills = list(dict.fromkeys([*(profile.skills or []), *invitation.skills]))
    person.changed_in_chat = True
    inviter = session.get(Person, invitation.inviter_id)
    record(
        session,
        person,
        inviter,
        "enrolled",
        now,
        role=invitation.role,
        grid=invitation.grid_code,
        skills=list(invitation.skills),
        invitation_id=invitation.id,
    )
    if inviter is not None:
        text = t(
            "enrol.inviter_told",
            inviter.preferred_language,
            name=person.display_name or f"#{person.id}",
            role=t(f"enrol.role.{invitation.role}", inviter.preferred_language),
            grid=invitation.grid_code,
        )
        enqueue(session, inviter, "enrol.joined", {"text": text}, now=now)
    session.flush()
    return invitation


# --- Changes by the level above -----------------------------------------------------------------------------


def parse_target(session: Session, text: str) -> Person:
    """`#12` or `12` (the person's number, as /volunteer list shows it)."""
    digits = text.strip().lstrip("#")
    person = session.get(Person, int(digits)) if digits.isdigit() and len(digits) < 12 else None
    if person is None:
        raise EnrolError("enrol.error.unknown_person", who=text)
    return person


def _managed_rows(session: Session, actor: Person, target: Person, role: str) -> list[PersonRole]:
    rows = [r for r in target.roles if r.role == role and r.grid_code]
    if not rows:
        raise EnrolError("enrol.error.no_such_role", who=f"#{target.id}", role=role)
    mine = [
        r
        for r in rows
        if (g := get_grid(session, r.grid_code)) is not None and may_place(session, actor, role, g)
    ]
    if len(mine) != len(rows):
        raise EnrolError(
            "enrol.error.not_allowed", role=role, grid=", ".join(r.grid_code or "" for r in rows)
        )
    return mine


def set_skills(
    session: Session, actor: Person, target: Person, skills_text: str, *, reason: str, now: datetime
) -> list[str]:
    """New skills for a volunteer, set by themselves (/me) or the level above (/volunteer skills)."""
    if actor.id != target.id:
        _managed_rows(session, actor, target, Role.VOLUNTEER)
    elif not target.has_role(Role.VOLUNTEER):
        raise EnrolError("enrol.error.not_volunteer")
    try:
        skills = parse_skills(session, skills_text)
    except ProfileError as exc:
        raise _profile_error(exc) from exc
    profile = target.volunteer
    if profile is None:
        profile = target.volunteer = VolunteerProfile(on_duty=False, skills=[], duty_hours=[])
    before = list(profile.skills or [])
    profile.skills = skills  # a new list, so the JSON column is flushed
    target.changed_in_chat = True
    record(session, target, actor, "skills_changed", now, reason, before=before, after=skills)
    session.flush()
    return skills


def move_volunteer(
    session: Session, actor: Person, target: Person, grid_code: str, *, reason: str, now: datetime
) -> None:
    """The volunteer serves `grid_code` instead of their micro-grid(s); the actor must be above both."""
    rows = _managed_rows(session, actor, target, Role.VOLUNTEER)
    _check_place(session, actor, Role.VOLUNTEER, grid_code)
    before = sorted(r.grid_code or "" for r in rows)
    for row in rows:
        target.roles.remove(row)
    session.flush()  # the old rows go before the new one: (person, role, grid) is unique
    target.roles.append(PersonRole(role=Role.VOLUNTEER, grid_code=grid_code, made_in_chat=True))
    target.changed_in_chat = True
    record(
        session,
        target,
        actor,
        "moved",
        now,
        reason,
        role=Role.VOLUNTEER.value,
        before=before,
        after=grid_code,
    )
    session.flush()


def remove_role(
    session: Session, actor: Person, target: Person, role: str, *, reason: str, now: datetime
) -> list[str]:
    """Takes `role` away (every grid of it the actor is above); the person stays, their tickets too."""
    rows = _managed_rows(session, actor, target, role)
    grids = sorted(r.grid_code or "" for r in rows)
    for row in rows:
        target.roles.remove(row)
    if role == Role.VOLUNTEER and not any(r.role == Role.VOLUNTEER for r in target.roles):
        target.volunteer = None  # nothing routes to them any more
    target.changed_in_chat = True
    record(session, target, actor, "role_removed", now, reason, role=role, grids=grids)
    session.flush()
    return grids


def volunteers_under(
    session: Session, actor: Person, grid_code: str | None = None
) -> list[tuple[Person, str]]:
    """The volunteers the actor is above (optionally of one micro-grid), with their micro-grid."""
    rows = session.execute(
        select(Person, PersonRole.grid_code)
        .join(PersonRole, PersonRole.person_id == Person.id)
        .where(PersonRole.role == Role.VOLUNTEER)
        .order_by(PersonRole.grid_code, Person.id)
    ).all()
    result = []
    for person, code in rows:
        if grid_code and code != grid_code:
            continue
        grid = get_grid(session, code)
        if grid is not None and may_place(session, actor, Role.VOLUNTEER, grid):
            result.append((person, code))
    return result


def history(session: Session, person: Person, limit: int = 10) -> list[PersonEvent]:
    return list(
        session.scalars(
            select(PersonEvent)
            .where(PersonEvent.person_id == person.id)
            .order_by(PersonEvent.at.desc(), PersonEvent.id.desc())
            .limit(limit)
        )
    )


def delete_spent_invitations(session: Session, expired_before: datetime) -> int:
    """Invitations that expired before `expired_before`, used or not, are of no further use."""
    result = session.execute(
        delete(Invitation)
        .where(Invitation.expires_at < expired_before)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
