"""Who hears each step of a project, and how it reads to them: everything through the outbox, each reader in
their own language (free text as thread_notify reads it: curated, translated, or the original with a note).

- published: the contacts of matching partners get the offer with a Claim button;
- claimed: the desk gets the claim with Confirm / Refuse;
- confirmed / refused: the claimant (a confirmed one gets Progress / Done buttons);
- published, confirmed, progress, completed, cancelled: the requester, the supporters and the committee.
Whoever took the step gets a direct reply instead (the handler's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.models import Grid
from community.i18n import is_curated, pick, t
from community.outbox.service import enqueue
from community.partners.knowledge import offer_names
from community.partners.models import Partner
from community.people.models import Person, PersonRole, Role
from community.projects.models import ClaimState, Project, ProjectClaim, ProjectSupporter
from community.servicemap.hours import community_zone
from community.settings import get_settings
from community.tickets.notify import esc
from community.tickets.thread_notify import reads

KIND_PREFIX = "project."
CALLBACK_PREFIX = "pj:"


def reader_language(person: Person) -> str:
    return person.preferred_language if is_curated(person.preferred_language) else "en"


# --- how the project reads ------------------------------------------------------------------------------


def _text(project: Project, part: str, language: str) -> str:
    data = (project.translations or {}).get(part)
    original = project.title if part == "title" else project.description
    if not data:
        return original
    if part == "title":
        # A title is short and sits inside a sentence: its translation alone (the description carries the
        # "machine translated" note).
        return str((data.get("translations") or {}).get(language) or original)
    return reads(data, language, staff=False) or original


def title_in(project: Project, language: str) -> str:
    return _text(project, "title", language)


def description_in(project: Project, language: str) -> str:
    return _text(project, "description", language)


def place_in(session: Session, project: Project, language: str) -> str:
    code = project.micro_grid_code or project.grid_code
    grid = session.get(Grid, code) if code else None
    return pick(grid.names, language) if grid is not None else t("projects.label.anywhere", language)


def when_in(project: Project, language: str) -> str:
    if project.starts_at is None:
        return t("projects.label.any_time", language)
    zone = community_zone()
    start = project.starts_at.astimezone(zone)
    text = start.strftime("%Y-%m-%d %H:%M")
    if project.ends_at is not None:
        end = project.ends_at.astimezone(zone)
        text += "–" + (
            end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M")
        )
    return text


def skills_in(skills: list[str], language: str) -> str:
    if not skills:
        return t("projects.label.any_skill", language)
    names = offer_names()
    return "、".join(pick(names.get(s) or {"en": s}, language) for s in skills)


def partner_name(partner: Partner | None, language: str) -> str:
    return pick(partner.names, language) if partner is not None else "—"


def card(session: Session, project: Project, language: str) -> str:
    """The project as a message: title, need, place, time, hands, skills, state."""
    return t(
        "projects.card",
        language,
        id=project.id,
        title=esc(title_in(project, language)),
        description=esc(description_in(project, language)),
        place=esc(place_in(session, project, language)),
        when=when_in(project, language),
        hands=project.hands_needed,
        claimed=project.hands_claimed,
        skills=esc(skills_in(list(project.skills or []), language)),
        state=t(f"projects.state.{project.state}", language),
    )


def page_link(project: Project) -> str:
    """The project's public page (web/projects/): what residents can pass on, without personal data."""
    return f"{get_settings().web_public_url.rstrip('/')}/projects/{project.id}"


def _button(key: str, language: str, data: str, **params: Any) -> dict[str, str]:
    assert len(data.encode()) <= 64, data
    return {"text": t(key, language, **params), "callback_data": data}


# --- the people ----------------------------------------------------------------------------------------


def _with_role(session: Session, role: Role) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .where(Person.id.in_(select(PersonRole.person_id).where(PersonRole.role == role)))
            .order_by(Person.id)
        )
    )


def committee(session: Session) -> list[Person]:
    return _with_role(session, Role.COMMITTEE_MEMBER)


def desk(session: Session) -> list[Person]:
    return _with_role(session, Role.DESK)


def supporters(session: Session, project: Project) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .join(ProjectSupporter, ProjectSupporter.person_id == Person.id)
            .where(ProjectSupporter.project_id == project.id)
            .order_by(Person.id)
        )
    )


