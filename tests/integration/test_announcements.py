"""Announcements and subscriptions through the real telegram.ext.Application (Telegram faked at the request
layer, no Rasa needed) and the real outbox relay, on SQLite and PostgreSQL.

Who should receive what is worked out here from knowledge/roster.yml by hand, not with the audience code.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from telegram.ext import Application

from bot.telegram.handlers.announce import settle_job
from bot.telegram.jobs import BROADCAST_BATCH, Relay
from bot.telegram.ratelimit import BroadcastPace
from community.database import Database, utcnow
from community.i18n import t
from community.knowledge.loader import load_into_database
from community.knowledge.schema import load_knowledge
from community.language.service import set_translator
from community.language.translate import Translation, TranslationUnavailable
from community.outbox.models import OutboxMessage
from community.outbox.service import enqueue
from community.outreach.models import Announcement, AnnouncementDelivery, Subscription
from community.people.models import Person, PersonRole, Role
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT
from tests.integration.conftest import application_without_rasa, feed
from tests.integration.telegram_fake import Call, FakeTelegram, callback_update, message_update

DESK = 808_000_100
AREA = "red_1"
OTHER_AREA = "red_2"
NOTICE = "明天上午9点至11点西入口停水检修，请提前储水。"
NOTICE_EN = "Water will be off at the West Entrance tomorrow from 9 to 11 am; please store some water."


class Translator:
    """Japanese comes back marked; Korean cannot be translated (Google unreachable, say)."""

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        if target == "ko":
            raise TranslationUnavailable("no route to Google (fake)")
        return Translation(
            text=f"【{target}】{text}",
            source=source or "zh-Hans",
            target=target,
            backend="fake",
            cached=False,
        )


class FakeClock:
    """The broadcast pace's clock: sleeping moves it on, no real time passes."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


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


def telegram_of(app: Application) -> FakeTelegram:
    return app.bot_data["telegram"]


def person(db: Database, user: int, language: str, *roles: tuple[Role, str | None]) -> int:
    with db.session() as session:
        who = get_or_create_person(
            session, f"telegram:{user}", telegram_id=user, chat_id=str(user), language=language
        )
        who.roles += [PersonRole(role=role, grid_code=grid) for role, grid in roles]
        return who.id


def subscribed(db: Database, user: int, language: str, area: str) -> int:
    person_id = person(db, user, language)
    with db.session() as session:
        session.add(Subscription(person_id=person_id, grid_code=area, created_at=utcnow()))
    return person_id


def staff_of(area: str) -> list[int]:
    """Telegram ids of the roster's staff serving `area` (read from the YAML, by hand)."""
    roster = yaml.safe_load((PROJECT_ROOT / "knowledge" / "roster.yml").read_text(encoding="utf-8"))
    return [p["telegram_id"] for p in roster["people"] if any(r.get("grid") == area for r in p["roles"])]


def plain(text: str) -> str:
    return html.unescape(text)


def button(calls: list[Call], prefix: str) -> str:
    for call in reversed(calls):
        for b in call.buttons():
            if str(b.get("callback_data", "")).startswith(prefix):
                return str(b["callback_data"])
    raise AssertionError(f"no button {prefix}… in {[(c.text[:40], c.buttons()) for c in calls]}")


async def relay_all(app: Application, db: Database, relay: Relay) -> dict[str, int]:
    total = {"sent": 0, "failed": 0, "blocked": 0}
    while True:
        counts = await relay.run_once(app.bot)
        for key, value in counts.items():
            total[key] += value
        if not any(counts.values()):
            return total


def paced_relay(db: Database, clock: FakeClock | None = None) -> Relay:
    clock = clock or FakeClock()
    return Relay(db, pace=BroadcastPace(20, clock=clock, sleep=clock.sleep))


