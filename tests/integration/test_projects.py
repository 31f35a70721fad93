"""Needs as projects (便民服务联认) as people live it: through the real telegram.ext.Application (Telegram
faked at the request layer, no Rasa), the outbox relay, SQLite and PostgreSQL, with the real knowledge base.

A Korean resident's report becomes a project at the desk, is published, a merchant's contact person claims it,
the desk confirms, the contact completes it with a note; the resident (Korean), a supporter (English) and a
committee member (Chinese) hear each step in their own language; the claimant's points are credited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update
from telegram.ext import Application

from bot.telegram.jobs import Relay
from community.database import Database, utcnow
from community.i18n import t
from community.knowledge.loader import load
from community.language.service import set_translator
from community.language.translate import Translation
from community.people.models import Person
from community.projects.models import ClaimState, Project, ProjectClaim, ProjectState
from community.settings import PROJECT_ROOT
from community.tickets.filing import file_report
from community.volunteers.points import statement
from community.volunteers.rules import load_rules
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

DESK = 900000033  # desk_1 in knowledge/roster.yml
COMMITTEE = 900000030  # cm_1, reads Chinese
RESIDENT = 811_000_001  # Korean
MERCHANT = 811_000_002  # the contact person of a merchant, reads Japanese
SUPPORTER = 811_000_003  # English
STRANGER = 811_000_004
NEED = "골목에 쓰레기가 쌓여 있어요"
NOTE = "垃圾已经清走了"


class BracketTranslator:
    """A translation anyone can recognise in a test: "[ko] 原文"."""

    name = "bracket"

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        return Translation(f"[{target}] {text}", source or "auto", target, self.name, False)


@pytest.fixture
async def app(db: Database) -> AsyncIterator[Application]:
    load(db, PROJECT_ROOT / "knowledge")
    set_translator(BracketTranslator())
    try:
        async with application_without_rasa(db, rate_limiter=False) as application:
            yield application
    finally:
        set_translator(None)


def _telegram(app: Application) -> FakeTelegram:
    return app.bot_data["telegram"]


async def _say(app: Application, user: int, text: str, **kwargs: Any) -> None:
    await app.process_update(Update.de_json(message_update(user, text, **kwargs), app.bot))


async def _press(app: Application, user: int, data: str) -> None:
    await app.process_update(Update.de_json(callback_update(user, data), app.bot))


async def _relay(db: Database, app: Application) -> None:
    await Relay(db).run_once(app.bot)


def _button(calls: list[Call], prefix: str) -> str:
    found = [
        b["callback_data"]
        for c in calls
        for b in c.buttons()
        if b.get("callback_data", "").startswith(prefix)
    ]
    assert found, f"no button {prefix!r} in {[c.text[:80] for c in calls]}"
    return str(found[-1])


def _person_id(db: Database, telegram_id: int) -> int:
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        assert person is not None
        return person.id


async def test_a_residents_report_becomes_a_project_a_merchant_completes_and_everyone_hears_each_step(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    # Everyone has written to the bot once (their chat is known); the merchant, not yet a contact, is refused.
    await _say(app, RESIDENT, "/mytickets", language_code="ko")
    await _say(app, COMMITTEE, "/project list")
    await _say(app, MERCHANT, "/partner", language_code="ja")
    assert telegram.texts_to(MERCHANT)[-1] == t("projects.error.desk_only", "ja")
    merchant = _person_id(db, MERCHANT)
    await _say(app, DESK, f"/partner contact pot_lid_noodles #{merchant}")
    assert str(merchant) in telegram.texts_to(DESK)[-1]

    with db.session() as session:
        reporter = session.scalar(select(Person).where(Person.telegram_id == RESIDENT))
        assert reporter is not None and reporter.preferred_language == "ko"
        ref = file_report(
            session,
            reporter=reporter,
            category_code="sanitation",
            grid_code="red_3",
            description=NEED,
            description_language="ko",
            now=utcnow(),
        ).ticket.ref

    # The desk turns the report into a project for two hands of cleaning, and publishes it.
    await _say(app, DESK, f"/project new {ref} 2 cleaning")
    draft = telegram.to(DESK)[-1]
    assert NEED in draft.text
    await _press(app, DESK, _button([draft], "pj:pub:"))
    with db.session() as session:
        project = session.scalars(select(Project)).one()
        assert project.state == ProjectState.PUBLISHED and project.requester_id == reporter.id
        project_id = project.id

    # A supporter opens the project's link and supports it.
    await _say(app, SUPPORTER, f"/start pj_{project_id}", language_code="en")
    await _press(app, SUPPORTER, _button(telegram.to(SUPPORTER), f"pj:s:{project_id}"))
    assert telegram.texts_to(SUPPORTER)[-1] == t("projects.reply.supported", "en", id=project_id)

    # The merchant's contact gets the offer in Japanese (the need translated) and claims both hands.
    await _relay(db, app)
    offer = telegram.to(MERCHANT)[-1]
    assert "[ja] " + NEED in offer.text and "🙋" in offer.text
    await _press(app, MERCHANT, _button([offer], "pj:c:"))
    await _press(app, MERCHANT, _button(telegram.to(MERCHANT), f"pj:c:{project_id}:2"))
    assert telegram.texts_to(MERCHANT)[-1] == t("projects.reply.claimed", "ja", id=project_id, hands=2)

    # The desk confirms the claim.
    await _relay(db, app)
    await _press(app, DESK, _button(telegram.to(DESK), "pj:ok:"))
    await _relay(db, app)
    confirmed = telegram.to(MERCHANT)[-1]
    assert "✅" in confirmed.text

    # The contact completes it with a note.
    await _press(app, MERCHANT, _button([confirmed], f"pj:d:{project_id}"))
    await _say(app, MERCHANT, NOTE)
    assert telegram.texts_to(MERCHANT)[-1] == t("projects.reply.completed", "ja", id=project_id)
    await _relay(db, app)

    with db.session() as session:
        project = session.get(Project, project_id)
        assert project is not None and project.state == ProjectState.COMPLETED and project.hands_claimed == 2
        claim = session.scalars(select(ProjectClaim)).one()
        assert claim.state == ClaimState.CONFIRMED and claim.person_id == merchant

    title = {lang: f"[{lang}] {NEED}" for lang in ("zh-Hans", "en")} | {"ko": NEED}
    partner = {"ko": "당원 상점·솥뚜껑면 가게(예시)", "en": "Party-member shop, pot-lid noodles (sample)"}
    partner["zh-Hans"] = "党员商铺·锅盖面馆（示例）"
    # The resident (Korean) and the committee member (Chinese) hear publication, confirmation and completion;
    # the supporter (English), who joined after publication, hears confirmation and completion.
    for user, lang, steps in (
        (RESIDENT, "ko", ("published", "confirmed", "completed")),
        (COMMITTEE, "zh-Hans", ("published", "confirmed", "completed")),
        (SUPPORTER, "en", ("confirmed", "completed")),
    ):
        texts = telegram.texts_to(user)

        def told(step: str, lang: str = lang, texts: list[str] = texts) -> list[str]:
            head = t(
                f"projects.step.{step}",
                lang,
                id=project_id,
                title=title[lang],
                partner=partner[lang],
                hands=2,
                note="",
            ).strip()
            return [text for text in texts if text.startswith(head)]

        for step in steps:
            assert len(told(step)) == 1, (user, step, texts)
        assert f"[{lang}] {NOTE}" in told("completed")[0]
        assert f"/projects/{project_id}" in told("completed")[0]

    # Points for the one who did it.
    with db.session() as session:
        rules = load_rules(PROJECT_ROOT / "knowledge")
        mine = statement(session, rules, merchant, utcnow())
        assert mine.month_lines.get("project_done") == (1, rules.points.project_done) and mine.total == 10


async def test_wrong_roles_bad_answers_and_stale_buttons_are_answered_politely(
    db: Database, app: Application
) -> None:
    telegram = _telegram(app)
    await _say(app, STRANGER, "/project new", language_code="en")
    assert telegram.texts_to(STRANGER)[-1] == t("projects.error.desk_only", "en")
    await _say(app, DESK, "/project new")
    await _say(app, DESK, "为老人搬家具\n三楼，需要力气")
    await _say(app, DESK, "hill_2")
    await _say(app, DESK, "明天")  # not a date: asked again politely
    assert telegram.texts_to(DESK)[-1] == t("projects.error.bad_when", "zh-Hans")
    await _say(app, DESK, "2026-12-12 09:00-11:00")
    await _say(app, DESK, "0")
    assert telegram.texts_to(DESK)[-1] == t("projects.error.bad_hands", "zh-Hans", max=50)
    await _say(app, DESK, "3")
    await _say(app, DESK, "care")
    draft = telegram.to(DESK)[-1]
    assert "为老人搬家具" in draft.text and "2026-12-12 09:00–11:00" in draft.text
    await _press(app, STRANGER, _button([draft], "pj:pub:"))
    assert telegram.texts_to(STRANGER)[-1] == t("projects.error.desk_only", "en")
    await _press(app, DESK, _button([draft], "pj:pub:"))
    with db.session() as session:
        project = session.scalars(select(Project)).one()
        assert project.state == ProjectState.PUBLISHED and project.skills == ["care"]
    await _press(app, STRANGER, f"pj:c:{project.id}:1")
    assert telegram.texts_to(STRANGER)[-1] == t("projects.error.not_partner", "en")
    await _press(app, STRANGER, "pj:c:abc")
    answers = [c.params.get("text") for c in telegram.calls if c.method == "answerCallbackQuery"]
    assert answers[-1] == t("fallback.rephrase", "en")
    await _say(app, STRANGER, "/start pj_999999")
    assert telegram.texts_to(STRANGER)[-1] == t("projects.error.not_found", "en", id=999999)
    await _say(app, DESK, "/project new XJ00000000 2 cleaning")
    assert telegram.texts_to(DESK)[-1] == t("projects.error.no_ticket", "zh-Hans", ref="XJ00000000")
    await _say(app, DESK, "/project new XJ00000000 2 juggling")
    assert telegram.texts_to(DESK)[-1].startswith(
        t("projects.error.bad_skills", "zh-Hans", got="juggling", known="")[:8]
    )
    await _say(app, DESK, "/project cancel " + str(project.id))
    assert telegram.texts_to(DESK)[-1] == t("projects.reply.cancelled", "zh-Hans", id=project.id)
    await _say(app, DESK, "/project cancel " + str(project.id))
    assert telegram.texts_to(DESK)[-1] == t("projects.error.not_open", "zh-Hans", id=project.id)
