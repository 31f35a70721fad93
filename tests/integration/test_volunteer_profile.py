"""A volunteer's own skills and duty hours (/me), changes by the level above (/volunteer), teams (/team) and
the chain of who may do what — through the real Application on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.ext import Application

from community.database import Database, utcnow
from community.i18n import t
from community.knowledge.loader import ROSTER_PREFIX, load
from community.people.enrolment import claim_invitation, create_invitation
from community.people.models import Person, Role
from community.people.profile import ProfileError, Window, covers, parse_duty_hours
from community.people.records import PersonEvent
from community.people.teams import team_members
from community.settings import PROJECT_ROOT
from community.tickets import set_duty
from community.tickets.filing import file_report
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import FakeTelegram, message_update

VOL_RIVER_1 = 900000001  # roster: electrical … in river_1
VOL_RED_1 = 900000009  # roster: red_1
GRID_MEMBER_RIVER = 900000027
COMMITTEE = 900000030
DESK = 900000033
NEWCOMER = 806_000_011
OUTSIDER = 806_000_012
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def app(db: Database) -> AsyncIterator[Application]:
    load(db, PROJECT_ROOT / "knowledge")
    async with application_without_rasa(db, rate_limiter=False) as application:
        yield application


async def _say(app: Application, user: int, text: str, language_code: str | None = None) -> str:
    """Sends `text` as `user`; the bot's last answer to them."""
    await app.process_update(Update.de_json(message_update(user, text, language_code=language_code), app.bot))
    telegram: FakeTelegram = app.bot_data["telegram"]
    return telegram.texts_to(user)[-1]


def _person(db: Database, telegram_id: int) -> Person:
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        assert person is not None
        _ = person.roles, person.volunteer
        return person


def _enrol(db: Database, inviter_telegram: int, grid: str, skills: str, telegram_id: int) -> Person:
    """An enrolment as the chat makes it (the chat flow itself is tested in test_enrolment.py)."""
    with db.session() as session:
        inviter = session.scalar(select(Person).where(Person.telegram_id == inviter_telegram))
        assert inviter is not None
        made = create_invitation(
            session, inviter, "volunteer", grid, skills, now=utcnow(), ttl=timedelta(hours=1)
        )
        person = Person(
            external_key=f"telegram:{telegram_id}", telegram_id=telegram_id, chat_id=str(telegram_id)
        )
        session.add(person)
        session.flush()
        claim_invitation(session, made.code, person, now=utcnow())
    return _person(db, telegram_id)


def test_duty_hours_are_read_the_way_people_write_them() -> None:
    assert parse_duty_hours("mon-fri 18:00-22:00; sat 9:00-12:00") == [
        *(Window(day, "18:00", "22:00") for day in range(5)),
        Window(5, "09:00", "12:00"),
    ]
    assert parse_duty_hours("周六-周日 08:00-11:30") == [
        Window(5, "08:00", "11:30"),
        Window(6, "08:00", "11:30"),
    ]
    assert parse_duty_hours("fri-mon 22:00-02:00")[0] == Window(0, "22:00", "02:00")  # wraps the week
    assert parse_duty_hours("none") == []
    for bad in ("someday 10:00-11:00", "mon 25:00-26:00", "mon 10:00-10:00", "mon 10:00", ""):
        with pytest.raises(ProfileError):
            parse_duty_hours(bad)
    # A window past midnight covers the small hours of the next day, in the community's zone.
    late = parse_duty_hours("fri 22:00-02:00")
    saturday_1am = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # Sat 01:00 in Zhenjiang
    assert saturday_1am.astimezone(SHANGHAI).weekday() == 5
    assert covers(late, saturday_1am, SHANGHAI)
    assert not covers(late, saturday_1am + timedelta(hours=2), SHANGHAI)


async def test_a_volunteer_edits_their_own_skills_and_hours_and_a_reload_keeps_them(
    db: Database, app: Application
) -> None:
    assert t("enrol.hours.bad", "zh-Hans", part="周八") == await _say(
        app, VOL_RIVER_1, "/me hours 周八 10:00-11:00"
    )
    assert _person(db, VOL_RIVER_1).volunteer.duty_hours == []  # type: ignore[union-attr]
    await _say(app, VOL_RIVER_1, "/me hours mon-fri 18:00-22:00; sat 09:00-12:00")
    answer = await _say(app, VOL_RIVER_1, "/me skills electrical,care")
    assert answer == t("enrol.me.skills_done", "zh-Hans", skills="electrical, care")
    assert "juggling" in await _say(app, VOL_RIVER_1, "/me skills electrical,juggling")
    card = await _say(app, VOL_RIVER_1, "/me")
    assert "mon 18:00-22:00" in card and "sat 09:00-12:00" in card and "electrical, care" in card
    assert "市政共建服务队" in card  # their team, from knowledge/teams.yml

    load(db, PROJECT_ROOT / "knowledge")

    profile = _person(db, VOL_RIVER_1).volunteer
    assert profile is not None and profile.skills == ["electrical", "care"] and len(profile.duty_hours) == 6
    # A resident has no profile to edit.
    assert await _say(app, OUTSIDER, "/me hours mon 10:00-11:00", "en") == t(
        "enrol.error.not_volunteer", "en"
    )


