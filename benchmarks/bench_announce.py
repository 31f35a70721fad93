"""Announcement benchmark: one announcement to 1,000 subscribers through the real relay and the real
python-telegram-bot Bot (its rate limiter as in production) against the fake Bot API server
(tests/fakes/bot_api_server.py, a real HTTP server), with 1% of the subscribers having blocked the bot.

Not a test. Run it from the project root:

    .venv/bin/python benchmarks/bench_announce.py [--subscribers 1000] [--postgres]

It reports the send rate as Telegram would see it (the most messages accepted in any one second, overall and
per chat: Telegram allows about 30 a second overall and 1 a second per chat), the mean rate and the time to
reach everyone, and how long a ticket notification filed in the middle of the broadcast waited. The figures
go to docs/benchmarks.md, section "Announcements" (other sections are left as they are).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from benchmarks.report import write_section  # noqa: E402
from bot.pipeline import Assistant  # noqa: E402
from bot.rasa_client import RasaClient  # noqa: E402
from bot.telegram.app import build_application  # noqa: E402
from bot.telegram.jobs import Relay  # noqa: E402
from community.database import Database, utcnow  # noqa: E402
from community.knowledge.loader import load  # noqa: E402
from community.language.service import set_translator  # noqa: E402
from community.language.translate import NullTranslator  # noqa: E402
from community.migrate import upgrade  # noqa: E402
from community.outbox.models import OutboxMessage, OutboxStatus  # noqa: E402
from community.outbox.service import enqueue  # noqa: E402
from community.outreach import announce  # noqa: E402
from community.outreach.models import Announcement, Subscription  # noqa: E402
from community.people.models import Person, PersonRole, Role  # noqa: E402
from community.people.service import get_or_create_person  # noqa: E402
from community.settings import Settings  # noqa: E402
from tests.fakes.bot_api_server import FakeBotApi  # noqa: E402

AREA = "red_1"
FIRST_USER = 950_000_001
DESK = 950_000_000
VOLUNTEER = 949_999_999
LANGUAGES = ["zh-Hans"] * 6 + ["en", "ja", "ko", "zh-Hant"]
NOTICE = "明天上午9点至11点西入口停水检修，请提前储水。"
TELEGRAM_OVERALL, TELEGRAM_PER_CHAT = 30, 1


def prepare(database: Database, subscribers: int) -> tuple[int, list[int]]:
    """The subscribers, the desk and a volunteer; returns the announcement id and the blocked users."""
    now = utcnow()
    with database.session() as session:
        desk = get_or_create_person(session, f"telegram:{DESK}", telegram_id=DESK, chat_id=str(DESK))
        desk.roles.append(PersonRole(role=Role.DESK, grid_code="xijin"))
        get_or_create_person(session, f"telegram:{VOLUNTEER}", telegram_id=VOLUNTEER, chat_id=str(VOLUNTEER))
        for i in range(subscribers):
            user = FIRST_USER + i
            person = get_or_create_person(
                session, f"telegram:{user}", telegram_id=user, chat_id=str(user), language=LANGUAGES[i % 10]
            )
            session.add(Subscription(person_id=person.id, grid_code=AREA, created_at=now))
        session.flush()
        draft = announce.create_draft(session, desk, NOTICE, now)
        announce.set_audience(session, draft, f"micro_grid:{AREA}")
        draft_id = draft.id
    asyncio.run(
        announce.preview(database, draft_id, now)
    )  # texts for every language (offline: converted/original)
    with database.session() as session:
        draft = session.get(Announcement, draft_id)
        assert draft is not None
        announce.add_translation(draft, "en", "Water off at the West Entrance tomorrow 9–11 am.")
    blocked = [FIRST_USER + i for i in range(0, subscribers, 100)]  # 1%
    return draft_id, blocked


def max_in_window(moments: list[float], window: float = 1.0) -> int:
    moments = sorted(moments)
    return max((bisect.bisect_left(moments, at + window) - i for i, at in enumerate(moments)), default=0)


async def broadcast(
    database: Database, settings: Settings, api: FakeBotApi, draft_id: int
) -> dict[str, float]:
    app = build_application(settings, Assistant(database, RasaClient("http://127.0.0.1:9")), run_jobs=False)
    await app.initialize()
    relay = Relay.from_settings(database, settings)
    with database.session() as session:
        draft = session.get(Announcement, draft_id)
        assert draft is not None
        queued = announce.send(session, draft, utcnow())
    started = time.monotonic()
    first_seq = api.sent()[-1].seq if api.sent() else 0
    ticket_at: float | None = None
    passes = 0
    while True:
        counts = await relay.run_once(app.bot)
        passes += 1
        if ticket_at is None and time.monotonic() - started > 5:
            # A task card falls due in the middle of the broadcast.
            with database.session() as session:
                volunteer = session.scalar(select(Person).where(Person.telegram_id == VOLUNTEER))
                assert volunteer is not None
                enqueue(session, volunteer, "ticket_new", {"text": "task card during the broadcast"})
            ticket_at = time.time()
        if not any(counts.values()):
            with database.session() as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.PENDING)
                )
            if not pending:
                break
            await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    announce.settle(database, utcnow())
    await app.shutdown()
    sent = [c for c in api.sent(since=first_seq, method="sendMessage") if c.chat_id not in (DESK, VOLUNTEER)]
    ticket = [c for c in api.sent(chat_id=VOLUNTEER, method="sendMessage")]
    per_chat = Counter(c.chat_id for c in sent)
    moments = [c.at for c in sent]
    by_chat: dict[int | None, list[float]] = {}
    for c in sent:
        by_chat.setdefault(c.chat_id, []).append(c.at)
    with database.session() as session:
        done = session.get(Announcement, draft_id)
        assert done is not None
        report = (done.delivered, done.blocked, done.failed, done.recipients)
    return {
        "queued": queued,
        "delivered": len(sent),
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
        "seconds": elapsed,
        "mean_rate": len(sent) / (max(moments) - min(moments)) if len(moments) > 1 else 0.0,
        "max_1s": max_in_window(moments),
        "max_chat_1s": max(max_in_window(m) for m in by_chat.values()),
        "ticket_wait": (ticket[0].at - ticket_at) if ticket and ticket_at else float("nan"),
        "passes": passes,
        "report": report,
    }


def run(url: str, subscribers: int, journal: Path) -> dict[str, float]:
    upgrade(url)
    database = Database(url)
    load(database, ROOT / "knowledge")
    set_translator(NullTranslator())  # offline: every language gets curated, converted or original text
    draft_id, blocked = prepare(database, subscribers)
    with FakeBotApi() as api:
        for user in blocked:
            api.fault(user, 403, times=-1)
        settings = Settings(
            database_url=url,
            telegram_bot_token="123456:BENCH-TOKEN",
            telegram_api_base_url=api.base_url,
            telegram_api_file_url=api.base_url.replace("/bot", "/file/bot"),
            telegram_rate_limiter=True,
            outbox_journal_dir=journal,
        )
        figures = asyncio.run(broadcast(database, settings, api, draft_id))
    database.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL (XIJIN_BENCH_POSTGRES) too")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run(
            f"sqlite:///{Path(tmp) / 'bench.db'}", args.subscribers, Path(tmp) / "journal"
        )
        if args.postgres:
            from sqlalchemy import create_engine

            base = os.environ.get("XIJIN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
            admin = create_engine(
                "postgresql+psycopg://" + base.removeprefix("postgresql://"), isolation_level="AUTOCOMMIT"
            )
            name = f"xijin_bench_announce_{os.getpid()}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = base.rsplit("/", 1)[0] + "/" + name
                results["PostgreSQL"] = run(url, args.subscribers, Path(tmp) / "journal-pg")
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    rate = Settings().announce_rate_per_second
    stamp = time.strftime("%Y-%m-%d %H:%M")
    lines = [
        "## Announcements",
        "",
        f"`make bench-announce` ({platform.node()}, {os.cpu_count()} cores, {stamp}): "
        f"one announcement to {args.subscribers:,} subscribers of one micro-grid through the real relay and "
        "python-telegram-bot's Bot with the production rate limiter, against the fake Bot API server (real "
        f"HTTP on loopback); 1% of them blocked the bot; the micro-grid's roster staff "
        f"receive it too. Broadcast pace ANNOUNCE_RATE_PER_SECOND = {rate:g}; "
        f"Telegram allows about {TELEGRAM_OVERALL}/s overall and {TELEGRAM_PER_CHAT}/s per chat.",
        "",
        "| database | reached everyone in | mean rate | most in any 1 s | most to one chat in 1 s "
        "| report (delivered / blocked / failed of) | duplicates | task card filed mid-broadcast waited |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for name, r in results.items():
        delivered, blocked, failed, total = r["report"]  # type: ignore[misc]
        lines.append(
            f"| {name} | {r['seconds']:.1f} s | {r['mean_rate']:.1f}/s | {r['max_1s']} | {r['max_chat_1s']} "
            f"| {delivered} / {blocked} / {failed} of {total} | {r['duplicates']} "
            f"| {r['ticket_wait'] * 1000:.0f} ms |"
        )
        within = r["max_1s"] <= TELEGRAM_OVERALL and r["max_chat_1s"] <= TELEGRAM_PER_CHAT
        print(f"{name}: {r}  within Telegram's limits: {within}")
    write_section("Announcements", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
