"""Points and the two indices in chat: /points (own points, or `top` for the month's leaderboard), /bonus
(the desk only, with a reason) and /stats (the indices as text and one chart per grid).

Who sees what comes from the roles in the database: the committee and the desk see every grid, a grid member
their own grid, a volunteer only themselves. The team leaderboard needs a team-member lookup, which the
Application may provide as `bot_data["team_members"]`: `(session, team_code) -> list of person ids`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import database, say
from bot.telegram.handlers.staff import staff_only
from bot.telegram.render import send_text
from community.database import utcnow
from community.grids.models import Grid, GridLevel
from community.i18n import is_curated, pick
from community.knowledge.schema import KnowledgeError
from community.people.models import Person, Role
from community.tickets.metrics import compute_metrics, format_metrics
from community.volunteers import points as volunteer_points
from community.volunteers.chart import period_label, render_grid_png
from community.volunteers.indices import IndexReport, compute_indices
from community.volunteers.report import format_indices, member_line
from community.volunteers.rules import rules

# A chat message lists this many members per grid; the chart shows more, the CLI all.
CHAT_MEMBERS = 15
TeamLookup = Callable[[Session, str], list[int]]


def _language(language: str) -> str:
    return language if is_curated(language) else "en"


def _street_grids(session: Session, person: Person) -> list[str]:
    """The street grids of a person's roles (a micro-grid counts for its grid)."""
    codes: set[str] = set()
    for role in person.roles:
        grid = session.get(Grid, role.grid_code) if role.grid_code else None
        if grid is not None and grid.level == GridLevel.MICRO_GRID:
            grid = session.get(Grid, grid.parent_code) if grid.parent_code else None
        if grid is not None and grid.level == GridLevel.GRID:
            codes.add(grid.code)
    return sorted(codes)


# --- /points ---------------------------------------------------------------------------------------------


def _points_text(context: ContextTypes.DEFAULT_TYPE, actor_id: int, args: list[str], language: str) -> str:
    now = utcnow()
    with database(context).session() as session:
        me = session.get(Person, actor_id)
        assert me is not None
        if not args:
            return volunteer_points.format_statement(
                volunteer_points.statement(session, rules(), me.id, now), language
            )
        if args[0].lower() not in ("top", "leaderboard"):
            return say("points.usage", language)
        return _leaderboards(session, me, args[1:], language, now, context.bot_data.get("team_members"))


def _leaderboards(
    session: Session, me: Person, args: list[str], language: str, now: datetime, teams: TeamLookup | None
) -> str:
    start, _ = volunteer_points.this_month(now)
    if args:
        # /points top <team>: only when a team-member lookup is wired.
        if teams is None:
            return say("points.usage", language)
        members = teams(session, args[0])
        ranked = volunteer_points.leaderboard(session, rules(), members, start, now)
        return volunteer_points.format_leaderboard(
            say("points.top.title", language, scope=args[0]), ranked, language
        )
    everywhere = me.has_role(Role.COMMITTEE_MEMBER, Role.DESK)
    codes = (
        list(session.scalars(select(Grid.code).where(Grid.level == GridLevel.GRID).order_by(Grid.code)))
        if everywhere
        else _street_grids(session, me)
    )
    if not codes:
        return say("points.top.no_grid", language)
    boards = []
    for code in codes:
        grid = session.get(Grid, code)
        assert grid is not None
        ranked = volunteer_points.leaderboard(
            session, rules(), volunteer_points.grid_members(session, code), start, now
        )
        title = say("points.top.title", language, scope=f"{pick(grid.names, language)} ({code})")
        boards.append(volunteer_points.format_leaderboard(title, ranked, language))
    return "\n\n".join(boards)


