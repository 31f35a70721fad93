"""The steps of a project (便民服务联认), each one transaction with its history event and its notifications.

The desk (or a committee member: roles from the database) turns a need into a draft — a resident's ticket or
its own — and publishes it; the contact persons of partners whose offers match claim hands; the desk confirms
or refuses each claim; a claimant reports progress and completion. Hands are taken by a compare-and-set on
`projects.hands_claimed` (and a row lock on PostgreSQL), so two partners claiming the last hands at once never
both get them. Free text (the need, the notes) comes translated for its readers (`Words`, made before the
transaction by the caller); who hears what is community/projects/notify.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from community.i18n import t
from community.partners.models import Partner, PartnerContact
from community.people.models import Person, Role
from community.projects import notify
from community.projects.errors import ProjectError
from community.projects.models import (
    OPEN_STATES,
    PUBLIC_STATES,
    ClaimState,
    Project,
    ProjectClaim,
    ProjectEvent,
    ProjectState,
    ProjectSupporter,
)
from community.tickets.queries import get_ticket

TITLE_CHARS = 80
DESCRIPTION_CHARS = 2000


# --- who may --------------------------------------------------------------------------------------------


def is_desk(person: Person) -> bool:
    return person.has_role(Role.DESK, Role.COMMITTEE_MEMBER)


def _require_desk(person: Person) -> None:
    if not is_desk(person):
        raise ProjectError("projects.error.desk_only")


def get_project(session: Session, project_id: int, *, lock: bool = False) -> Project:
    query = select(Project).where(Project.id == project_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    project = session.scalar(query)
    if project is None:
        raise ProjectError("projects.error.not_found", id=project_id)
    return project


def _event(
    session: Session,
    project: Project,
    kind: str,
    actor: Person | None,
    now: datetime,
    to: str | None = None,
    **data: Any,
) -> ProjectEvent:
    event = ProjectEvent(
        project_id=project.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        from_state=project.state,
        to_state=to or project.state,
        data=data,
        at=now,
    )
    if to is not None:
        project.state = to
    project.updated_at = now
    session.add(event)
    return event


def _title_of(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"


# --- drafts ---------------------------------------------------------------------------------------------


def new_from_ticket(
    session: Session, actor: Person, ref: str, hands: int, skills: list[str], now: datetime
) -> Project:
    """A draft from a resident's ticket: its description, place and grid; the reporter is the requester."""
    _require_desk(actor)
    ticket = get_ticket(session, ref)
    if ticket is None:
        raise ProjectError("projects.error.no_ticket", ref=ref.strip().upper())
    description = (ticket.description or "").strip()[:DESCRIPTION_CHARS]
    project = Project(
        title=_title_of(description) or ticket.ref,
        description=description,
        language=ticket.description_language or "zh-Hans",
        grid_code=ticket.grid_code,
        micro_grid_code=ticket.micro_grid_code,
        hands_needed=hands,
        skills=skills,
        state=ProjectState.DRAFT,
        requester_id=ticket.reporter_id,
        ticket_id=ticket.id,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    _event(session, project, "created", actor, now, ticket=ticket.ref)
    return project


def new_own(session: Session, actor: Person, draft: dict[str, Any], language: str, now: datetime) -> Project:
    """A draft of the desk's own need from the answers of the step-by-step (`draft` as the chat kept it)."""
    _require_desk(actor)
    what = str(draft.get("what") or "").strip()[:DESCRIPTION_CHARS]
    if not what:
        raise ProjectError("projects.error.empty")
    starts = datetime.fromisoformat(draft["starts_at"]) if draft.get("starts_at") else None
    ends = datetime.fromisoformat(draft["ends_at"]) if draft.get("ends_at") else None
    project = Project(
        title=_title_of(what),
        description=what,
        language=language,
        grid_code=draft.get("grid"),
        micro_grid_code=draft.get("micro_grid"),
        starts_at=starts,
        ends_at=ends,
        hands_needed=int(draft.get("hands") or 1),
        skills=list(draft.get("skills") or []),
        state=ProjectState.DRAFT,
        requester_id=None,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    _event(session, project, "created", actor, now)
    return project


# --- who reads it ---------------------------------------------------------------------------------------


def partner_contacts(session: Session, person: Person) -> list[Partner]:
    return list(
        session.scalars(
            select(Partner)
            .join(PartnerContact, PartnerContact.partner_code == Partner.code)
            .where(PartnerContact.person_id == person.id, Partner.active.is_(True))
            .order_by(Partner.code)
        )
    )


def offers_match(partner: Partner, project: Project) -> bool:
    """A project without skills is for any partner; otherwise the partner offers at least one of them."""
    return not project.skills or bool(set(partner.offers or []) & set(project.skills))


def matching_contacts(session: Session, project: Project) -> list[tuple[Partner, Person]]:
    rows = session.execute(
        select(Partner, Person)
        .join(PartnerContact, PartnerContact.partner_code == Partner.code)
        .join(Person, Person.id == PartnerContact.person_id)
        .where(Partner.active.is_(True))
        .order_by(Partner.code, Person.id)
    ).all()
    return [(partner, person) for partner, person in rows if offers_match(partner, project)]


def reader_languages(session: Session, project: Project) -> set[str]:
    """Everyone who may read this project's free text: for the translations made before a step."""
    readers = notify.audience(session, project) + notify.desk(session)
    readers += [person for _, person in matching_contacts(session, project)]
    readers += notify.claimants(session, project)
    return {p.preferred_language for p in readers}


# --- steps ----------------------------------------------------------------------------------------------


def publish(
    session: Session, actor: Person, project_id: int, words: dict[str, Any], now: datetime
) -> tuple[Project, int]:
    """Draft → published: offered to matching partners' contacts, told to the requester, supporters and
    committee. `words` holds the title's and description's Words data. (project, contacts told)"""
    _require_desk(actor)
    project = get_project(session, project_id, lock=True)
    if project.state != ProjectState.DRAFT:
        raise ProjectError("projects.error.bad_state", state=t(f"projects.state.{project.state}", "en"))
    project.translations = dict(words)
    _event(session, project, "published", actor, now, to=ProjectState.PUBLISHED)
    contacts = matching_contacts(session, project)
    told: set[int] = set()
    for partner, person in contacts:
        if person.id not in told:
            notify.offer(session, project, partner, person, now)
            told.add(person.id)
    notify.step(session, project, "published", actor, now)
    return project, len(told)


def claim(
    session: Session, person: Person, project_id: int, hands: int | None, now: datetime
) -> ProjectClaim:
    """A partner's contact claims `hands` (None: all still open). Exactly the open hands can be taken: the
    compare-and-set below refuses a claim that would go past them, whoever committed first."""
    partners = [p for p in partner_contacts(session, person)]
    if not partners:
        raise ProjectError("projects.error.not_partner")
    project = get_project(session, project_id, lock=True)
    if project.state not in OPEN_STATES:
        raise ProjectError("projects.error.not_open", id=project.id)
    partner = next((p for p in partners if offers_match(p, project)), None)
    if partner is None:
        raise ProjectError("projects.error.no_match", id=project.id)
    left = project.hands_needed - project.hands_claimed
    wanted = left if hands is None else hands
    if left <= 0:
        raise ProjectError("projects.error.none_left", id=project.id)
    if not 1 <= wanted <= left:
        raise ProjectError("projects.error.too_many", left=left)
    taken = session.execute(
        update(Project)
        .where(
            Project.id == project.id,
            Project.hands_claimed + wanted <= Project.hands_needed,
            Project.state.in_([s.value for s in OPEN_STATES]),
        )
        .values(hands_claimed=Project.hands_claimed + wanted)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise ProjectError("projects.error.none_left", id=project.id)
    session.refresh(project)
    row = ProjectClaim(
        project_id=project.id,
        partner_code=partner.code,
        person_id=person.id,
        hands=wanted,
        state=ClaimState.PENDING,
        created_at=now,
    )
    session.add(row)
    session.flush()
    _event(
        session, project, "claimed", person, now, to=ProjectState.CLAIMED, partner=partner.code, hands=wanted
    )
    notify.claim_to_desk(session, project, row, partner, now)
    return row


def decide(session: Session, actor: Person, claim_id: int, confirm: bool, now: datetime) -> ProjectClaim:
    """The desk confirms a pending claim (the claimant and the audience hear it) or refuses it (its hands
    go back)."""
    _require_desk(actor)
    row = session.get(ProjectClaim, claim_id)
    if row is None:
        raise ProjectError("projects.error.no_claim")
    project = get_project(session, row.project_id, lock=True)
    if confirm and project.state in (ProjectState.COMPLETED, ProjectState.CANCELLED):
        raise ProjectError("projects.error.not_open", id=project.id)
    done = session.execute(
        update(ProjectClaim)
        .where(ProjectClaim.id == row.id, ProjectClaim.state == ClaimState.PENDING)
        .values(
            state=ClaimState.CONFIRMED if confirm else ClaimState.REFUSED,
            decided_at=now,
            decided_by_id=actor.id,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise ProjectError("projects.error.claim_decided")
    session.refresh(row)
    partner = session.get(Partner, row.partner_code)
    if confirm:
        _event(session, project, "confirmed", actor, now, partner=row.partner_code, hands=row.hands)
        notify.decided(session, project, row, partner, True, now)
        notify.step(session, project, "confirmed", actor, now, partner=partner, hands=row.hands)
    else:
        session.execute(
            update(Project)
            .where(Project.id == project.id)
            .values(hands_claimed=Project.hands_claimed - row.hands)
            .execution_options(synchronize_session=False)
        )
        session.refresh(project)
        back = (
            ProjectState.PUBLISHED
            if project.hands_claimed == 0 and project.state == ProjectState.CLAIMED
            else None
        )
        _event(session, project, "refused", actor, now, to=back, partner=row.partner_code, hands=row.hands)
        notify.decided(session, project, row, partner, False, now)
    return row


def _confirmed_claim(session: Session, project: Project, person: Person) -> ProjectClaim:
    row = session.scalar(
        select(ProjectClaim)
        .where(
            ProjectClaim.project_id == project.id,
            ProjectClaim.person_id == person.id,
            ProjectClaim.state == ClaimState.CONFIRMED,
        )
        .order_by(ProjectClaim.id)
    )
    if row is None:
        raise ProjectError("projects.error.not_claimant", id=project.id)
    return row


def check_reporter(session: Session, person: Person, project_id: int) -> Project:
    """The project a claimant may report on now (before asking for the note)."""
    project = get_project(session, project_id)
    _confirmed_claim(session, project, person)
    if project.state not in (ProjectState.CLAIMED, ProjectState.IN_PROGRESS):
        raise ProjectError("projects.error.not_open", id=project.id)
    return project


def report(
    session: Session, person: Person, project_id: int, done: bool, words: dict[str, Any], now: datetime
) -> Project:
    """A confirmed claimant's progress note (→ in progress) or completion note (→ completed: the people of
    the confirmed claims are credited, community/volunteers/ledger.py reads the event)."""
    project = get_project(session, project_id, lock=True)
    row = _confirmed_claim(session, project, person)
    if project.state not in (ProjectState.CLAIMED, ProjectState.IN_PROGRESS):
        raise ProjectError("projects.error.not_open", id=project.id)
    partner = session.get(Partner, row.partner_code)
    if done:
        credited = sorted(
            set(
                session.scalars(
                    select(ProjectClaim.person_id).where(
                        ProjectClaim.project_id == project.id, ProjectClaim.state == ClaimState.CONFIRMED
                    )
                )
            )
        )
        _event(
            session,
            project,
            "completed",
            person,
            now,
            to=ProjectState.COMPLETED,
            partner=row.partner_code,
            words=words,
            credited=credited,
        )
        notify.step(session, project, "completed", person, now, partner=partner, words=words)
    else:
        _event(
            session,
            project,
            "progress",
            person,
            now,
            to=ProjectState.IN_PROGRESS,
            partner=row.partner_code,
            words=words,
        )
        notify.step(session, project, "progress", person, now, partner=partner, words=words)
    return project


def cancel(session: Session, actor: Person, project_id: int, now: datetime) -> Project:
    _require_desk(actor)
    project = get_project(session, project_id, lock=True)
    if project.state in (ProjectState.COMPLETED, ProjectState.CANCELLED):
        raise ProjectError("projects.error.not_open", id=project.id)
    was_draft = project.state == ProjectState.DRAFT
    _event(session, project, "cancelled", actor, now, to=ProjectState.CANCELLED)
    if not was_draft:
        # The partners' contacts who claimed it hear it too: they may be on their way.
        notify.step(session, project, "cancelled", actor, now, also=notify.claimants(session, project))
    return project


def support(session: Session, person: Person, project_id: int, now: datetime) -> tuple[Project, bool]:
    """A resident supports a public, unfinished project: they hear its next steps. (project, newly)"""
    project = get_project(session, project_id)
    if project.state not in PUBLIC_STATES or project.state == ProjectState.COMPLETED:
        raise ProjectError("projects.error.not_open", id=project.id)
    exists = session.scalar(
        select(ProjectSupporter.id).where(
            ProjectSupporter.project_id == project.id, ProjectSupporter.person_id == person.id
        )
    )
    if exists is not None:
        return project, False
    session.add(ProjectSupporter(project_id=project.id, person_id=person.id, at=now))
    session.flush()
    return project, True


def set_contact(session: Session, actor: Person, partner_code: str, person: Person, now: datetime) -> Partner:
    """The desk makes `person` the partner's contact (replacing the others); a reload never undoes it."""
    from community.people.enrolment import record

    _require_desk(actor)
    partner = session.get(Partner, partner_code.strip().lower())
    if partner is None or not partner.active:
        raise ProjectError("projects.error.no_partner", code=partner_code)
    for row in session.scalars(select(PartnerContact).where(PartnerContact.partner_code == partner.code)):
        session.delete(row)
    session.flush()
    session.add(PartnerContact(partner_code=partner.code, person_id=person.id, made_in_chat=True))
    record(session, person, actor, "partner_contact", now, partner=partner.code)
    session.flush()
    return partner
