"""/points, /leaderboard, /bonus and /stats through the real telegram.ext.Application (Telegram faked at the
request layer, no Rasa), on SQLite and PostgreSQL: a volunteer goes on duty, accepts and resolves a task
with the real buttons and sees their points go up; who sees which indices comes from their roles."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import Application

from community.database import Database, utcnow
from community.i18n import t
from community.people.models import Role
from community.tickets import rate, set_duty
from community.tickets.models import Ticket
from community.volunteers.models import DutyEvent, PointBonus
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import FakeTelegram, callback_update, message_update
from tests.tickets.world import IN_M1, World, add_person, file

VOLUNTEER, GRID_MEMBER, DESK = 807_000_001, 807_000_002, 807_000_003


@pytest.fixture
async def application(db: Database) -> AsyncIterator[Application]:
    async with application_without_rasa(db, rate_limiter=False) as app:
        yield app


@pytest.fixture
def people(db: Database, world: World) -> dict[int, int]:
    """Ma Lan, a new volunteer of M1 (the only one on duty there), a grid member of G1 and a desk clerk."""
    with db.session() as s:
        for key in ("v_m1_a", "v_m1_b"):
            set_duty(s, world.person(s, key), False)
        ids = {
            VOLUNTEER: add_person(
                s, "ma_lan", "Ma Lan", "en", [(Role.VOLUNTEER, "M1")], (False, ["electric"]), VOLUNTEER
            ),
            GRID_MEMBER: add_person(
                s, "gm_ma", "Grid Ma", "en", [(Role.GRID_MEMBER, "G1")], None, GRID_MEMBER
            ),
            DESK: add_person(s, "desk_ma", "Desk Ma", "en", [(Role.DESK, None)], None, DESK),
        }
        return {chat: person.id for chat, person in ids.items()}


async def _send(app: Application, chat: int, text: str) -> list[str]:
    telegram: FakeTelegram = app.bot_data["telegram"]
    telegram.clear()
    await app.process_update(Update.de_json(message_update(chat, text, language_code="en"), app.bot))
    # What the person reads: the HTML entities of parse_mode=HTML resolved.
    return [html.unescape(text) for text in telegram.texts_to(chat)]


async def _press(app: Application, chat: int, data: str) -> None:
    await app.process_update(Update.de_json(callback_update(chat, data, language_code="en"), app.bot))


def _version(db: Database, ticket_id: int) -> int:
    with db.session() as s:
        found = s.get(Ticket, ticket_id)
        assert found is not None
        return found.version


async def test_a_volunteer_resolves_a_task_and_sees_their_points_go_up(
    db: Database, world: World, people: dict[int, int], application: Application
) -> None:
    assert await _send(application, VOLUNTEER, "/duty on") == [t("staff.duty_on", "en")]
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(DutyEvent).where(DutyEvent.person_id == people[VOLUNTEER])
            )
            == 1
        )
    [before] = await _send(application, VOLUNTEER, "/points")
    assert before.startswith(t("points.statement.title", "en", total=0, month=0))

    task = file(db, world, "alice", "streetlight", IN_M1, now=utcnow()).ticket
    assert task.owner_id == people[VOLUNTEER]
    await _press(application, VOLUNTEER, f"tk:acc:{task.id}:{_version(db, task.id)}")
    await _press(application, VOLUNTEER, f"tk:res:{task.id}:{_version(db, task.id)}")
    assert await _send(application, VOLUNTEER, "Replaced the bulb") == [
        t("staff.resolved", "en", ref=task.ref)
    ]

    [after] = await _send(application, VOLUNTEER, "/points")
    # Accepted within the 30 minutes (2) and resolved (5).
    assert after.splitlines() == [
        t("points.statement.title", "en", total=7, month=7),
        t("points.rule.accepted_in_time", "en", n=1, points=2),
        t("points.rule.resolved", "en", n=1, points=5),
    ]
    with db.session() as s:
        rate(s, task.id, world.person(s, "alice"), score=5, now=utcnow())
    [rated] = await _send(application, VOLUNTEER, "/points")
    assert rated.splitlines()[0] == t("points.statement.title", "en", total=10, month=10)
    assert t("points.rule.good_rating", "en", n=1, points=3) in rated.splitlines()

    [board] = await _send(application, VOLUNTEER, "/leaderboard")
    lines = board.splitlines()
    assert lines[0] == t("points.top.title", "en", scope="Xiaomatou Street grid (G1)")
    assert lines[1] == t("points.top.line", "en", rank=1, name="Ma Lan", points=10)

    # A team's board: the Application's team-member lookup (community/people/teams.py), replaced here by
    # one that knows this test's two people.
    application.bot_data["team_members"] = lambda session, code: [people[VOLUNTEER], world.id("v_m3")]
    [team] = await _send(application, VOLUNTEER, "/points top multilingual")
    assert team.splitlines() == [
        t("points.top.title", "en", scope="multilingual"),
        t("points.top.line", "en", rank=1, name="Ma Lan", points=10),
        t("points.top.line", "en", rank=2, name="Zhou Qiang", points=0),
    ]
    assert await _send(application, VOLUNTEER, "/points everything") == [t("points.usage", "en")]


async def test_only_the_desk_records_a_bonus_and_only_with_a_reason(
    db: Database, world: World, people: dict[int, int], application: Application
) -> None:
    assert await _send(application, VOLUNTEER, f"/bonus {VOLUNTEER} 50 I was great") == [
        t("points.bonus.desk_only", "en")
    ]
    assert await _send(application, GRID_MEMBER, f"/bonus {VOLUNTEER} 10 typhoon night") == [
        t("points.bonus.desk_only", "en")
    ]
    assert await _send(application, DESK, f"/bonus {VOLUNTEER} 10") == [
        t("points.bonus.reason_needed", "en", n=4)
    ]
    assert await _send(application, DESK, f"/bonus {VOLUNTEER} ten typhoon night") == [
        t("points.bonus.usage", "en")
    ]
    assert await _send(application, DESK, f"/bonus {VOLUNTEER} 500 typhoon night") == [
        t("points.bonus.out_of_range", "en", max=50)
    ]
    assert await _send(application, DESK, "/bonus Nobody 5 typhoon night") == [
        t("points.bonus.unknown_person", "en", who="Nobody")
    ]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PointBonus)) == 0
    assert await _send(application, DESK, f"/bonus {VOLUNTEER} 10 stayed on duty through the typhoon") == [
        t("points.bonus.done", "en", name="Ma Lan", points="+10", reason="stayed on duty through the typhoon")
    ]
    [mine] = await _send(application, VOLUNTEER, "/points")
    assert mine.splitlines() == [
        t("points.statement.title", "en", total=10, month=10),
        t("points.rule.bonus", "en", points="+10", reason="stayed on duty through the typhoon"),
    ]


async def test_stats_shows_each_role_what_it_may_see(
    db: Database, world: World, people: dict[int, int], application: Application
) -> None:
    telegram: FakeTelegram = application.bot_data["telegram"]

    # A volunteer: their own line, no chart.
    texts = await _send(application, VOLUNTEER, "/stats")
    assert len(texts) == 1 and "Ma Lan" in texts[0] and "Xiaomatou" not in texts[0]
    assert telegram.to(VOLUNTEER, "sendPhoto") == []

    # A grid member of G1: G1's indices and its chart, not G2's.
    texts = await _send(application, GRID_MEMBER, "/stats")
    assert any("Xiaomatou Street grid (G1)" in x for x in texts)
    assert not any("Yuntai Hill grid" in x for x in texts)
    [photo] = telegram.to(GRID_MEMBER, "sendPhoto")
    assert photo.text.startswith("Xiaomatou Street grid (G1)")

    # The desk: the hotline rates, every grid, one chart per grid.
    texts = await _send(application, DESK, "/stats")
    scope = t("ticket.metrics.all_grids", "en")
    assert any(x.startswith(f"Ticket metrics ({scope})") for x in texts)
    assert any("Yuntai Hill grid (G2)" in x and "Xiaomatou Street grid (G1)" in x for x in texts)
    assert [p.text.split(" (")[0] for p in telegram.to(DESK, "sendPhoto")] == [
        "Xiaomatou Street grid",
        "Yuntai Hill grid",
    ]

    # A bad month gets the usage, politely; a tourist gets the staff-only answer.
    assert await _send(application, DESK, "/stats 2025-13") == [t("points.stats.usage", "en")]
    assert await _send(application, 1012, "/stats") == [t("bot.staff_only", "en")]  # alice, a tourist
