"""Volunteer teams: the five kinds and their teams as reviewed data (knowledge/teams.yml), membership and
leaders in the database.

The file seeds the membership; chat changes it (`/team`, by the desk or the team's leader). Loading the file
again adds members it names, unless they left that team in chat (a `team_left` person event), never removes
a member, and sets the leader only of a team that has none: what was decided in chat stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from community.knowledge.schema import (
    Code,
    Id,
    KnowledgeBase,
    KnowledgeError,
    PersonId,
    Texts,
    _Checker,
    _Strict,
)
from community.people.enrolment import EnrolError, parse_target, record
from community.people.models import Person, Role
from community.people.records import PersonEvent, Team, TeamMember

TEAMS_FILE = "teams.yml"
# The five kinds of volunteer team of the community (共建联盟, 文明旅游, 艺动艺彩, 多语讲解, 博爱使者).
TeamKind = Literal["co_building", "civilised_tourism", "arts", "multilingual_guiding", "caring_envoys"]


class KindEntry(_Strict):
    id: TeamKind
    names: Texts


class TeamEntry(_Strict):
    id: Id
    sample: bool = True
    kind: TeamKind
    names: Texts
    skills: list[Code] = Field(min_length=1)
    leader: PersonId | None = None
    members: list[PersonId] = Field(default_factory=list)
    note: Annotated[str, StringConstraints(max_length=300)] = ""


@dataclass(frozen=True)
class TeamsFile:
    kinds: list[KindEntry]
    teams: list[TeamEntry]


def read_teams(kb: KnowledgeBase) -> TeamsFile:
    """Validate `teams.yml` beside the other knowledge files against them (the roster, the categories).

    No file means no teams. Every problem names the file, the entry and the field; nothing is loaded when
    there is one."""
    if not (kb.directory / TEAMS_FILE).exists():
        return TeamsFile([], [])
    c = _Checker(kb.directory)
    data = c.read("teams", {"kinds": list, "teams": list})
    if data is None:
        raise KnowledgeError(c.problems)
    kinds = c.entries("teams", data["kinds"], KindEntry)
    teams = c.entries("teams", data["teams"], TeamEntry)
    kind_ids = {k.id for k in kinds}
    people = {p.id for p in kb.people}
    for team in teams:
        if team.kind not in kind_ids:
            c.add("teams", team.id, "kind", f"kind {team.kind!r} is not listed under kinds")
        for index, member in enumerate(team.members):
            if member not in people:
                c.add("teams", team.id, f"members[{index}]", f"no person {member!r} in the roster")
        if team.leader is not None and team.leader not in team.members:
            c.add("teams", team.id, "leader", f"{team.leader!r} is not one of the team's members")
    if c.problems:
        raise KnowledgeError(c.problems)
    return TeamsFile(kinds, teams)


def team_rows(teams: TeamsFile) -> dict[str, dict[str, Any]]:
    return {t.id: {"kind": t.kind, "names": t.names.as_dict(), "skills": list(t.skills)} for t in teams.teams}


def seed_members(session: Session, teams: TeamsFile, roster_prefix: str) -> None:
    """Adds the members the file names (not those who left in chat) and a leader where a team has none."""
    keys = {roster_prefix + m for t in teams.teams for m in t.members}
    people = {p.external_key: p for p in session.scalars(select(Person).where(Person.external_key.in_(keys)))}
    for team in teams.teams:
        rows = {
            m.person_id: m for m in session.scalars(select(TeamMember).where(TeamMember.team_code == team.id))
        }
        left = {
            e.person_id
            for e in session.scalars(select(PersonEvent).where(PersonEvent.kind == "team_left"))
            if (e.data or {}).get("team") == team.id
        }
        for member in team.members:
            person = people.get(roster_prefix + member)
            if person is None or person.id in rows or person.id in left:
                continue
            rows[person.id] = TeamMember(team_code=team.id, person_id=person.id, leader=False)
            session.add(rows[person.id])
        if team.leader is not None and not any(m.leader for m in rows.values()):
            leader = people.get(roster_prefix + team.leader)
            if leader is not None and leader.id in rows:
                rows[leader.id].leader = True


# --- Queries ------------------------------------------------------------------------------------------------


def team_members(session: Session, team_code: str) -> list[Person]:
    """The members of a team (leader first, then by person id)."""
    return list(
        session.scalars(
            select(Person)
            .join(TeamMember, TeamMember.person_id == Person.id)
            .where(TeamMember.team_code == team_code)
            .order_by(TeamMember.leader.desc(), Person.id)
        )
    )


def team_member_ids(session: Session, team_code: str) -> list[int]:
    """The members' person ids: the lookup the points leaderboard takes (bot_data["team_members"])."""
    return [p.id for p in team_members(session, team_code)]