async def write_announcement(app: Application, area: str) -> tuple[int, str]:
    """The desk's steps up to the preview; returns the draft id and the preview's text."""
    telegram = telegram_of(app)
    await feed(app, message_update(DESK, "/announce", language_code="zh-hans"))
    assert plain(telegram.texts_to(DESK)[-1]) == t("outreach.announce.ask_text", "zh-Hans")
    await feed(app, message_update(DESK, NOTICE, language_code="zh-hans"))
    assert plain(telegram.texts_to(DESK)[-1]) == t("outreach.announce.ask_audience", "zh-Hans")
    pick_kind = button(telegram.to(DESK), "an:a:")
    draft = int(pick_kind.split(":")[2])
    await feed(app, callback_update(DESK, f"an:a:{draft}:micro_grid"))
    area_button = button(telegram.to(DESK), f"an:a:{draft}:micro_grid:{area}")
    await feed(app, callback_update(DESK, area_button))
    return draft, plain(telegram.texts_to(DESK)[-1])


async def test_an_announcement_to_one_micro_grid_reaches_its_subscribers_in_their_languages(
    app: Application, world: Database
) -> None:
    db, telegram = world, telegram_of(app)
    person(db, DESK, "zh-Hans", (Role.DESK, "xijin"))
    # Two subscribe in chat (a button, and the area named after the command); the others are set up directly.
    zh, en = 808_000_101, 808_000_102
    await feed(app, message_update(zh, "/subscribe", language_code="zh-hans"))
    await feed(app, callback_update(zh, button(telegram.to(zh), f"sub:+:{AREA}")))
    assert plain(telegram.texts_to(zh)[-1]).startswith(t("outreach.subscribe.done", "zh-Hans", area="")[:4])
    await feed(app, message_update(en, f"/subscribe {AREA}", language_code="en"))
    ja, ko, hant, blocked = 808_000_103, 808_000_104, 808_000_105, 808_000_106
    for user, language in ((ja, "ja"), (ko, "ko"), (hant, "zh-Hant"), (blocked, "en")):
        subscribed(db, user, language, AREA)
    elsewhere = 808_000_107
    subscribed(db, elsewhere, "en", OTHER_AREA)
    telegram.blocked.add(blocked)
    staff = staff_of(AREA)
    assert staff, "roster.yml has nobody serving the micro-grid"

    draft, preview = await write_announcement(app, AREA)
    audience = 6 + len(staff)
    assert f"{audience}" in preview
    assert f"【ja】{NOTICE}" in preview  # machine translation, shown for review
    assert t("outreach.source.machine", "zh-Hans") in preview
    assert t("outreach.source.untranslated", "zh-Hans") in preview  # Korean: no translation could be made

    # The desk writes the English itself.
    await feed(app, callback_update(DESK, f"an:l:{draft}"))
    await feed(app, callback_update(DESK, button(telegram.to(DESK), f"an:l:{draft}:en")))
    assert plain(telegram.texts_to(DESK)[-1]) == t(
        "outreach.announce.ask_translation", "zh-Hans", name="English"
    )
    await feed(app, message_update(DESK, NOTICE_EN, language_code="zh-hans"))
    assert NOTICE_EN in plain(telegram.texts_to(DESK)[-1])
    assert t("outreach.source.curated", "zh-Hans") in plain(telegram.texts_to(DESK)[-1])

    await feed(app, callback_update(DESK, f"an:s:{draft}"))
    assert plain(telegram.texts_to(DESK)[-1]) == t(
        "outreach.announce.queued", "zh-Hans", id=draft, count=audience
    )

    telegram.clear()
    counts = await relay_all(app, db, paced_relay(db))
    assert counts == {"sent": audience - 1, "failed": 0, "blocked": 1}  # the blocked one did not stop it

    def read(user: int) -> str:
        [text] = [plain(x) for x in telegram.texts_to(user)]
        return text

    assert read(zh) == "\n".join([t("outreach.announcement.header", "zh-Hans"), "", NOTICE])
    assert read(en) == "\n".join([t("outreach.announcement.header", "en"), "", NOTICE_EN])
    assert read(ja) == "\n".join(
        [
            t("outreach.announcement.header", "ja"),
            "",
            f"【ja】{NOTICE}",
            t("outreach.announcement.machine", "ja"),
        ]
    )
    assert read(ko) == "\n".join(
        [t("outreach.announcement.header", "ko"), "", t("outreach.announcement.untranslated", "ko"), NOTICE]
    )
    assert read(hant) == "\n".join(
        [t("outreach.announcement.header", "zh-Hant"), "", "明天上午9點至11點西入口停水檢修，請提前儲水。"]
    )
    for volunteer in staff:
        assert len(telegram.texts_to(volunteer)) == 1
    assert telegram.to(elsewhere) == [] and telegram.to(blocked) == []

    # The report: final counts on the announcement, sent to the desk through the outbox.
    telegram.clear()
    await settle_job(_Context(app))  # type: ignore[arg-type]
    await relay_all(app, db, paced_relay(db))
    with db.session() as session:
        done = session.get(Announcement, draft)
        assert done is not None
        assert (done.status, done.recipients, done.delivered, done.blocked, done.failed) == (
            "done",
            audience,
            audience - 1,
            1,
            0,
        )
        assert session.scalar(select(func.count()).select_from(AnnouncementDelivery)) == 0  # rows go
        label = (
            t("outreach.audience.micro_grid", "zh-Hans")
            + " "
            + t("outreach.audience.in", "zh-Hans", area=_area_name(session, AREA))
        )
    report = t(
        "outreach.announce.report",
        "zh-Hans",
        id=draft,
        audience=label,
        delivered=audience - 1,
        blocked=1,
        failed=0,
        total=audience,
    )
    assert [plain(x) for x in telegram.texts_to(DESK)] == [report]
    telegram.clear()
    await feed(app, message_update(DESK, "/announcements", language_code="zh-hans"))
    assert plain(telegram.texts_to(DESK)[-1]) == report


