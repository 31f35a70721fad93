"""有事好商量 through the real telegram.ext.Application (Telegram faked at the request layer, no Rasa needed)
and the real outbox relay, on SQLite and PostgreSQL: a resident raises a matter with /matter, the desk files
it, three residents of the micro-grid support it (one in Japanese), the threshold tells the desk, the desk
calls a meeting, residents sign up, the desk records the outcome, and it reaches the supporters and the
raiser in their languages; the public page then shows the whole history and no personal data.

Telegram ids of these tests: 813_100_001 … (the range of the matters tests)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.telegram.jobs import Relay
from community.database import Database, utcnow
from community.i18n import t
from community.knowledge.loader import load_into_database
from community.knowledge.schema import load_knowledge
from community.language.service import set_translator
from community.language.translate import Translation
from community.matters.models import Matter, MatterState
from community.matters.service import community_zone
from community.outreach.models import Subscription
from community.people.models import Person, PersonRole, Role
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT, Settings
from tests.integration.conftest import application_without_rasa, feed
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update
from web.app import create_app

DESK = 813_100_001
RAISER = 813_100_002
ZH, EN, JA = 813_100_003, 813_100_004, 813_100_005
OUTSIDER = 813_100_006  # lives in another micro-grid
GRID = "red_1"
MATTER = "西入口的垃圾桶离住户太近，夏天气味很大，希望挪到巷口。"
OUTCOME = "议事会商定：垃圾桶下周一起挪到巷口，由文明旅游队每天巡查一次。"


class Translator:
    """Translations come back marked with their language, so each reader's copy is recognisable."""

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        return Translation(f"【{target}】{text}", source or "zh-Hans", target, "fake", False)


@pytest.fixture
def world(db: Database) -> Iterator[Database]:
    with db.session() as session:
        load_into_database(session, load_knowledge(PROJECT_ROOT / "knowledge"))
    set_translator(Translator())  # type: ignore[arg-type]
    yield db
    set_translator(None)


@pytest.fixture
async def app(world: Database) -> AsyncIterator[Application]:
    async with application_without_rasa(world, rate_limiter=False) as application:
        yield application


def person(db: Database, user: int, language: str, *, grid: str | None = None, desk: bool = False) -> int:
    with db.session() as session:
        who = get_or_create_person(
            session, f"telegram:{user}", telegram_id=user, chat_id=str(user), language=language
        )
        if desk:
            who.roles.append(PersonRole(role=Role.DESK, grid_code="xijin"))
        session.flush()
        if grid is not None:
            session.add(Subscription(person_id=who.id, grid_code=grid, created_at=utcnow()))
        return who.id


def plain(text: str) -> str:
    return html.unescape(text)


def button(calls: list[Call], prefix: str) -> str:
    for call in reversed(calls):
        for b in call.buttons():
            if str(b.get("callback_data", "")).startswith(prefix):
                return str(b["callback_data"])
    raise AssertionError(f"no button {prefix}… in {[(c.text[:40], c.buttons()) for c in calls]}")


async def relay_all(app: Application, db: Database) -> int:
    relay, sent = Relay(db), 0
    while True:
        counts = await relay.run_once(app.bot)
        sent += counts["sent"]
        if not any(counts.values()):
            return sent


def telegram_of(app: Application) -> FakeTelegram:
    return app.bot_data["telegram"]


