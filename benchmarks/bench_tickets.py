"""Ticket benchmark: filing + routing one report, and one SLA sweep, on SQLite and PostgreSQL.

Not a test. Run it from the project root:

    .venv/bin/python benchmarks/bench_tickets.py [--tickets 1000] [--sweep 10000] [--only sqlite|postgresql]

It builds a synthetic community (4 grids × 4 micro-grids, 80 volunteers, 4 grid members, 8 committee members,
a desk, 300 reporters, 7 categories), then

1. files N reports one by one, each in its own transaction (as the action server does), at random points
   and categories, with a clock advancing one minute per report (so duplicates within 50 m / 2 h happen
   now and then, as they would), and reports the median and p95 time per report;
2. inserts M open tickets whose accept deadline has passed and times one `escalate_overdue` (every one of
   them moves a level up, with its event, assignment, follower and outbox messages), then a second sweep
   over the same M open tickets, none overdue any more (the cost of the routine sweep every minute).

The figures are written to docs/benchmarks.md, section "Tickets" (other sections are left as they are).
PostgreSQL is the server at XIJIN_BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres);
the benchmark creates a database of its own there and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from benchmarks.report import write_section  # noqa: E402
from community.database import Database  # noqa: E402
from community.grids.models import Grid, GridLevel  # noqa: E402
from community.models import Base  # noqa: E402
from community.outbox.models import OutboxMessage  # noqa: E402
from community.people.models import Person, PersonRole, Role, VolunteerProfile  # noqa: E402
from community.tickets.escalation import escalate_overdue  # noqa: E402
from community.tickets.models import IssueCategory, Ticket, TicketState  # noqa: E402
from community.tickets.service import file_report, new_ref  # noqa: E402
from community.tickets.states import SWEPT  # noqa: E402

START = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
LON0, LAT0 = 119.420, 32.200
CELL = 0.004  # one micro-grid is about 380 m × 450 m
CATEGORIES = [
    ("streetlight", "electric", False, 30, 240),
    ("litter", "cleaning", False, 60, 480),
    ("water_leak", "plumbing", False, 30, 600),
    ("noise", "mediation", False, 120, 1440),
    ("blocked_path", "cleaning", False, 60, 480),
    ("elderly_help", "care", False, 15, 120),
    ("first_aid", "first_aid", True, 5, 60),
]
SKILLS = sorted({c[1] for c in CATEGORIES})


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


@dataclass
class Staff:
    reporters: list[int]
    volunteers: list[int]


def build(database: Database, rng: random.Random) -> Staff:
    volunteers: list[int] = []
    reporters: list[int] = []
    with database.session() as s:
        s.add(
            Grid(
                code="XJ",
                parent_code=None,
                level=GridLevel.COMMUNITY,
                names={"zh-Hans": "西津古渡社区"},
                polygon=box(LON0, LAT0, LON0 + 8 * CELL, LAT0 + 2 * CELL),
                active=True,
            )
        )
        s.flush()
        for g in range(4):
            gx = LON0 + g * 2 * CELL
            s.add(
                Grid(
                    code=f"G{g}",
                    parent_code="XJ",
                    level=GridLevel.GRID,
                    names={"zh-Hans": f"网格{g}"},
                    polygon=box(gx, LAT0, gx + 2 * CELL, LAT0 + 2 * CELL),
                    active=True,
                )
            )
            s.flush()
            for m in range(4):
                mx, my = gx + (m % 2) * CELL, LAT0 + (m // 2) * CELL
                s.add(
                    Grid(
                        code=f"G{g}M{m}",
                        parent_code=f"G{g}",
                        level=GridLevel.MICRO_GRID,
                        names={"zh-Hans": f"微网格{g}-{m}"},
                        polygon=box(mx, my, mx + CELL, my + CELL),
                        active=True,
                    )
                )
        s.flush()
        for code, skill, emergency, accept, resolve in CATEGORIES:
            s.add(
                IssueCategory(
                    code=code,
                    names={"zh-Hans": code, "en": code},
                    keywords={},
                    skill=skill,
                    urgency="emergency" if emergency else "normal",
                    emergency=emergency,
                    accept_sla_minutes=accept,
                    resolve_sla_minutes=resolve,
                    active=True,
                )
            )
        serial = 0

        def person(name: str, roles: list[tuple[Role, str | None]], language: str = "zh-Hans") -> Person:
            nonlocal serial
            serial += 1
            p = Person(
                external_key=f"bench:{serial}",
                telegram_id=10_000 + serial,
                chat_id=str(10_000 + serial),
                display_name=name,
                preferred_language=language,
                roles=[PersonRole(role=r, grid_code=g) for r, g in roles],
            )
            s.add(p)
            return p

        for g in range(4):
            person(f"Grid member {g}", [(Role.GRID_MEMBER, f"G{g}")])
            for m in range(4):
                for v in range(5):
                    p = person(f"Volunteer {g}-{m}-{v}", [(Role.VOLUNTEER, f"G{g}M{m}")])
                    p.volunteer = VolunteerProfile(on_duty=rng.random() < 0.8, skills=rng.sample(SKILLS, 3))
                    s.flush()
                    volunteers.append(p.id)
        for c in range(8):
            person(f"Committee {c}", [(Role.COMMITTEE_MEMBER, "XJ")])
        person("Desk", [(Role.DESK, None)])
        for r in range(300):
            p = person(f"Reporter {r}", [(Role.RESIDENT, None)], rng.choice(["zh-Hans", "en", "ja", "ko"]))
            s.flush()
            reporters.append(p.id)
    return Staff(reporters, volunteers)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


def bench_filing(database: Database, staff: Staff, n: int, rng: random.Random) -> dict[str, Any]:
    timings: list[float] = []
    duplicates = 0
    codes = [c[0] for c in CATEGORIES]
    weights = [20, 25, 10, 10, 10, 5, 1]
    for i in range(n):
        now = START + timedelta(minutes=i)
        category: str | None = rng.choices(codes, weights)[0] if rng.random() > 0.05 else None
        lat = LAT0 + rng.uniform(0.0002, 2 * CELL - 0.0002)
        lon = LON0 + rng.uniform(0.0002, 8 * CELL - 0.0002)
        began = time.perf_counter()
        with database.session() as s:
            reporter = s.get(Person, rng.choice(staff.reporters))
            assert reporter is not None
            result = file_report(
                s,
                reporter=reporter,
                category_code=category,
                lat=lat,
                lon=lon,
                description="路灯不亮" if category == "streetlight" else "请处理",
                source_key=f"bench:{i}",
                now=now,
            )
        timings.append(time.perf_counter() - began)
        duplicates += result.duplicate_of is not None
    ms = [t * 1000 for t in timings]
    return {
        "n": n,
        "median_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 0.95),
        "mean_ms": statistics.fmean(ms),
        "duplicates": duplicates,
    }


def bench_sweep(database: Database, staff: Staff, m: int, rng: random.Random) -> dict[str, Any]:
    now = START + timedelta(days=30)
    with database.session() as s:
        # The reports filed before are open too (and long overdue by now): they count toward the M.
        already = (
            s.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.state.in_(SWEPT), Ticket.due_at.is_not(None))
            )
            or 0
        )
    rows = []
    for i in range(max(0, m - already)):
        g, mg = rng.randrange(4), rng.randrange(4)
        rows.append(
            {
                "ref": new_ref(),
                "channel": "bench",
                "category_code": rng.choice(CATEGORIES[:6])[0],
                "urgency": "normal",
                "state": TicketState.DISPATCHED,
                "version": 2,
                "lat": LAT0 + 0.001,
                "lon": LON0 + 0.001,
                "micro_grid_code": f"G{g}M{mg}",
                "grid_code": f"G{g}",
                "description": "bench",
                "description_language": "zh-Hans",
                "photo_file_ids": [],
                "reporter_id": rng.choice(staff.reporters),
                "owner_id": rng.choice(staff.volunteers),
                "escalation_level": 0,
                "created_at": now - timedelta(hours=3),
                "dispatched_at": now - timedelta(hours=3),
                "due_at": now - timedelta(minutes=1 + i % 60),
            }
        )
    with database.session() as s:
        for start in range(0, len(rows), 1000):
            s.execute(insert(Ticket), rows[start : start + 1000])
    with database.session() as s:
        before = s.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    began = time.perf_counter()
    handled = escalate_overdue(database, now)
    full = time.perf_counter() - began
    assert len(handled) == max(m, already), (len(handled), m, already)
    with database.session() as s:
        messages = (s.scalar(select(func.count()).select_from(OutboxMessage)) or 0) - before
    began = time.perf_counter()
    idle = escalate_overdue(database, now + timedelta(minutes=1))
    quiet = time.perf_counter() - began
    assert idle == []
    count = len(handled)
    return {
        "m": count,
        "full_s": full,
        "per_ticket_ms": full / count * 1000,
        "messages": messages,
        "quiet_ms": quiet * 1000,
    }


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="xijin-bench-") as directory:
        database = Database(f"sqlite:///{Path(directory) / 'bench.db'}")
        Base.metadata.create_all(database.engine)
        try:
            yield database
        finally:
            database.dispose()


@contextmanager
def postgres_database() -> Iterator[Database]:
    admin_url = os.environ.get("XIJIN_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"xijin_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        "postgresql+psycopg://" + admin_url.removeprefix("postgresql://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(f"{admin_url.rsplit('/', 1)[0]}/{name}")
    try:
        Base.metadata.create_all(database.engine)
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_version(database: Database) -> str:
    if database.is_postgres:
        with database.engine.connect() as conn:
            return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar()).split()[0]
    return f"SQLite {sqlite3.sqlite_version} (WAL, file)"


def run(backend: str, n: int, m: int, seed: int) -> dict[str, Any]:
    opener = postgres_database if backend == "postgresql" else sqlite_database
    with opener() as database:
        rng = random.Random(seed)
        staff = build(database, rng)
        filing = bench_filing(database, staff, n, rng)
        print(f"{backend}: filing {filing}", flush=True)
        sweep = bench_sweep(database, staff, m, rng)
        print(f"{backend}: sweep {sweep}", flush=True)
        return {"backend": backend, "version": server_version(database), **filing, **sweep}


def report(results: list[dict[str, Any]], n: int, m: int, load: tuple[float, float]) -> str:
    lines = [
        "## Tickets",
        "",
        f"`benchmarks/bench_tickets.py`, run {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}. Synthetic community: "
        "16 micro-grids in 4 grids, 80 volunteers, 7 categories. Database and benchmark on the same machine, "
        f"which was not idle: load average {load[0]:.1f} at the start and {load[1]:.1f} at the end "
        "(other work running), so read the figures as upper bounds.",
        "",
        f"**File and route one report** (`file_report`, its own transaction, commit included; {n} reports, "
        "random points and categories, one a minute, 5 % without a category, 1 % emergencies):",
        "",
        "| backend | median | p95 | mean | linked as duplicates |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['version']} | {r['median_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['mean_ms']:.1f} ms | "
            f"{r['duplicates']} of {r['n']} |"
        )
    lines += [
        "",
        f"**Sweep** (`escalate_overdue`) over {m:,} open tickets: once with all of them past their accept "
        "deadline (each moves one level up: CAS update, event, assignment, follower, outbox messages), "
        "then the routine sweep a minute later, when none is overdue:",
        "",
        "| backend | all overdue | per ticket | outbox messages written | none overdue |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['version']} | {r['full_s']:.1f} s | {r['per_ticket_ms']:.2f} ms | {r['messages']:,} | "
            f"{r['quiet_ms']:.1f} ms |"
        )
    lines += [
        "",
        "Each filing does about twenty statements: the idempotency check, the category's lock (an advisory "
        "lock on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), the duplicate search, the insert in a savepoint, "
        "candidates and their open work per rung, the compare-and-set, two events, an assignment and two "
        "outbox rows. The sweep commits in batches of 200 (row locks with SKIP LOCKED on PostgreSQL, leases "
        "on SQLite).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--sweep", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    backends = [args.only] if args.only else ["sqlite", "postgresql"]
    load_before = os.getloadavg()[0]
    results = [run(b, args.tickets, args.sweep, args.seed) for b in backends]
    section = report(results, args.tickets, args.sweep, (load_before, os.getloadavg()[0]))
    print(section)
    if not args.no_write:
        write_section("Tickets", section)


if __name__ == "__main__":
    main()
