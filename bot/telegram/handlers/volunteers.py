"""Volunteers after enrolment: /me (or /profile) for one's own skills and duty hours, /volunteer for the level
above (list, change skills, move micro-grid, remove), /team for teams (the desk and the team's leader).

Every change goes through community/people (authority from the database, a person event per change) in one
transaction; the volunteer concerned is told through the outbox in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, say
from bot.telegram.render import send_text
from community.database import utcnow
from community.i18n import pick, t
from community.outbox.service import enqueue
from community.people import enrolment, profile, teams
from community.people.enrolment import EnrolError
from community.people.models import Person, Role
from community.people.profile import ProfileError


def _in_session(
    context: ContextTypes.DEFAULT_TYPE, update: Update, work: Callable[[Session, Person, str], str]
) -> str:
    """Runs `work(session, me, language)` in one transaction; a refusal becomes its polite text and nothing
    of the work is kept."""
    with database(context).session() as session:
        language = assistant(context).person_for(session, chat_user(update)).preferred_language
    try:
        with database(context).session() as session:
            me = assistant(context).person_for(session, chat_user(update))
            return work(session, me, language)
    except EnrolError as exc:
        return exc.localized(language)
    except ProfileError as exc:
        return t(exc.key, language, **exc.params)


async def _answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, work: Callable[[Session, Person, str], str]
) -> None:
    assert update.effective_chat is not None
    text = await run_sync(_in_session, context, update, work)
    await send_text(context.bot, update.effective_chat.id, text)


def _tell(session: Session, target: Person, actor: Person, what: str) -> None:
    """The volunteer hears of a change someone else made to them."""
    if target.id == actor.id:
        return
    text = t(
        "enrol.volunteer.told",
        target.preferred_language,
        actor=actor.display_name or f"#{actor.id}",
        what=what,
    )
    enqueue(session, target, "enrol.changed", {"text": text}, now=utcnow())


# --- /me ----------------------------------------------------------------------------------------------------


def _card(session: Session, me: Person, language: str) -> str:
    p = me.volunteer
    roles = ", ".join(
        f"{say(f'enrol.role.{r.role}', language) if r.role in ('volunteer', 'grid_member') else r.role}"
        + (f" ({r.grid_code})" if r.grid_code else "")
        for r in me.roles
    )
    team_list = ", ".join(
        pick(team.names, language) + (f" ({say('enrol.team.leader_mark', language)})" if leader else "")
        for team, leader in teams.teams_of(session, me)
    )
    none = say("enrol.none", language)
    return say(
        "enrol.me.card",
        language,
        name=me.display_name or f"#{me.id}",
        roles=roles or none,
        skills=", ".join(p.skills) if p is not None and p.skills else none,
        duty=say("enrol.me.yes" if p is not None and p.on_duty else "enrol.me.no", language),
        hours=profile.format_windows(profile.windows_of(p)) or none,
        teams=team_list or none,
    )


async def me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/me`, `/me skills a,b`, `/me hours mon-fri 18:00-22:00` (also as /profile)."""
    args = context.args or []
    sub = args[0].lower() if args else ""
    rest = " ".join(args[1:])

    def work(session: Session, me: Person, language: str) -> str:
        if sub == "skills" and rest:
            skills = enrolment.set_skills(session, me, me, rest, reason="", now=utcnow())
            return say("enrol.me.skills_done", language, skills=", ".join(skills))
        if sub == "hours" and rest:
            if not me.has_role(Role.VOLUNTEER) or me.volunteer is None:
                raise EnrolError("enrol.error.not_volunteer")
            windows = profile.parse_duty_hours(rest)
            before = list(me.volunteer.duty_hours or [])
            me.volunteer.duty_hours = [w.data() for w in windows]
            enrolment.record(
                session, me, me, "duty_hours_changed", utcnow(), before=before, after=me.volunteer.duty_hours
            )
            return say(
                "enrol.me.hours_done",
                language,
                hours=profile.format_windows(windows) or say("enrol.none", language),
            )
        return _card(session, me, language)

    await _answer(update, context, work)


