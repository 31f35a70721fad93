"""Enrolment without files, tried as people would: through the real telegram.ext.Application (Telegram faked
at the request layer, no Rasa: none of this needs understanding), on SQLite and PostgreSQL, with the real
knowledge base loaded.

A grid member invites a volunteer; the volunteer opens the link, joins, goes on duty, receives a routed task
and resolves it; the link does not work again (also when two people press Join at once); an expired link is
refused politely; a resident cannot invite; reloading the knowledge base keeps the enrolment and a removal
made in chat; a multilingual-guide ticket goes to the 多语讲解 team's on-duty members.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.ext import Application

from bot.telegram.handlers.enrol import qr_png
from bot.telegram.jobs import Relay
from community.database import Database, utcnow
from community.i18n import t
from community.knowledge.loader import ROSTER_PREFIX, load
from community.people.enrolment import create_invitation
from community.people.models import Person, Role
from community.people.records import Invitation, PersonEvent
from community.people.teams import team_members
from community.settings import PROJECT_ROOT
from community.tickets import set_duty
from community.tickets.filing import file_report
from community.tickets.models import IssueCategory, Ticket, TicketEvent
from community.tickets.states import TicketState
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

GRID_MEMBER_RIVER = 900000027  # gm_river in knowledge/roster.yml: 网格党组织成员 of xijin_river
DESK = 900000033  # desk_1
NEW_VOLUNTEER = 806_000_001
LATECOMER = 806_000_002
RESIDENT = 806_000_003
SECOND = 806_000_004
RACERS = (806_000_005, 806_000_006)
LINK = re.compile(r"https://t\.me/(\w+)\?start=inv_([A-Za-z0-9_-]+)")
RIVER_1 = "river_1"


@pytest.fixture
async def app(db: Database) -> AsyncIterator[Application]:
    load(db, PROJECT_ROOT / "knowledge")
    async with application_without_rasa(db, rate_limiter=False) as application:
        yield application


def _telegram(app: Application) -> FakeTelegram:
    return app.bot_data["telegram"]


async def _say(app: Application, user: int, text: str, **kwargs: Any) -> None:
    await app.process_update(Update.de_json(message_update(user, text, **kwargs), app.bot))


async def _press(app: Application, user: int, data: str) -> None:
    await app.process_update(Update.de_json(callback_update(user, data), app.bot))


def _person(db: Database, telegram_id: int) -> Person:
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        assert person is not None
        _ = person.roles, person.volunteer
        return person


def _button(calls: list[Call], prefix: str) -> str:
    found = [
        b["callback_data"]
        for c in calls
        for b in c.buttons()
        if b.get("callback_data", "").startswith(prefix)
    ]
    assert found, f"no button {prefix!r} in {[c.text[:60] for c in calls]}"
    return str(found[-1])


async def _invite(app: Application, inviter: int, command: str) -> tuple[str, Call]:
    """The inviter's command; the invitation's code and the photo that carries it."""
    await _say(app, inviter, command)
    photos = _telegram(app).to(inviter, "sendPhoto")
    assert photos, _telegram(app).texts_to(inviter)
    match = LINK.search(photos[-1].text)
    assert match is not None, photos[-1].text
    return match.group(2), photos[-1]


async def _relay(db: Database, app: Application) -> None:
    await Relay(db).run_once(app.bot)


async def test_a_grid_member_invites_a_volunteer_who_joins_serves_and_cannot_be_enrolled_twice(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    code, photo = await _invite(app, GRID_MEMBER_RIVER, "/invite volunteer river_1 electrical,plumbing")

    # The picture is the QR code of the link in its caption; the link names this bot; only a hash is stored.
    link = LINK.search(photo.text)
    assert link is not None and link.group(1) == "xijin_test_bot"
    sent_png = photo.files["photo"][1]
    assert sent_png[:8] == b"\x89PNG\r\n\x1a\n" and sent_png == qr_png(link.group(0))
    with db.session() as session:
        stored = session.scalars(select(Invitation)).all()
        assert (
            len(stored) == 1
            and code not in stored[0].code_hash
            and stored[0].skills == ["electrical", "plumbing"]
        )

    # The new volunteer opens the link (Telegram sends /start inv_<code>) and sees what they are joining.
    await _say(app, NEW_VOLUNTEER, f"/start inv_{code}", language_code="zh-hans", name="林小雨")
    offer = telegram.to(NEW_VOLUNTEER)
    assert "electrical" in offer[-1].text and _person(db, NEW_VOLUNTEER).has_role(Role.VOLUNTEER) is False
    await _press(app, NEW_VOLUNTEER, _button(offer, "en:ok:"))

    welcome = t("enrol.welcome", "zh-Hans", role=t("enrol.role.volunteer", "zh-Hans"), grid="超岸寺微网格")
    assert any(text.startswith(welcome[:8]) for text in telegram.texts_to(NEW_VOLUNTEER))
    volunteer = _person(db, NEW_VOLUNTEER)
    assert [(r.role, r.grid_code, r.made_in_chat) for r in volunteer.roles if r.role == Role.VOLUNTEER] == [
        ("volunteer", RIVER_1, True)
    ]
    assert volunteer.volunteer is not None and volunteer.volunteer.skills == ["electrical", "plumbing"]
    assert volunteer.volunteer.on_duty is False  # no task before they say they are ready

    # The inviter is told (through the outbox).
    await _relay(db, app)
    told = t(
        "enrol.inviter_told",
        "zh-Hans",
        name="林小雨",
        role=t("enrol.role.volunteer", "zh-Hans"),
        grid=RIVER_1,
    )
    assert told in telegram.texts_to(GRID_MEMBER_RIVER)

    # The link does not work a second time.
    await _say(app, LATECOMER, f"/start inv_{code}", language_code="en")
    assert telegram.texts_to(LATECOMER)[-1] == t("enrol.error.used", "en")
    assert not _person(db, LATECOMER).has_role(Role.VOLUNTEER)

    # Duty on; the micro-grid's roster volunteers are away, so a broken lamp in river_1 is theirs.
    await _say(app, NEW_VOLUNTEER, "/duty on")
    with db.session() as session:
        for key in ("vol_river_1", "vol_river_2"):
            other = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + key))
            assert other is not None
            set_duty(session, other, False)
    with db.session() as session:
        reporter = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + "cm_1"))
        assert reporter is not None
        ticket_id = file_report(
            session,
            reporter=reporter,
            category_code="lighting",
            grid_code=RIVER_1,
            description="路灯不亮",
            now=utcnow(),
        ).ticket.id
    await _relay(db, app)
    with db.session() as session:
        routed = session.get(Ticket, ticket_id)
        assert routed is not None and routed.owner_id == volunteer.id

    await _press(app, NEW_VOLUNTEER, _button(telegram.to(NEW_VOLUNTEER), "tk:acc:"))
    await _relay(db, app)
    await _press(app, NEW_VOLUNTEER, _button(telegram.to(NEW_VOLUNTEER), "tk:res:"))
    await _say(app, NEW_VOLUNTEER, "换了灯泡，已经亮了")
    with db.session() as session:
        done = session.get(Ticket, ticket_id)
        assert done is not None and done.state == TicketState.RESOLVED
        enrolled = session.scalars(select(PersonEvent).where(PersonEvent.kind == "enrolled")).all()
        assert [(e.person_id, e.data["grid"]) for e in enrolled] == [(volunteer.id, RIVER_1)]
        assert enrolled[0].actor_id == _person(db, GRID_MEMBER_RIVER).id


async def test_an_expired_link_is_refused_politely_and_a_resident_cannot_invite(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    with db.session() as session:
        desk = session.scalar(select(Person).where(Person.telegram_id == DESK))
        assert desk is not None
        old = create_invitation(
            session,
            desk,
            "volunteer",
            RIVER_1,
            "",
            now=utcnow() - timedelta(days=10),
            ttl=timedelta(hours=72),
        )
    await _say(app, SECOND, f"/start inv_{old.code}", language_code="ja")
    assert telegram.texts_to(SECOND)[-1] == t("enrol.error.expired", "ja")
    # Pressing a Join button made for that code fails the same way, and changes nothing.
    await _press(app, SECOND, f"en:ok:{old.code}")
    assert telegram.texts_to(SECOND)[-1] == t("enrol.error.expired", "ja")
    assert not _person(db, SECOND).has_role(Role.VOLUNTEER)
    # A made-up code, and a code that is not even the right shape.
    await _say(app, SECOND, "/start inv_AAAAAAAAAAAAAAAAAAAAAA", language_code="ja")
    await _say(app, SECOND, "/start inv_x", language_code="ja")
    assert telegram.texts_to(SECOND)[-2:] == [t("enrol.error.invalid", "ja")] * 2

    await _say(app, RESIDENT, "/invite volunteer river_1 electrical", language_code="ko")
    assert telegram.texts_to(RESIDENT)[-1] == t("enrol.error.cannot_invite", "ko")
    await _say(app, RESIDENT, "/volunteer remove #1 because", language_code="ko")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 1  # the desk's old one only
        assert (
            session.scalar(
                select(func.count()).select_from(PersonEvent).where(PersonEvent.kind == "role_removed")
            )
            == 0
        )
    # A grid member may not place volunteers in another grid's micro-grid.
    await _say(app, GRID_MEMBER_RIVER, "/invite volunteer red_1 electrical")
    assert telegram.texts_to(GRID_MEMBER_RIVER)[-1] == t(
        "enrol.error.not_allowed", "zh-Hans", role="volunteer", grid="red_1"
    )
    await _say(app, GRID_MEMBER_RIVER, "/invite volunteer river_1 juggling")
    assert "juggling" in telegram.texts_to(GRID_MEMBER_RIVER)[-1]


async def test_reloading_the_knowledge_base_keeps_an_enrolment_and_a_removal_made_in_chat(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    code, _ = await _invite(app, GRID_MEMBER_RIVER, "/invite volunteer river_1 cleaning")
    await _say(app, SECOND, f"/start inv_{code}", language_code="en")
    await _press(app, SECOND, f"en:ok:{code}")
    roster_volunteer = _person(db, 900000001)  # vol_river_1, from the roster
    await _say(app, GRID_MEMBER_RIVER, f"/volunteer remove #{roster_volunteer.id} 搬走了")
    assert "#" + str(roster_volunteer.id) in telegram.texts_to(GRID_MEMBER_RIVER)[-1]
    await _say(
        app, GRID_MEMBER_RIVER, f"/volunteer skills #{_person(db, SECOND).id} cleaning,care 会照顾老人"
    )

    report = load(db, PROJECT_ROOT / "knowledge")  # what `xijin knowledge load` does at every start

    assert report.kinds["people"].added == []
    enrolled, removed = _person(db, SECOND), _person(db, 900000001)
    assert [(r.role, r.grid_code) for r in enrolled.roles if r.role == Role.VOLUNTEER] == [
        ("volunteer", RIVER_1)
    ]
    assert enrolled.volunteer is not None and enrolled.volunteer.skills == ["cleaning", "care"]
    assert not removed.has_role(Role.VOLUNTEER) and removed.volunteer is None
    with db.session() as session:
        events = session.scalars(select(PersonEvent).where(PersonEvent.kind == "role_removed")).all()
        assert [(e.person_id, e.actor_id, e.reason, e.data["grids"]) for e in events] == [
            (removed.id, _person(db, GRID_MEMBER_RIVER).id, "搬走了", [RIVER_1])
        ]


async def test_two_people_pressing_join_on_one_link_at_once_enrol_one(db: Database, app: Application) -> None:
    code, _ = await _invite(app, GRID_MEMBER_RIVER, "/invite volunteer river_1 roads")
    for user in RACERS:
        await _say(app, user, f"/start inv_{code}", language_code="en")
    telegram = _telegram(app)
    # Both presses are processed at once: the handlers run their database work in threads.
    await asyncio.gather(*(_press(app, user, f"en:ok:{code}") for user in RACERS))
    winners = [u for u in RACERS if _person(db, u).has_role(Role.VOLUNTEER)]
    assert len(winners) == 1
    loser = next(u for u in RACERS if u not in winners)
    assert telegram.texts_to(loser)[-1] == t("enrol.error.used", "en")
    with db.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(PersonEvent).where(PersonEvent.kind == "enrolled")
            )
            == 1
        )


async def test_a_multilingual_guide_ticket_goes_to_the_guiding_teams_on_duty_members(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    with db.session() as session:
        # A category that needs what only the 多语讲解 teams offer (no micro-grid volunteer has the skill).
        guide = session.get(IssueCategory, "lighting")
        assert guide is not None
        session.add(
            IssueCategory(
                code="guide_request",
                names={"zh-Hans": "需要多语讲解", "en": "Guide wanted"},
                keywords={},
                skill="multilingual_guide",
                urgency="normal",
                emergency=False,
                accept_sla_minutes=30,
                resolve_sla_minutes=240,
                content_hash="test",
                active=True,
            )
        )
    # The desk adds an enrolled volunteer of hill_1 to the foreign-language guides, in chat.
    code, _ = await _invite(app, DESK, "/invite volunteer hill_1")
    await _say(app, NEW_VOLUNTEER, f"/start inv_{code}", language_code="en")
    await _press(app, NEW_VOLUNTEER, f"en:ok:{code}")
    await _say(app, NEW_VOLUNTEER, "/duty on")
    newcomer = _person(db, NEW_VOLUNTEER)
    await _say(app, DESK, f"/team guides_foreign add #{newcomer.id} 会说日语")
    with db.session() as session:
        members = [p.external_key for p in team_members(session, "guides_foreign")]
        assert members[0] == ROSTER_PREFIX + "vol_red_3" and f"telegram:{NEW_VOLUNTEER}" in members
        # The roster guides are off duty: of the two teams' members only the newcomer is on duty.
        for key in ("vol_red_3", "vol_red_5", "vol_red_7"):
            other = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + key))
            assert other is not None
            set_duty(session, other, False)
        tourist = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + "cm_2"))
        assert tourist is not None
        ticket = file_report(
            session,
            reporter=tourist,
            category_code="guide_request",
            grid_code="red_2",
            description="English guide?",
            now=utcnow(),
        ).ticket
        assert ticket.owner_id == newcomer.id
        routed = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "routed")
        ).all()
        considered = {c["person_id"]: c for c in routed[-1].data["routing"]["candidates"]}
        assert (
            considered[newcomer.id]["team"] == "guides_foreign" and considered[newcomer.id]["local"] is False
        )
        assert {considered[p.id]["why"] for p in team_members(session, "guides_students")} == {"off duty"}
    await _relay(db, app)
    assert _button(telegram.to(NEW_VOLUNTEER), "tk:acc:")


async def test_an_invitation_made_with_buttons_offers_only_the_grids_the_inviter_is_above(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    await _say(app, GRID_MEMBER_RIVER, "/invite")
    roles = [b["callback_data"] for b in telegram.to(GRID_MEMBER_RIVER)[-1].buttons()]
    assert roles == ["en:r:volunteer"]  # a grid member places volunteers, not grid members
    await _press(app, GRID_MEMBER_RIVER, "en:r:volunteer")
    grids = [b["callback_data"] for b in telegram.to(GRID_MEMBER_RIVER)[-1].buttons()]
    assert grids == [f"en:g:volunteer:river_{n}" for n in (1, 2, 3, 4)]
    # A forged button for another grid is checked again, not trusted.
    await _press(app, GRID_MEMBER_RIVER, "en:g:volunteer:red_1")
    assert telegram.to(GRID_MEMBER_RIVER, "sendPhoto") == []
    await _press(app, GRID_MEMBER_RIVER, "en:g:volunteer:river_2")
    code = LINK.search(telegram.to(GRID_MEMBER_RIVER, "sendPhoto")[-1].text)
    assert code is not None
    with db.session() as session:
        made = session.scalars(select(Invitation)).one()
        assert (made.role, made.grid_code, made.skills) == ("volunteer", "river_2", [])
