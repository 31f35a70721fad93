"""The hotline's clock: working-time deadlines from knowledge/calendar.yml (nights, weekends, holidays, 调休),
around the clock for urgent categories; one warning per deadline; "still on it" for long-open tickets."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from community.database import Database
from community.knowledge.calendar import load_calendar
from community.knowledge.schema import KnowledgeError, load_knowledge
from community.people.models import Person
from community.tickets import accept, escalate_overdue, rate, resolve
from community.tickets.clock import add_working, community_calendar, working_minutes
from community.tickets.clock_sweep import sweep_clock
from community.tickets.metrics import compute_metrics
from community.tickets.models import IssueCategory, Ticket
from tests.knowledge import KNOWLEDGE_DIR, copy_knowledge, edit_yaml, entry
from tests.tickets.world import IN_M1, IN_M2, World, events, file, messages, ticket

ZONE = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    """A moment given in Zhenjiang's time, as the aware UTC datetime the code takes."""
    return datetime(*args, tzinfo=ZONE).astimezone(UTC)


def holder(session: Session, ticket_id: int) -> Person:
    found = session.get(Ticket, ticket_id)
    assert found is not None and found.owner_id is not None
    person = session.get(Person, found.owner_id)
    assert person is not None
    return person


def working(db: Database, *codes: str) -> None:
    """The world's categories run around the clock (the column's default); these on working hours."""
    with db.session() as s:
        for code in codes:
            category = s.get(IssueCategory, code)
            assert category is not None
            category.sla_clock = "working_hours"


# --- the calendar and its arithmetic ---------------------------------------------------------------------


def test_a_deadline_skips_the_night_the_weekend_and_lunch() -> None:
    cal = community_calendar()
    # Friday 4 Dec 2026, 23:00 + 120 working minutes: Monday 7 Dec, 08:30 + 2 h.
    assert add_working(local(2026, 12, 4, 23, 0), 120, cal, ZONE) == local(2026, 12, 7, 10, 30)
    # 11:30 + 60: half an hour before lunch, half an hour after it.
    assert add_working(local(2026, 12, 8, 11, 30), 60, cal, ZONE) == local(2026, 12, 8, 14, 0)
    assert add_working(local(2026, 12, 8, 9, 0), 0, cal, ZONE) == local(2026, 12, 8, 9, 0)
    # The way back: the working minutes between two moments.
    assert working_minutes(local(2026, 12, 4, 23, 0), local(2026, 12, 7, 10, 30), cal, ZONE) == 120


def test_national_day_is_off_and_the_tiaoxiu_saturday_is_worked() -> None:
    cal = community_calendar()
    # Wed 30 Sep 2026 17:00: half an hour left that day, 1–7 Oct are holidays, Thu 8 Oct is a working day.
    assert add_working(local(2026, 9, 30, 17, 0), 120, cal, ZONE) == local(2026, 10, 8, 10, 0)
    # Fri 9 Oct 17:00: Saturday 10 Oct is an adjusted working day (国庆节调休).
    assert add_working(local(2026, 10, 9, 17, 0), 120, cal, ZONE) == local(2026, 10, 10, 10, 0)
    # …while an ordinary Saturday (17 Oct) is not.
    assert add_working(local(2026, 10, 16, 17, 0), 120, cal, ZONE) == local(2026, 10, 19, 10, 0)
    # Spring Festival 2026: 15–23 Feb off, Saturday 14 Feb worked.
    assert add_working(local(2026, 2, 13, 17, 30), 30, cal, ZONE) == local(2026, 2, 14, 9, 0)
    assert add_working(local(2026, 2, 14, 17, 30), 30, cal, ZONE) == local(2026, 2, 24, 9, 0)


def test_the_calendar_lists_2026_as_published_and_2027_as_provisional() -> None:
    cal = load_calendar(KNOWLEDGE_DIR)
    assert cal.years == (2026, 2027)
    assert len([d for d in cal.holidays if d.year == 2026]) == 33
    assert sorted(str(d) for d in cal.working_days if d.year == 2026) == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    assert all(d.weekday() >= 5 for d in cal.working_days)


def _calendar_problem(tmp_path: Path, change) -> str:  # type: ignore[no-untyped-def]
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "calendar.yml", change)
    with pytest.raises(KnowledgeError) as error:
        load_calendar(directory)
    return str(error.value)