# --- /volunteer ---------------------------------------------------------------------------------------------


def _who(person: Person) -> str:
    return f"#{person.id} {person.display_name}".strip()


async def volunteer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/volunteer list [grid]`, `skills #id a,b [why]`, `move #id grid [why]`, `remove #id [why]`."""
    args = context.args or []
    sub = args[0].lower() if args else ""

    def work(session: Session, me: Person, language: str) -> str:
        if not enrolment.may_invite_anyone(me):
            return say("bot.staff_only", language)
        now = utcnow()
        if sub == "list":
            rows = enrolment.volunteers_under(session, me, args[1].lower() if len(args) > 1 else None)
            if not rows:
                return say("enrol.volunteer.none", language)
            lines = []
            for person, grid in rows:
                p = person.volunteer
                duty = "🟢" if p is not None and p.on_duty else "⚪"
                skills = ", ".join(p.skills) if p is not None and p.skills else "—"
                lines.append(f"{duty} {_who(person)} · {grid} · {skills}")
            return "\n".join(lines)
        if sub in ("skills", "move") and len(args) >= 3:
            target = enrolment.parse_target(session, args[1])
            reason = " ".join(args[3:])
            if sub == "skills":
                skills = enrolment.set_skills(session, me, target, args[2], reason=reason, now=now)
                _tell(session, target, me, ", ".join(skills))
                return say(
                    "enrol.volunteer.skills_done", language, who=_who(target), skills=", ".join(skills)
                )
            grid = args[2].lower()
            enrolment.move_volunteer(session, me, target, grid, reason=reason, now=now)
            _tell(session, target, me, f"→ {grid}")
            return say("enrol.volunteer.moved", language, who=_who(target), grid=grid)
        if sub == "remove" and len(args) >= 2:
            target = enrolment.parse_target(session, args[1])
            # `/volunteer remove #id grid_member [why]`: the committee takes a grid member's role away.
            role = args[2].lower() if len(args) > 2 and args[2].lower() in enrolment.INVITABLE else None
            reason = " ".join(args[3:] if role else args[2:])
            grids = enrolment.remove_role(session, me, target, role or Role.VOLUNTEER, reason=reason, now=now)
            _tell(session, target, me, "− " + ", ".join(grids))
            return say("enrol.volunteer.removed", language, who=_who(target), grids=", ".join(grids))
        return say("enrol.volunteer.usage", language)

    await _answer(update, context, work)


# --- /team --------------------------------------------------------------------------------------------------


def _members_text(session: Session, team_code: str) -> str:
    return ", ".join(_who(p) for p in teams.team_members(session, team_code)) or "—"


async def team(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/team`, `/team <code>`, `/team <code> add|remove|leader #id [why]`."""
    args = context.args or []

    def work(session: Session, me: Person, language: str) -> str:
        if not args:
            lines = [say("enrol.team.list_head", language)]
            for item in teams.all_teams(session):
                lines.append(f"• {item.code} — {pick(item.names, language)} ({', '.join(item.skills)})")
            return "\n".join(lines)
        code = args[0].lower()
        if len(args) == 1:
            found = teams.all_teams(session)
            item = next((x for x in found if x.code == code), None)
            if item is None:
                raise EnrolError("enrol.team.unknown", team=code)
            return say(
                "enrol.team.members",
                language,
                name=pick(item.names, language),
                team=item.code,
                skills=", ".join(item.skills),
                members=_members_text(session, item.code),
            )
        if len(args) < 3:
            return say("enrol.team.usage", language)
        target = teams.change_team(
            session, me, code, args[1].lower(), args[2], reason=" ".join(args[3:]), now=utcnow()
        )
        _tell(session, target, me, f"{args[1].lower()} {code}")
        return say("enrol.team.done", language, team=code, members=_members_text(session, code))

    await _answer(update, context, work)
