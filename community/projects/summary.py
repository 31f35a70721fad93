"""The weekly summary of projects for the committee: open, claimed and completed, in each member's language.

It is due from Monday 09:00 (community time) for the rest of that ISO week; the bot asks every hour. Sending
records the week in `project_summaries` in the same transaction as the messages, so a second bot process or a
restart finds it sent (and a race between two ends in one insert and one rollback).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from community.database import Database
from community.i18n import t
from community.outbox.service import enqueue
from community.projects import notify
from community.projects.models import Project, ProjectState, ProjectSummary
from community.servicemap.hours import community_zone

DUE_AT = time(9, 0)  # Monday, community time
SHOWN = 10  # projects listed per group


@dataclass(frozen=True)
class Summary:
    week: str
    open: list[Project]
    claimed: list[Project]
    completed: list[Project]


def week_of(now: datetime) -> tuple[str, datetime]:
    """("2026-W49", the moment this week's summary is due) in the community's time."""
    local = now.astimezone(community_zone())
    year, week, weekday = local.isocalendar()
    monday = (local - timedelta(days=weekday - 1)).date()
    return f"{year}-W{week:02d}", datetime.combine(monday, DUE_AT, tzinfo=community_zone())


def build(session: Session, now: datetime) -> Summary:
    week, _ = week_of(now)
    since = now - timedelta(days=7)
    projects = list(session.scalars(select(Project).order_by(Project.id)))
    return Summary(
        week,
        [p for p in projects if p.state == ProjectState.PUBLISHED],
        [p for p in projects if p.state in (ProjectState.CLAIMED, ProjectState.IN_PROGRESS)],
        [p for p in projects if p.state == ProjectState.COMPLETED and p.updated_at >= since],
    )


def render(session: Session, summary: Summary, language: str) -> str:
    lines = [t("projects.summary.title", language, week=summary.week)]
    for key, group in (
        ("open", summary.open),
        ("claimed", summary.claimed),
        ("completed", summary.completed),
    ):
        lines.append(t(f"projects.summary.{key}", language, n=len(group)))
        for project in group[:SHOWN]:
            lines.append(
                t(
                    "projects.summary.item",
                    language,
                    id=project.id,
                    title=notify.title_in(project, language),
                    claimed=project.hands_claimed,
                    needed=project.hands_needed,
                    state=t(f"projects.state.{project.state}", language),
                )
            )
    return "\n".join(lines)


def send_if_due(session: Session, now: datetime) -> int | None:
    """Sends this week's summary to the committee when it is due and not yet sent; how many it went to."""
    week, due = week_of(now)
    if now < due or session.get(ProjectSummary, week) is not None:
        return None
    summary = build(session, now)
    members = notify.committee(session)
    session.add(ProjectSummary(week=week, sent_at=now, recipients=len(members)))
    session.flush()  # the week's row first: a second sender fails here, before writing any message
    for person in members:
        language = notify.reader_language(person)
        enqueue(session, person, "project.summary", {"text": render(session, summary, language)}, now=now)
    return len(members)


def send_weekly(database: Database, now: datetime) -> int | None:
    """`send_if_due` in a transaction of its own; None when not due, already sent, or sent by another process
    at the same moment (its row for the week won: this transaction rolled back with nothing sent)."""
    try:
        with database.session() as session:
            return send_if_due(session, now)
    except IntegrityError:
        return None