def teams_offering(session: Session, skill: str) -> list[Team]:
    """Active teams whose skills include `skill` (JSON lists are read in Python: both databases alike)."""
    return [
        t
        for t in session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.code))
        if skill in (t.skills or [])
    ]


def team_members_offering(session: Session, skill: str) -> dict[int, str]:
    """person id → the team through which they offer `skill`, for routing."""
    found: dict[int, str] = {}
    for team in teams_offering(session, skill):
        for person_id in session.scalars(
            select(TeamMember.person_id).where(TeamMember.team_code == team.code)
        ):
            found.setdefault(person_id, team.code)
    return found


def teams_of(session: Session, person: Person) -> list[tuple[Team, bool]]:
    rows = session.execute(
        select(Team, TeamMember.leader)
        .join(TeamMember, TeamMember.team_code == Team.code)
        .where(TeamMember.person_id == person.id, Team.active.is_(True))
        .order_by(Team.code)
    ).all()
    return [(team, bool(leader)) for team, leader in rows]


def all_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.kind, Team.code)))


# --- Changes in chat ----------------------------------------------------------------------------------------


def _team(session: Session, code: str) -> Team:
    team = session.get(Team, code)
    if team is None or not team.active:
        raise EnrolError("enrol.team.unknown", team=code)
    return team


def _leader_of(session: Session, person: Person, team_code: str) -> bool:
    row = session.scalar(
        select(TeamMember).where(TeamMember.team_code == team_code, TeamMember.person_id == person.id)
    )
    return row is not None and row.leader


def may_manage_team(session: Session, actor: Person, team_code: str) -> bool:
    return actor.has_role(Role.DESK, Role.COMMITTEE_MEMBER) or _leader_of(session, actor, team_code)


def change_team(
    session: Session, actor: Person, team_code: str, action: str, who: str, *, reason: str, now: datetime
) -> Person:
    """`add`, `remove` or `leader` (the desk or committee only) for the person `who` (#id)."""
    team = _team(session, team_code)
    if not may_manage_team(session, actor, team.code) or (
        action == "leader" and not actor.has_role(Role.DESK, Role.COMMITTEE_MEMBER)
    ):
        raise EnrolError("enrol.team.not_allowed", team=team.code)
    target = parse_target(session, who)
    row = session.scalar(
        select(TeamMember).where(TeamMember.team_code == team.code, TeamMember.person_id == target.id)
    )
    if action == "add":
        if row is not None:
            raise EnrolError("enrol.team.already", who=f"#{target.id}", team=team.code)
        session.add(TeamMember(team_code=team.code, person_id=target.id, leader=False, made_in_chat=True))
        record(session, target, actor, "team_joined", now, reason, team=team.code)
    elif action == "remove":
        if row is None:
            raise EnrolError("enrol.team.not_member", who=f"#{target.id}", team=team.code)
        session.delete(row)
        record(session, target, actor, "team_left", now, reason, team=team.code)
    elif action == "leader":
        if row is None:
            raise EnrolError("enrol.team.not_member", who=f"#{target.id}", team=team.code)
        for other in session.scalars(select(TeamMember).where(TeamMember.team_code == team.code)):
            other.leader = other.person_id == target.id
        record(session, target, actor, "team_leader", now, reason, team=team.code)
    else:
        raise EnrolError("enrol.team.usage")
    session.flush()
    return target