async def test_a_matter_gathers_support_a_meeting_decides_and_the_outcome_reaches_everyone_in_their_language(
    app: Application, world: Database
) -> None:
    db, telegram = world, telegram_of(app)
    person(db, DESK, "zh-Hans", desk=True)
    person(db, RAISER, "zh-Hans", grid=GRID)
    person(db, ZH, "zh-Hans", grid=GRID)
    person(db, EN, "en", grid=GRID)
    person(db, JA, "ja", grid=GRID)
    person(db, OUTSIDER, "ko", grid="river_1")

    # The resident raises it: the bot knows their micro-grid (their one subscription) and asks for the text.
    await feed(app, message_update(RAISER, "/matter", language_code="zh-hans"))
    assert plain(telegram.texts_to(RAISER)[-1]) == t("matters.ask_text", "zh-Hans")
    await feed(app, message_update(RAISER, MATTER, language_code="zh-hans"))
    with db.session() as session:
        matter = session.scalars(select(Matter)).one()
        matter_id, ref = matter.id, matter.ref
        assert (matter.grid_code, matter.state, matter.text) == (GRID, MatterState.RAISED, MATTER)
    assert ref in plain(telegram.texts_to(RAISER)[-1])
    assert f"/matters/{ref}" in plain(telegram.texts_to(RAISER)[-1])  # the public page's link

    # The desk hears of it, and files it under an area and a standard from /matters.
    await relay_all(app, db)
    assert any(ref in plain(text) and MATTER in plain(text) for text in telegram.texts_to(DESK))
    await feed(app, message_update(DESK, "/matters", language_code="zh-hans"))
    await feed(app, callback_update(DESK, button(telegram.to(DESK), f"mt:f:{matter_id}")))
    await feed(app, callback_update(DESK, button(telegram.to(DESK), f"mt:a:{matter_id}:environment")))
    await feed(app, callback_update(DESK, button(telegram.to(DESK), f"mt:t:{matter_id}:env_litter_points")))
    assert plain(telegram.texts_to(DESK)[-1]) == t(
        "matters.filed", "zh-Hans", ref=ref, area="环境卫生", standard="垃圾投放点设置"
    )

    # The residents of the micro-grid get it in their languages with a Support button.
    telegram.clear()
    await relay_all(app, db)
    assert plain(telegram.texts_to(EN)[-1]).startswith("🗣 A matter for the neighbourhood")
    assert f"【en】{MATTER}" in plain(telegram.texts_to(EN)[-1])
    assert plain(telegram.texts_to(JA)[-1]).startswith("🗣 みんなで話し合う議題")
    assert f"【ja】{MATTER}" in plain(telegram.texts_to(JA)[-1])
    assert t(
        "matters.raiser.filed", "zh-Hans", ref=ref, area="环境卫生", standard="垃圾投放点设置", threshold=3
    ) in [plain(x) for x in telegram.texts_to(RAISER)]

    # Someone of another micro-grid is thanked and not counted; pressing twice counts once.
    await feed(app, callback_update(OUTSIDER, f"mt:s:{matter_id}"))
    assert plain(telegram.texts_to(OUTSIDER)[-1]) == t("matters.support.not_resident", "ko", ref=ref)
    for user in (ZH, EN):
        await feed(app, callback_update(user, button(telegram.to(user), f"mt:s:{matter_id}")))
    await feed(app, callback_update(EN, f"mt:s:{matter_id}"))
    assert plain(telegram.texts_to(EN)[-1]) == t(
        "matters.support.already", "en", ref=ref, count=2, threshold=3
    )
    await relay_all(app, db)
    assert not any("✅" in text for text in telegram.texts_to(DESK))  # not yet: two of three
    await feed(app, callback_update(JA, button(telegram.to(JA), f"mt:s:{matter_id}")))
    assert plain(telegram.texts_to(JA)[-1]) == t(
        "matters.support.counted", "ja", ref=ref, count=3, threshold=3
    )

    # The threshold tells the desk, with the button to call the meeting.
    await relay_all(app, db)
    threshold = [c for c in telegram.to(DESK) if c.text.startswith("✅")]
    assert len(threshold) == 1 and ref in threshold[0].text
    await feed(app, callback_update(DESK, button(threshold, f"mt:m:{matter_id}")))
    assert plain(telegram.texts_to(DESK)[-1]) == t("matters.ask_meeting", "zh-Hans", ref=ref)
    day = (utcnow().astimezone(community_zone()) + timedelta(days=7)).strftime("%Y-%m-%d")
    await feed(app, message_update(DESK, f"{day} 19:30 西津渡社区议事厅", language_code="zh-hans"))
    assert plain(telegram.texts_to(DESK)[-1]).startswith(
        f"📅 事项 {ref} 的议事会已召集：{day} 19:30，西津渡社区议事厅"
    )

    # Invitations (units concerned, 两代表一委员) and the residents' notices, each with a Sign-up button.
    telegram.clear()
    await relay_all(app, db)
    with db.session() as session:
        committee = session.scalars(
            select(Person.telegram_id).join(PersonRole).where(PersonRole.role == Role.COMMITTEE_MEMBER)
        ).all()
    assert committee and all(any("📅" in x for x in telegram.texts_to(int(c))) for c in committee)
    assert plain(telegram.texts_to(EN)[-1]).startswith(f"📅 A meeting on matter {ref}")
    for user in (EN, JA):
        await feed(app, callback_update(user, button(telegram.to(user), f"mt:j:{matter_id}")))
    await relay_all(app, db)
    assert plain(telegram.texts_to(EN)[-1]).startswith(
        f"✅ You are signed up for the meeting on matter {ref}"
    )
    assert plain(telegram.texts_to(JA)[-1]).startswith(f"✅ 議題 {ref} の協議会に申し込みました")

    # The desk records the outcome; it reaches the raiser and the three supporters in their languages.
    await feed(app, message_update(DESK, "/matters", language_code="zh-hans"))
    await feed(app, callback_update(DESK, button(telegram.to(DESK), f"mt:o:{matter_id}")))
    await feed(app, message_update(DESK, OUTCOME, language_code="zh-hans"))
    assert plain(telegram.texts_to(DESK)[-1]).startswith(f"📌 事项 {ref} 的结果已记录")
    telegram.clear()
    await relay_all(app, db)
    expected = {
        RAISER: ("📌 事项", OUTCOME),
        ZH: ("📌 事项", OUTCOME),
        EN: ("📌 The outcome of the meeting", f"【en】{OUTCOME}"),
        JA: ("📌 議題", f"【ja】{OUTCOME}"),
    }
    for user, (head, body) in expected.items():
        outcome = [plain(x) for x in telegram.texts_to(user) if plain(x).startswith(head)]
        assert len(outcome) == 1 and body in outcome[0], (user, telegram.texts_to(user))
    assert not telegram.texts_to(OUTSIDER)

    # The public page: the whole history, and nobody's name, id or phone.
    with db.session() as session:
        people = session.scalars(
            select(Person).where(Person.telegram_id.in_([RAISER, ZH, EN, JA, DESK]))
        ).all()
        secrets = [str(p.telegram_id) for p in people] + [p.external_key for p in people]
    settings = Settings(_env_file=None, database_url=db.url, translation_backend="null")  # type: ignore[call-arg]
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://matters.test") as web:
        page = (await web.get(f"/matters/{ref}?lang=en")).text
    history = re.findall(r"<li><time>[^<]*</time> <span>([^<]*)</span>", page)
    assert [html.unescape(h) for h in history] == [
        "A resident raised the matter (West Entrance & Fifty-Three Steps micro-grid)",
        "The desk filed it: Environment and cleanliness / Where the waste collection points stand",
        "A resident supported it (1 in all)",
        "A resident supported it (2 in all)",
        "A resident supported it (3 in all)",
        "Support reached the threshold (3)",
        f"A meeting was called: {day} 19:30, 西津渡社区议事厅",
        "Someone signed up for the meeting (1 in all)",
        "Someone signed up for the meeting (2 in all)",
        "The meeting decided",
    ]
    assert f"【en】{OUTCOME}" in page and "3/3" in page
    for secret in [*secrets, "Tester"]:
        assert secret not in page