def claimants(session: Session, project: Project) -> list[Person]:
    ids = select(ProjectClaim.person_id).where(
        ProjectClaim.project_id == project.id, ProjectClaim.state != ClaimState.REFUSED
    )
    return list(session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)))


def audience(session: Session, project: Project) -> list[Person]:
    """The requester, the supporters and the committee, each once."""
    people: dict[int, Person] = {}
    requester = session.get(Person, project.requester_id) if project.requester_id else None
    for person in ([requester] if requester else []) + supporters(session, project) + committee(session):
        people.setdefault(person.id, person)
    return list(people.values())


# --- the messages --------------------------------------------------------------------------------------


def offer(session: Session, project: Project, partner: Partner, person: Person, now: datetime) -> None:
    lang = reader_language(person)
    head = t("projects.offer.head", lang, partner=esc(partner_name(partner, lang)))
    buttons = [[_button("projects.button.claim", lang, f"{CALLBACK_PREFIX}c:{project.id}")]]
    text = f"{head}\n{card(session, project, lang)}\n🔗 {esc(page_link(project))}"
    payload = {"text": text, "parse_mode": "HTML", "buttons": buttons}
    enqueue(session, person, KIND_PREFIX + "offer", payload, now=now)


def claim_to_desk(
    session: Session, project: Project, row: ProjectClaim, partner: Partner, now: datetime
) -> None:
    for person in desk(session):
        lang = reader_language(person)
        text = t(
            "projects.claim.to_desk",
            lang,
            partner=esc(partner_name(partner, lang)),
            hands=row.hands,
            id=project.id,
            title=esc(title_in(project, lang)),
            claimed=project.hands_claimed,
            needed=project.hands_needed,
        )
        buttons = [
            [
                _button("projects.button.confirm", lang, f"{CALLBACK_PREFIX}ok:{row.id}"),
                _button("projects.button.refuse", lang, f"{CALLBACK_PREFIX}no:{row.id}"),
            ]
        ]
        enqueue(
            session,
            person,
            KIND_PREFIX + "claim",
            {"text": text, "parse_mode": "HTML", "buttons": buttons},
            now=now,
        )


def decided(
    session: Session,
    project: Project,
    row: ProjectClaim,
    partner: Partner | None,
    confirmed: bool,
    now: datetime,
) -> None:
    person = session.get(Person, row.person_id)
    if person is None:
        return
    lang = reader_language(person)
    key = "projects.claim.confirmed" if confirmed else "projects.claim.refused"
    text = t(
        key,
        lang,
        id=project.id,
        title=esc(title_in(project, lang)),
        hands=row.hands,
        partner=esc(partner_name(partner, lang)),
    )
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if confirmed:
        payload["buttons"] = [
            [
                _button("projects.button.progress", lang, f"{CALLBACK_PREFIX}p:{project.id}"),
                _button("projects.button.done", lang, f"{CALLBACK_PREFIX}d:{project.id}"),
            ]
        ]
    enqueue(session, person, KIND_PREFIX + "decided", payload, now=now)


def step(
    session: Session,
    project: Project,
    kind: str,
    actor: Person | None,
    now: datetime,
    *,
    partner: Partner | None = None,
    hands: int | None = None,
    words: dict[str, Any] | None = None,
    also: list[Person] | None = None,
) -> int:
    """A step told to the requester, supporters and committee (and `also`), not to whoever took it; how many
    were told."""
    told = 0
    readers = {p.id: p for p in audience(session, project) + list(also or [])}
    for person in readers.values():
        if actor is not None and person.id == actor.id:
            continue
        lang = reader_language(person)
        note = esc(reads(words, lang, staff=False)) if words else ""
        text = t(
            f"projects.step.{kind}",
            lang,
            id=project.id,
            title=esc(title_in(project, lang)),
            partner=esc(partner_name(partner, lang)),
            hands=hands if hands is not None else project.hands_needed,
            note=note,
        )
        if kind != "cancelled":  # a cancelled project has no public page
            text += f"\n🔗 {esc(page_link(project))}"
        enqueue(session, person, KIND_PREFIX + kind, {"text": text, "parse_mode": "HTML"}, now=now)
        told += 1
    return told