def test_a_bad_calendar_names_file_entry_and_field(tmp_path: Path) -> None:
    def weekday_as_tiaoxiu(d: dict) -> None:  # type: ignore[type-arg]
        d["years"][0]["working_days"].append({"date": datetime(2026, 12, 8).date(), "name": "wrong"})

    message = _calendar_problem(tmp_path / "a", weekday_as_tiaoxiu)
    assert "calendar.yml: entry '2026': field 'working_days[6].date': 2026-12-08 is a weekday" in message

    def bad_span(d: dict) -> None:  # type: ignore[type-arg]
        d["working_hours"]["tue"] = ["8:30-12:00"]

    assert "field 'working_hours.tue[0]'" in _calendar_problem(tmp_path / "b", bad_span)

    def wrong_year(d: dict) -> None:  # type: ignore[type-arg]
        d["years"][1]["holidays"][0]["date"] = datetime(2026, 1, 1).date()

    message = _calendar_problem(tmp_path / "c", wrong_year)
    assert "entry '2027': field 'holidays[0].date': 2026-01-01 is not in 2027" in message

    def backwards(d: dict) -> None:  # type: ignore[type-arg]
        d["adjusted_day_hours"] = ["17:00-08:00"]
        d["clock"]["warn_at_share_of_sla"] = 1.5

    message = _calendar_problem(tmp_path / "d", backwards)
    assert "field 'clock.warn_at_share_of_sla'" in message


def test_a_category_states_its_clock_and_urgent_ones_run_around_the_clock(tmp_path: Path) -> None:
    assert {c.id: c.sla_clock for c in load_knowledge(KNOWLEDGE_DIR).categories}[
        "sanitation"
    ] == "working_hours"
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "categories.yml",
        lambda d: entry(d["categories"], "fire").update(sla_clock="working_hours"),
    )
    edit_yaml(directory, "categories.yml", lambda d: entry(d["categories"], "noise").pop("sla_clock"))
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(directory)
    message = str(error.value)
    assert (
        "categories.yml: entry 'fire': field 'sla_clock': must be around_the_clock for 'emergency'" in message
    )
    assert "entry 'noise': field 'sla_clock': required but missing" in message


# --- deadlines of real tickets ---------------------------------------------------------------------------


def test_at_night_an_ordinary_ticket_waits_for_the_morning_and_an_urgent_one_climbs(
    db: Database, world: World
) -> None:
    working(db, "litter")
    night = local(2026, 12, 4, 23, 0)  # a Friday
    litter = file(db, world, "alice", "litter", IN_M1, now=night).ticket
    leak = file(db, world, "kim", "plumbing", IN_M1, now=night).ticket
    assert litter.due_at == local(2026, 12, 7, 9, 30)  # Monday, 60 working minutes after 08:30
    assert leak.due_at == night + timedelta(minutes=30)

    assert escalate_overdue(db, night + timedelta(minutes=31)) == [leak.id]
    for moment in (local(2026, 12, 5, 3, 0), local(2026, 12, 6, 22, 0), local(2026, 12, 7, 9, 29)):
        assert litter.id not in escalate_overdue(db, moment)
    assert ticket(db, litter.id).escalation_level == 0
    assert litter.id in escalate_overdue(db, local(2026, 12, 7, 9, 31))
    escalated = ticket(db, litter.id)
    assert escalated.escalation_level == 1
    assert escalated.due_at == local(2026, 12, 7, 10, 31)  # the grid member's hour is working time too


def test_a_holiday_and_a_tiaoxiu_saturday_set_the_deadline(db: Database, world: World) -> None:
    working(db, "litter")
    before_holiday = file(db, world, "alice", "litter", IN_M1, now=local(2026, 9, 30, 17, 15)).ticket
    assert before_holiday.due_at == local(2026, 10, 8, 9, 15)  # 15 minutes on 30 Sep, 45 on 8 Oct
    before_saturday = file(db, world, "kim", "litter", IN_M1, now=local(2026, 10, 9, 17, 0)).ticket
    assert before_saturday.due_at == local(2026, 10, 10, 9, 0)  # Saturday 10 Oct is worked
    assert escalate_overdue(db, local(2026, 10, 5, 12, 0)) == []  # nothing climbs during the holiday


def test_the_holder_is_warned_once_before_the_accept_deadline(db: Database, world: World) -> None:
    working(db, "litter")
    t = file(db, world, "alice", "litter", IN_M1, now=local(2026, 12, 7, 9, 0)).ticket
    assert t.due_at == local(2026, 12, 7, 10, 0)
    assert t.warn_at == local(2026, 12, 7, 9, 48)  # 80 % of the hour
    owner = t.owner_id
    assert owner is not None
    assert sweep_clock(db, local(2026, 12, 7, 9, 47))["warned"] == []
    assert sweep_clock(db, local(2026, 12, 7, 9, 49))["warned"] == [t.id]
    for minute in (50, 55, 59):
        assert sweep_clock(db, local(2026, 12, 7, 9, minute))["warned"] == []
    warnings = [m for m in messages(db, owner) if m.kind == "clock.warning"]
    assert len(warnings) == 1
    card = warnings[0].payload
    assert "接单时限快到了" in card["text"] and f"tk:acc:{t.id}:{t.version}" in str(card["buttons"])
    assert [e.data["deadline"] for e in events(db, t.id) if e.kind == "warned"] == ["accept"]
    assert ticket(db, t.id).version == t.version  # the card's buttons stay good

    # A new deadline (accepted: the resolve deadline) gets its own warning, once.
    with db.session() as s:
        accepted = accept(s, t.id, holder(s, t.id), t.version, now=local(2026, 12, 7, 9, 55))
        resolve_warning = accepted.warn_at
    assert resolve_warning is not None and resolve_warning > local(2026, 12, 7, 9, 55)
    assert sweep_clock(db, resolve_warning + timedelta(minutes=1))["warned"] == [t.id]
    assert sweep_clock(db, resolve_warning + timedelta(minutes=2))["warned"] == []
    assert [e.data["deadline"] for e in events(db, t.id) if e.kind == "warned"] == ["accept", "resolve"]