def _area_name(session: Any, code: str) -> str:
    from community.grids.models import Grid

    grid = session.get(Grid, code)
    return grid.names["zh-Hans"]


class _Context:
    """What a JobQueue job receives, as far as the settle job reads it."""

    def __init__(self, app: Application) -> None:
        self.application = app


async def test_after_unsubscribing_no_announcement_arrives(app: Application, world: Database) -> None:
    db, telegram = world, telegram_of(app)
    person(db, DESK, "zh-Hans", (Role.DESK, "xijin"))
    reader = 808_000_110
    await feed(app, message_update(reader, f"/subscribe {AREA}", language_code="en"))
    await feed(app, message_update(reader, "/unsubscribe", language_code="en"))
    await feed(app, callback_update(reader, button(telegram.to(reader), f"sub:-:{AREA}")))
    assert plain(telegram.texts_to(reader)[-1]).startswith("You will no longer receive")
    await feed(app, message_update(reader, "/unsubscribe", language_code="en"))
    assert plain(telegram.texts_to(reader)[-1]) == t("outreach.unsubscribe.none", "en")

    draft, _ = await write_announcement(app, AREA)
    await feed(app, callback_update(DESK, f"an:s:{draft}"))
    telegram.clear()
    await relay_all(app, db, paced_relay(db))
    assert telegram.to(reader) == []


