"""Who an announcement goes to: everyone, a grid, a micro-grid, volunteers, a team, recent reporters.

An audience is a short string kept on the announcement: "everyone", "grid:<code>", "micro_grid:<code>",
"volunteers", "team:<code>", "reporters". Residents and tourists are reached through their subscriptions
(a grid's subscribers also hear about its micro-grids); staff through their roles; reporters of the last
month directly, as people with a report in progress. Teams and their members are community/people/teams.py's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel
from community.i18n import pick, t
from community.outreach.models import Subscription
from community.people.models import PersonRole, Role
from community.people.records import Team
from community.people.teams import team_member_ids
from community.tickets.models import Ticket

KINDS = ("everyone", "grid", "micro_grid", "volunteers", "team", "reporters")
REPORTERS_WINDOW = timedelta(days=30)
STAFF_ROLES = [r.value for r in Role if r.is_staff]
SERVING_ROLES = [Role.VOLUNTEER.value, Role.GRID_MEMBER.value, Role.COMMITTEE_MEMBER.value]


class UnknownAudience(ValueError):
    pass


def check(session: Session, audience: str) -> str:
    """The audience if it names something that exists; UnknownAudience otherwise."""
    kind, _, code = audience.partition(":")
    if kind in ("everyone", "volunteers", "reporters") and not code:
        return audience
    if kind in ("grid", "micro_grid") and code:
        grid = session.get(Grid, code)
        if grid is not None and grid.active and grid.level == kind:
            return audience
    if kind == "team" and code:
        team = session.get(Team, code)
        if team is not None and team.active:
            return audience
    raise UnknownAudience(audience)


def _area_codes(session: Session, code: str) -> list[str]:
    return [code, *session.scalars(select(Grid.code).where(Grid.parent_code == code))]


def person_ids(session: Session, audience: str, now: datetime) -> list[int]:
    """Everyone the audience reaches, each once, in id order."""
    kind, _, code = check(session, audience).partition(":")
    ids: set[int] = set()
    if kind == "everyone":
        ids.update(session.scalars(select(Subscription.person_id)))
        ids.update(session.scalars(select(PersonRole.person_id).where(PersonRole.role.in_(STAFF_ROLES))))
    elif kind in ("grid", "micro_grid"):
        if kind == "grid":
            areas = _area_codes(session, code)
            listening = areas
        else:
            parent = session.scalar(select(Grid.parent_code).where(Grid.code == code))
            areas = [code]
            listening = [code, parent] if parent else [code]
        ids.update(
            session.scalars(select(Subscription.person_id).where(Subscription.grid_code.in_(listening)))
        )
        ids.update(
            session.scalars(
                select(PersonRole.person_id).where(
                    PersonRole.role.in_(STAFF_ROLES), PersonRole.grid_code.in_(areas)
                )
            )
        )
    elif kind == "volunteers":
        ids.update(session.scalars(select(PersonRole.person_id).where(PersonRole.role.in_(SERVING_ROLES))))
    elif kind == "team":
        ids.update(team_member_ids(session, code))
    elif kind == "reporters":
        since = now - REPORTERS_WINDOW
        ids.update(session.scalars(select(Ticket.reporter_id).where(Ticket.created_at >= since)))
    return sorted(ids)


def label(session: Session, audience: str, language: str) -> str:
    """The audience as the desk reads it: "一个微网格「西入口」"."""
    kind, _, code = audience.partition(":")
    what = t(f"outreach.audience.{kind}", language) if kind in KINDS else audience
    if kind in ("grid", "micro_grid"):
        grid = session.get(Grid, code)
        name = pick(grid.names, language) if grid is not None else code
        return what + " " + t("outreach.audience.in", language, area=name)
    if kind == "team":
        team = session.get(Team, code)
        name = pick(team.names, language) if team is not None else code
        return what + " " + t("outreach.audience.in", language, area=name)
    return what


def grids_at(session: Session, level: GridLevel) -> list[Grid]:
    return list(session.scalars(select(Grid).where(Grid.active, Grid.level == level).order_by(Grid.code)))
