"""Races with real concurrent connections: Accept, the sweeper, idempotent filing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from community.database import Database
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.tickets import AlreadyTaken, accept, escalate_overdue, file_report
from community.tickets import filing as ticket_filing
from community.tickets.models import Assignment, Ticket, TicketEvent, TicketState
from tests.tickets.world import IN_M1, T0, World, events, file, later, ticket


def _race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) for i < n in n threads released at the same moment; results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _volunteers_assigned(database: Database, ticket_id: int, n: int) -> list[int]:
    """n extra volunteers of M1, each with an active assignment on the ticket (as after an alert)."""
    ids = []
    with database.session() as s:
        for i in range(n):
            person = Person(
                external_key=f"test:crowd{i}",
                telegram_id=5000 + i,
                chat_id=str(5000 + i),
                display_name=f"Crowd Volunteer {i}",
                preferred_language="zh-Hans",
                roles=[PersonRole(role=Role.VOLUNTEER, grid_code="M1")],
                volunteer=VolunteerProfile(on_duty=True, skills=["electric"]),
            )
            s.add(person)
            s.flush()
            s.add(Assignment(ticket_id=ticket_id, person_id=person.id, level=0, active=True, created_at=T0))
            ids.append(person.id)
    return ids


def _concurrent_accepts(database: Database, world: World, n: int) -> None:
    t = file(database, world, "alice", "streetlight", IN_M1).ticket
    crowd = _volunteers_assigned(database, t.id, n)

    def press(i: int) -> int:
        with database.session() as s:
            accept(s, t.id, s.get(Person, crowd[i]), 2, now=later(1))
        return crowd[i]

    results = _race(n, press)
    winners = [r for r in results if isinstance(r, int)]
    taken = [r for r in results if isinstance(r, AlreadyTaken)]
    others = [r for r in results if not isinstance(r, int | AlreadyTaken)]
    assert others == []
    assert len(winners) == 1 and len(taken) == n - 1
    winner = winners[0]
    name = f"Crowd Volunteer {crowd.index(winner)}"
    assert {e.winner_name for e in taken} == {name}
    assert {e.winner_id for e in taken} == {winner}
    final = ticket(database, t.id)
    assert final.state == TicketState.ACCEPTED and final.owner_id == winner and final.version == 3
    assert [e.kind for e in events(database, t.id)] == ["created", "routed", "accepted"]


@pytest.mark.postgres
def test_fifty_concurrent_accepts_on_postgres(pg: Database, pg_world: World) -> None:
    _concurrent_accepts(pg, pg_world, 50)


def test_concurrent_accepts_on_sqlite(sqlite_db: Database, sqlite_world: World) -> None:
    _concurrent_accepts(sqlite_db, sqlite_world, 12)


def test_two_sweepers_escalate_each_overdue_ticket_once(db: Database, world: World) -> None:
    ids = []
    for i in range(24):
        point = (32.2102 + (i % 6) * 0.0005, 119.4302 + (i // 6) * 0.0009)  # all in grid G1, > 50 m apart
        ids.append(file(db, world, "alice", "streetlight", point, now=later(i % 5)).ticket.id)

    results = _race(2, lambda i: escalate_overdue(db, later(100), batch_size=4, lease_seconds=60))
    assert all(isinstance(r, list) for r in results), results
    first, second = results
    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)
    with db.session() as s:
        counts = dict(
            s.execute(
                select(TicketEvent.ticket_id, func.count())
                .where(TicketEvent.kind == "escalated")
                .group_by(TicketEvent.ticket_id)
            ).all()
        )
        assert counts == dict.fromkeys(ids, 1)
        assert {t.escalation_level for t in s.scalars(select(Ticket))} == {1}
    # and a third sweep finds nothing left for this deadline
    assert escalate_overdue(db, later(100)) == []


def test_the_same_message_files_one_ticket(db: Database, world: World) -> None:
    first = file(db, world, "alice", "streetlight", IN_M1, source_key="telegram:42:7")
    again = file(db, world, "alice", "streetlight", IN_M1, source_key="telegram:42:7", now=later(3))
    assert first.created and not again.created and again.ticket.id == first.ticket.id
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1


def test_concurrent_filing_of_one_message_files_one_ticket(db: Database, world: World) -> None:
    def submit(i: int) -> tuple[int, bool]:
        with db.session() as s:
            result = file_report(
                s,
                reporter=world.person(s, "alice"),
                category_code="streetlight",
                lat=IN_M1[0],
                lon=IN_M1[1],
                source_key="telegram:42:99",
                now=later(0),
            )
            return result.ticket.id, result.created

    results = _race(8, submit)
    assert all(isinstance(r, tuple) for r in results), results
    assert len({tid for tid, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1


def test_insert_race_is_caught_with_a_savepoint(
    db: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both checks miss (as when another worker commits in between): the unique key decides."""
    first = file(db, world, "alice", "streetlight", IN_M1, source_key="telegram:1:5").ticket
    real = ticket_filing._by_source_key
    calls = {"n": 0}

    def blind_then_real(session: Any, key: str) -> Ticket | None:
        calls["n"] += 1
        return None if calls["n"] <= 2 else real(session, key)

    monkeypatch.setattr(ticket_filing, "_by_source_key", blind_then_real)
    with db.session() as s:
        result = file_report(
            s,
            reporter=world.person(s, "alice"),
            category_code="streetlight",
            lat=IN_M1[0],
            lon=IN_M1[1],
            source_key="telegram:1:5",
            now=later(1),
        )
        assert not result.created and result.ticket.id == first.id
        # the transaction is still usable after the rolled-back savepoint
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
    assert calls["n"] == 3


def test_sqlite_sweeper_skips_tickets_leased_by_another(sqlite_db: Database, sqlite_world: World) -> None:
    db = sqlite_db
    a = file(db, sqlite_world, "alice", "streetlight", IN_M1).ticket
    b = file(db, sqlite_world, "sato", "litter", (32.2115, 119.4360)).ticket
    with db.session() as s:
        s.get(Ticket, a.id).sweep_lease_until = later(100)  # another sweeper holds it until then
    assert escalate_overdue(db, later(90)) == [b.id]
    assert ticket(db, a.id).escalation_level == 0
    assert escalate_overdue(db, later(101)) == [a.id]  # its lease ran out: now it is ours
    assert ticket(db, a.id).sweep_lease_until is None


@pytest.mark.postgres
def test_postgres_sweeper_skips_rows_locked_by_another(pg: Database, pg_world: World) -> None:
    a = file(pg, pg_world, "alice", "streetlight", IN_M1).ticket
    b = file(pg, pg_world, "sato", "litter", (32.2115, 119.4360)).ticket
    with pg.session() as other:
        other.execute(select(Ticket.id).where(Ticket.id == a.id).with_for_update())
        # while another sweeper's transaction holds the row, this one takes the rest without waiting
        assert escalate_overdue(pg, later(90)) == [b.id]
    assert escalate_overdue(pg, later(90)) == [a.id]