async def test_only_the_desk_can_announce(app: Application, world: Database) -> None:
    db, telegram = world, telegram_of(app)
    person(db, DESK, "zh-Hans", (Role.DESK, "xijin"))
    resident, volunteer = 808_000_120, 808_000_121
    person(db, volunteer, "zh-Hans", (Role.VOLUNTEER, AREA))
    subscribed(db, 808_000_122, "en", AREA)

    for user in (resident, volunteer):
        await feed(app, message_update(user, "/announce", language_code="zh-hans"))
        assert plain(telegram.texts_to(user)[-1]) == t("outreach.announce.not_desk", "zh-Hans")
        await feed(app, message_update(user, "/announcements", language_code="zh-hans"))
        assert plain(telegram.texts_to(user)[-1]) == t("outreach.announce.not_desk", "zh-Hans")
        # Their next text is an ordinary message, not an announcement (it goes to the chat pipeline).
        await feed(app, message_update(user, NOTICE, language_code="zh-hans"))

    # The desk's draft, and a volunteer pressing a forged Send for it: refused, nothing queued.
    draft, _ = await write_announcement(app, AREA)
    await feed(app, callback_update(volunteer, f"an:s:{draft}"))
    [alert] = [c for c in telegram.calls if c.method == "answerCallbackQuery" and c.params.get("show_alert")]
    assert alert.params["text"] == t("outreach.announce.not_desk", "zh-Hans")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert (
            session.scalar(
                select(func.count()).select_from(Announcement).where(Announcement.author_id.is_not(None))
            )
            == 1
        )

    # Another desk member cannot send someone else's draft either.
    other_desk = 808_000_123
    person(db, other_desk, "en", (Role.DESK, "xijin"))
    await feed(app, callback_update(other_desk, f"an:s:{draft}"))
    assert plain(telegram.texts_to(other_desk)[-1]) == t("outreach.announce.stale", "en")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_ticket_notifications_go_before_and_between_broadcast_batches(world: Database) -> None:
    db = world
    async with application_without_rasa(db, rate_limiter=False) as app:
        telegram = telegram_of(app)
        readers = [subscribed(db, 808_000_130 + i, "zh-Hans", AREA) for i in range(25)]
        volunteer = 808_000_129
        volunteer_id = person(db, volunteer, "zh-Hans", (Role.VOLUNTEER, AREA))
        with db.session() as session:
            desk = get_or_create_person(session, f"telegram:{DESK}", telegram_id=DESK, chat_id=str(DESK))
            from community.outreach import announce

            draft = announce.create_draft(session, desk, NOTICE, utcnow())
            announce.set_audience(session, draft, f"micro_grid:{AREA}")
            announce.send(session, draft, utcnow())
            # A task card written after the broadcast was queued.
            enqueue(session, session.get(Person, volunteer_id), "ticket_new", {"text": "task one"})
        assert len(readers) == 25

        clock = FakeClock()
        late: list[str] = []

        async def sleep_and_file(seconds: float) -> None:
            # While the first broadcast batch is on its way, another task card falls due.
            if not late:
                with db.session() as session:
                    enqueue(session, session.get(Person, volunteer_id), "ticket_new", {"text": "task two"})
                late.append("task two")
            await clock.sleep(seconds)

        relay = Relay(db, pace=BroadcastPace(20, clock=clock, sleep=sleep_and_file), broadcast_seconds=60)
        await relay.run_once(app.bot)

        sent = [c for c in telegram.calls if c.method == "sendMessage"]
        assert sent[0].text == "task one"  # before any announcement
        assert sent[1 + BROADCAST_BATCH].text == "task two"  # right after the batch it fell due in
        # The pace: 20 a second, never faster.
        assert all(s == pytest.approx(1 / 20) for s in clock.sleeps)


def test_the_broadcast_pace_keeps_telegrams_limits() -> None:
    clock = FakeClock()
    pace = BroadcastPace(25, clock=clock, sleep=clock.sleep)
    times: list[tuple[int, float]] = []

    async def run() -> None:
        for chat in [1, 2, 3, 1, 4, 1]:
            await pace.wait(chat)
            times.append((chat, clock.now))

    import asyncio

    asyncio.run(run())
    moments = [at for _, at in times]
    assert all(b - a >= 1 / 25 - 1e-9 for a, b in itertools.pairwise(moments))  # ≤ 25 a second overall
    ones = [at for chat, at in times if chat == 1]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(ones))  # ≤ 1 a second per chat