async def test_routing_prefers_the_volunteer_whose_duty_hours_cover_now(
    db: Database, app: Application
) -> None:
    newcomer = _enrol(db, GRID_MEMBER_RIVER, "river_1", "electrical", NEWCOMER)
    await _say(app, NEWCOMER, "/duty on", "en")
    today = utcnow().astimezone(SHANGHAI).weekday()
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    # vol_river_1 (a lower id, the same open work: the old tie-break would pick them) serves tomorrow only.
    await _say(app, VOL_RIVER_1, f"/me hours {days[(today + 1) % 7]} 00:00-24:00")
    await _say(app, NEWCOMER, f"/me hours {days[today]} 00:00-24:00")
    with db.session() as session:
        reporter = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + "cm_1"))
        assert reporter is not None
        ticket = file_report(
            session, reporter=reporter, category_code="lighting", grid_code="river_1", now=utcnow()
        )
        assert ticket.ticket.owner_id == newcomer.id
    # Outside their hours but the only one on duty: they still get it (hours prefer, /duty decides).
    with db.session() as session:
        set_duty(session, session.get(Person, newcomer.id), False)  # type: ignore[arg-type]
        reporter = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + "cm_1"))
        assert reporter is not None
        again = file_report(
            session, reporter=reporter, category_code="water_leak", grid_code="river_1", now=utcnow()
        )
        assert again.ticket.owner_id == _person(db, VOL_RIVER_1).id


async def test_the_level_above_moves_and_re_skills_a_volunteer_and_others_may_not(
    db: Database, app: Application
) -> None:
    newcomer = _enrol(db, GRID_MEMBER_RIVER, "river_1", "cleaning", NEWCOMER)
    red = _person(db, VOL_RED_1)
    # The river grid member is not above a red-grid volunteer, nor may they move theirs out of their grid.
    assert await _say(app, GRID_MEMBER_RIVER, f"/volunteer remove #{red.id}") == t(
        "enrol.error.not_allowed", "zh-Hans", role="volunteer", grid="red_1"
    )
    assert await _say(app, GRID_MEMBER_RIVER, f"/volunteer move #{newcomer.id} red_1") == t(
        "enrol.error.not_allowed", "zh-Hans", role="volunteer", grid="red_1"
    )
    # A volunteer is not above anyone.
    assert await _say(app, VOL_RIVER_1, f"/volunteer skills #{newcomer.id} roads") == t(
        "bot.staff_only", "zh-Hans"
    )

    moved = await _say(app, GRID_MEMBER_RIVER, f"/volunteer move #{newcomer.id} river_2 离家更近")
    assert moved == t("enrol.volunteer.moved", "zh-Hans", who=f"#{newcomer.id}", grid="river_2")
    listing = await _say(app, GRID_MEMBER_RIVER, "/volunteer list river_2")
    assert f"#{newcomer.id}" in listing and "river_2" in listing
    after = _person(db, NEWCOMER)
    assert [(r.role, r.grid_code) for r in after.roles if r.role == Role.VOLUNTEER] == [
        ("volunteer", "river_2")
    ]
    with db.session() as session:
        event = session.scalars(select(PersonEvent).where(PersonEvent.kind == "moved")).one()
        assert (event.person_id, event.reason, event.data["before"], event.data["after"]) == (
            newcomer.id,
            "离家更近",
            ["river_1"],
            "river_2",
        )

    # Grid members are placed by the committee only.
    refused = await _say(app, DESK, "/invite grid_member xijin_red")
    assert refused == t("enrol.error.not_allowed", "zh-Hans", role="grid_member", grid="xijin_red")
    await _say(app, COMMITTEE, "/invite grid_member xijin_red")
    telegram: FakeTelegram = app.bot_data["telegram"]
    assert telegram.to(COMMITTEE, "sendPhoto")


async def test_the_desk_and_a_team_leader_change_a_team_and_a_member_may_not(
    db: Database, app: Application
) -> None:
    newcomer = _enrol(db, DESK, "red_1", "", NEWCOMER)
    leader = _person(db, 900000011)  # vol_red_3 leads guides_foreign (teams.yml)
    member = _person(db, 900000013)  # vol_red_5, a member
    assert await _say(app, member.telegram_id or 0, f"/team guides_foreign add #{newcomer.id}") == t(
        "enrol.team.not_allowed", member.preferred_language, team="guides_foreign"
    )
    await _say(app, leader.telegram_id or 0, f"/team guides_foreign add #{newcomer.id} 会说韩语")
    # The leader may not hand the lead on; the desk may.
    assert await _say(app, leader.telegram_id or 0, f"/team guides_foreign leader #{newcomer.id}") == t(
        "enrol.team.not_allowed", leader.preferred_language, team="guides_foreign"
    )
    await _say(app, DESK, f"/team guides_foreign leader #{newcomer.id}")
    await _say(app, DESK, f"/team guides_foreign remove #{member.id} 去了艺术团")
    assert "guides_foreign" in await _say(app, DESK, "/team")

    load(db, PROJECT_ROOT / "knowledge")  # names vol_red_3 as leader and vol_red_5 as a member again

    with db.session() as session:
        assert [p.id for p in team_members(session, "guides_foreign")] == [newcomer.id, leader.id]
        # The same list, as the /points team leaderboard looks it up from the Application.
        assert app.bot_data["team_members"](session, "guides_foreign") == [newcomer.id, leader.id]


async def test_only_the_committee_takes_a_grid_members_role_away(db: Database, app: Application) -> None:
    red_member = _person(db, 900000028)  # gm_red, grid member of xijin_red
    assert red_member.has_role(Role.GRID_MEMBER)
    refused = await _say(app, GRID_MEMBER_RIVER, f"/volunteer remove #{red_member.id} grid_member 不合适")
    assert refused == t("enrol.error.not_allowed", "zh-Hans", role="grid_member", grid="xijin_red")
    await _say(app, COMMITTEE, f"/volunteer remove #{red_member.id} grid_member 调去区里工作")
    assert not _person(db, 900000028).has_role(Role.GRID_MEMBER)
    with db.session() as session:
        event = session.scalars(select(PersonEvent).where(PersonEvent.kind == "role_removed")).one()
        assert (event.data["role"], event.reason) == ("grid_member", "调去区里工作")