async def test_without_a_known_micro_grid_the_resident_chooses_one_and_cancel_drops_the_matter(
    app: Application, world: Database
) -> None:
    db, telegram = world, telegram_of(app)
    newcomer = 813_100_020
    person(db, newcomer, "en")
    await feed(app, message_update(newcomer, "/matter", language_code="en"))
    assert plain(telegram.texts_to(newcomer)[-1]) == t("matters.ask_grid", "en")
    await feed(app, callback_update(newcomer, button(telegram.to(newcomer), f"mt:g:0:{GRID}")))
    assert plain(telegram.texts_to(newcomer)[-1]) == t("matters.ask_text", "en")
    await feed(app, message_update(newcomer, "no", language_code="en"))  # too short: asked again, politely
    assert plain(telegram.texts_to(newcomer)[-1]) == t("matters.text.too_short", "en", minimum=4)
    await feed(app, message_update(newcomer, "/cancel", language_code="en"))
    await feed(app, message_update(newcomer, "The lamp by the west gate is too dim", language_code="en"))
    with db.session() as session:
        assert session.scalars(select(Matter)).first() is None


async def test_a_resident_cannot_use_the_desk_list_or_its_buttons(app: Application, world: Database) -> None:
    db, telegram = world, telegram_of(app)
    resident = 813_100_030
    person(db, resident, "ja", grid=GRID)
    await feed(app, message_update(resident, "/matter", language_code="ja"))
    await feed(app, message_update(resident, MATTER, language_code="ja"))
    with db.session() as session:
        matter_id = session.scalars(select(Matter.id)).one()
    await feed(app, message_update(resident, "/matters", language_code="ja"))
    assert plain(telegram.texts_to(resident)[-1]) == t("matters.not_desk", "ja")
    for press in (f"mt:f:{matter_id}", f"mt:t:{matter_id}:env_litter_points", f"mt:m:{matter_id}"):
        await feed(app, callback_update(resident, press, language_code="ja"))
        assert plain(telegram.texts_to(resident)[-1]) == t("matters.not_desk", "ja")
    with db.session() as session:
        assert session.get(Matter, matter_id).state == MatterState.RAISED  # type: ignore[union-attr]


async def test_the_deep_link_of_a_filed_matter_shows_it_with_its_support_button(
    app: Application, world: Database
) -> None:
    db, telegram = world, telegram_of(app)
    person(db, DESK, "zh-Hans", desk=True)
    neighbour = 813_100_040
    person(db, RAISER, "zh-Hans", grid=GRID)
    person(db, neighbour, "ko", grid=GRID)
    await feed(app, message_update(RAISER, "/matter", language_code="zh-hans"))
    await feed(app, message_update(RAISER, MATTER, language_code="zh-hans"))
    with db.session() as session:
        matter_id, ref = session.execute(select(Matter.id, Matter.ref)).one()
    await feed(app, callback_update(DESK, f"mt:t:{matter_id}:env_litter_points"))
    await feed(app, message_update(neighbour, f"/start mt_{ref}", language_code="ko"))
    card = telegram.to(neighbour)[-1]
    assert plain(card.text).startswith(f"🗣 안건 {ref}")
    assert f"【ko】{MATTER}" in plain(card.text)
    await feed(app, callback_update(neighbour, button([card], f"mt:s:{matter_id}")))
    assert plain(telegram.texts_to(neighbour)[-1]) == t(
        "matters.support.counted", "ko", ref=ref, count=1, threshold=3
    )
    await feed(app, message_update(neighbour, "/start mt_mnothere", language_code="ko"))
    assert plain(telegram.texts_to(neighbour)[-1]) == t("matters.unknown", "ko")