def test_sweepers_at_once_warn_each_holder_once(db: Database, world: World) -> None:
    working(db, "litter")
    # Twelve places in M1 more than 50 m apart (outside M1A), so that none is a duplicate of another.
    places = [
        (lat, lon) for lat in (32.2102, 32.2108, 32.2124) for lon in (119.4302, 119.4308, 119.4325, 119.4338)
    ]
    filed = [
        file(db, world, "alice", "litter", place, now=local(2026, 12, 7, 9, 0) + timedelta(seconds=n)).ticket
        for n, place in enumerate(places)
    ]
    assert len({t.id for t in filed}) == 12 and all(t.state == "dispatched" for t in filed)
    moment = local(2026, 12, 7, 9, 50)
    results: list[list[int]] = []
    barrier = threading.Barrier(3)

    def sweeper() -> None:
        barrier.wait()
        results.append(sweep_clock(db, moment)["warned"])

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handled = sorted(i for result in results for i in result)
    assert handled == sorted(t.id for t in filed)
    for t in filed:
        assert [e.kind for e in events(db, t.id)].count("warned") == 1
    assert sum(m.kind == "clock.warning" for m in messages(db)) == len(filed)


def test_a_long_open_ticket_tells_its_reporter_it_is_still_on(db: Database, world: World) -> None:
    working(db, "litter")
    t = file(db, world, "alice", "litter", IN_M1, now=local(2026, 12, 7, 9, 0)).ticket
    # 24 working hours: Monday 7 h (from 09:00), Tuesday and Wednesday 7.5 h each, Thursday 2 h.
    assert t.nudge_at == local(2026, 12, 10, 10, 30)
    assert sweep_clock(db, local(2026, 12, 10, 10, 29))["nudged"] == []
    assert sweep_clock(db, local(2026, 12, 10, 10, 31))["nudged"] == [t.id]
    assert sweep_clock(db, local(2026, 12, 10, 10, 32))["nudged"] == []
    told = [m for m in messages(db, world.id("alice")) if m.kind == "clock.still_on_it"]
    assert len(told) == 1 and "still on report" in told[0].payload["text"]
    # The next one 24 working hours on: Thu 5:29 + Fri 7:30 + Mon 7:30 + Tue 3:31 (past lunch).
    assert ticket(db, t.id).nudge_at == local(2026, 12, 15, 13, 31)


def test_the_three_rates_count_against_working_hour_deadlines(db: Database, world: World) -> None:
    working(db, "litter")
    night = local(2026, 12, 4, 23, 0)
    in_time = file(db, world, "alice", "litter", IN_M1, now=night).ticket  # due Monday 09:30
    late = file(db, world, "kim", "litter", IN_M2, now=night + timedelta(minutes=1)).ticket
    with db.session() as s:
        # Accepted Monday 09:00: ten hours of night after filing, yet within the working-hours SLA.
        done = accept(s, in_time.id, holder(s, in_time.id), in_time.version, now=local(2026, 12, 7, 9, 0))
        done = resolve(
            s, done.id, holder(s, done.id), done.version, note="已清理", now=local(2026, 12, 7, 9, 30)
        )
        rate(s, done.id, world.person(s, "alice"), score=5, now=local(2026, 12, 7, 10, 0))
    assert escalate_overdue(db, local(2026, 12, 7, 9, 32)) == [late.id]  # the other one missed it
    late_now = ticket(db, late.id)
    with db.session() as s:
        accept(s, late.id, holder(s, late.id), late_now.version, now=local(2026, 12, 7, 9, 40))
    with db.session() as s:
        metrics = compute_metrics(s, night - timedelta(hours=1), local(2026, 12, 8, 0, 0))
    assert (metrics.dispatched, metrics.accepted_within_sla) == (2, 1)
    assert metrics.response_rate == 0.5
    assert metrics.resolution_rate == 0.5
    assert metrics.satisfaction_rate == 1.0


def test_loading_the_knowledge_rejects_a_bad_calendar_with_the_rest(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "calendar.yml", lambda d: d["working_hours"].update(sat="closed"))
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(directory)
    assert "knowledge/calendar.yml: field 'working_hours.sat'" in str(error.value)