@staff_only
async def points(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    """/points: the volunteer's total, this month and how it was earned; /points top: the leaderboard."""
    assert update.effective_chat is not None
    language = _language(language)
    args = list(context.args or [])
    message = update.effective_message
    if message is not None and (message.text or "").startswith("/leaderboard"):
        args = ["top", *args]
    try:
        text = await run_sync(_points_text, context, actor.id, args, language)
    except KnowledgeError:
        # The rules file is broken: the office must fix it; the volunteer gets a polite answer.
        text = say("bot.error", language)
    await send_text(context.bot, update.effective_chat.id, text)


# --- /bonus ----------------------------------------------------------------------------------------------


def _find_person(session: Session, who: str) -> Person | None:
    """A Telegram id, a person's number, or a display name that exactly one person has."""
    if who.lstrip("#").isdigit():
        number = int(who.lstrip("#"))
        found = session.scalar(select(Person).where(Person.telegram_id == number))
        return found or session.get(Person, number)
    matches = list(
        session.scalars(select(Person).where(func.lower(Person.display_name) == who.lower()).limit(2))
    )
    return matches[0] if len(matches) == 1 else None


def _bonus_text(context: ContextTypes.DEFAULT_TYPE, actor_id: int, args: list[str], language: str) -> str:
    if len(args) < 2:
        return say("points.bonus.usage", language)
    who, amount, reason = args[0], args[1], " ".join(args[2:])
    try:
        value = int(amount)
    except ValueError:
        return say("points.bonus.usage", language)
    with database(context).session() as session:
        desk = session.get(Person, actor_id)
        assert desk is not None
        if not desk.has_role(Role.DESK):
            # Checked before looking anyone up: nobody but the desk learns who is on the roster this way.
            return say("points.bonus.desk_only", language)
        person = _find_person(session, who)
        if person is None:
            return say("points.bonus.unknown_person", language, who=who)
        try:
            volunteer_points.award_bonus(session, rules(), desk, person, value, reason, utcnow())
        except volunteer_points.BonusRefused as refused:
            session.rollback()
            return say(refused.key, language, **refused.params)
        return say(
            "points.bonus.done", language, name=person.display_name, points=f"{value:+d}", reason=reason
        )


@staff_only
async def bonus(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    """/bonus <person> <points> <reason>: the desk records a bonus; a reason is required."""
    assert update.effective_chat is not None
    language = _language(language)
    try:
        text = await run_sync(_bonus_text, context, actor.id, list(context.args or []), language)
    except KnowledgeError:
        text = say("bot.error", language)
    await send_text(context.bot, update.effective_chat.id, text)


# --- /stats ----------------------------------------------------------------------------------------------


@dataclass
class StatsView:
    texts: list[str] = field(default_factory=list)
    charts: list[tuple[bytes, str]] = field(default_factory=list)  # (PNG, caption)


def _period(arg: str | None, now: datetime) -> tuple[datetime, datetime, datetime] | None:
    """(start, end, the moment counted to) of `/stats [YYYY-MM]`; None for a bad argument."""
    if not arg:
        start, end = volunteer_points.this_month(now)
        return start, end, now
    try:
        year, month = (int(part) for part in arg.split("-"))
        start, end = volunteer_points.month_bounds(year, month)
    except ValueError:
        return None
    if start > now:
        return None
    return start, end, min(end, now)


def stats_view(session: Session, me: Person, language: str, arg: str | None, now: datetime) -> StatsView:
    period = _period(arg, now)
    if period is None:
        return StatsView([say("points.stats.usage", language)])
    start, end, until = period
    report: IndexReport = compute_indices(session, rules(), start, end, now=until)
    if me.has_role(Role.COMMITTEE_MEMBER, Role.DESK):
        grids, community = report.grids, True
        texts = [format_metrics(compute_metrics(session, start, until), language)]
    elif me.has_role(Role.GRID_MEMBER):
        mine = set(_street_grids(session, me))
        grids, community, texts = [g for g in report.grids if g.code in mine], False, []
    else:
        # A volunteer sees themselves only.
        member = report.member(me.id)
        lines = [say("points.stats.title", language, period=period_label(report))]
        if member is not None:
            lines.append(member_line(member, language))
        return StatsView(["\n".join(lines)])
    texts.append(format_indices(report, language, grids, community=community, max_members=CHAT_MEMBERS))
    charts = [
        (
            render_grid_png(report, grid),
            say(
                "points.stats.chart_caption",
                language,
                grid=f"{pick(grid.names, language)} ({grid.code})",
                period=period_label(report),
            ),
        )
        for grid in grids
    ]
    return StatsView(texts, charts)


def _stats(context: ContextTypes.DEFAULT_TYPE, actor_id: int, arg: str | None, language: str) -> StatsView:
    with database(context).session() as session:
        me = session.get(Person, actor_id)
        assert me is not None
        return stats_view(session, me, language, arg, utcnow())


@staff_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    """/stats [YYYY-MM]: both indices for the month (this one by default) as text and a chart per grid."""
    assert update.effective_chat is not None
    language = _language(language)
    arg = (context.args or [None])[0]
    try:
        view = await run_sync(_stats, context, actor.id, arg, language)
    except KnowledgeError:
        view = StatsView([say("bot.error", language)])
    chat_id = update.effective_chat.id
    for text in view.texts:
        await send_text(context.bot, chat_id, text)
    for png, caption in view.charts:
        await context.bot.send_photo(chat_id, photo=png, caption=caption[:1024])
