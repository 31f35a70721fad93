"""The public view of projects for the web: what was needed and what happened, without personal data.

Partner names are public (they act for an organisation); people are never named, and the notes people wrote
are not shown (they may name someone): the history says which partner did what and when.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.i18n import pick, t
from community.partners.models import Partner
from community.projects import notify
from community.projects.models import PUBLIC_STATES, Project, ProjectEvent
from community.servicemap.hours import community_zone

SHOWN_EVENTS = ("published", "claimed", "confirmed", "refused", "progress", "completed", "cancelled")


@dataclass(frozen=True)
class Step:
    at: str
    text: str


@dataclass(frozen=True)
class PublicProject:
    id: int
    title: str
    description: str
    place: str
    when: str
    hands: int
    claimed: int
    skills: str
    state: str
    state_text: str
    history: list[Step]


def _view(session: Session, project: Project, language: str, history: bool) -> PublicProject:
    steps: list[Step] = []
    if history:
        names = {p.code: p.names for p in session.scalars(select(Partner))}
        zone = community_zone()
        for event in session.scalars(
            select(ProjectEvent)
            .where(ProjectEvent.project_id == project.id, ProjectEvent.kind.in_(SHOWN_EVENTS))
            .order_by(ProjectEvent.id)
        ):
            data = event.data or {}
            partner = pick(names[data["partner"]], language) if data.get("partner") in names else ""
            text = t(f"projects.history.{event.kind}", language, partner=partner, hands=data.get("hands", ""))
            steps.append(Step(event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), text))
    return PublicProject(
        id=project.id,
        title=notify.title_in(project, language),
        description=notify.description_in(project, language),
        place=notify.place_in(session, project, language),
        when=notify.when_in(project, language),
        hands=project.hands_needed,
        claimed=project.hands_claimed,
        skills=notify.skills_in(list(project.skills or []), language),
        state=project.state,
        state_text=t(f"projects.state.{project.state}", language),
        history=steps,
    )


def public_projects(session: Session, language: str) -> list[PublicProject]:
    projects = session.scalars(
        select(Project).where(Project.state.in_([s.value for s in PUBLIC_STATES])).order_by(Project.id.desc())
    )
    return [_view(session, p, language, history=False) for p in projects]


def public_project(session: Session, project_id: int, language: str) -> PublicProject | None:
    project = session.get(Project, project_id)
    if project is None or project.state not in PUBLIC_STATES:
        return None
    return _view(session, project, language, history=True)
