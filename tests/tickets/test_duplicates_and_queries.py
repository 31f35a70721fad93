"""Duplicates within 50 m and 2 h are linked; people see only what is theirs."""

from __future__ import annotations

import re
from datetime import timedelta

from community.database import Database
from community.grids.geo import haversine_m
from community.settings import PROJECT_ROOT
from community.tickets import (
    accept,
    get_ticket_for_person,
    resolve,
    tasks_for_staff,
    tickets_for_reporter,
)
from community.tickets.models import Follower, TicketState
from tests.tickets.world import IN_M1, World, events, file, last_message, later, messages, ticket

# ~30 m and ~70 m north of IN_M1
NEAR = (IN_M1[0] + 0.00027, IN_M1[1])
FAR = (IN_M1[0] + 0.00063, IN_M1[1])
SOUTH = (IN_M1[0] - 0.00027, IN_M1[1])  # ~30 m south: near the original, ~100 m from FAR


def test_distances() -> None:
    assert 25 < haversine_m(*IN_M1, *NEAR) < 35
    assert 65 < haversine_m(*IN_M1, *FAR) < 75


def test_one_distance_formula_for_the_map_the_duplicates_and_the_knowledge_checks() -> None:
    """The Earth's radius is written once: every great-circle distance is community/grids/geo.py's."""
    written = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for folder in ("community", "bot", "actions", "web")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if re.search(r"6_?371", path.read_text(encoding="utf-8"))
    ]
    assert written == ["community/grids/geo.py"]


def test_same_problem_nearby_is_linked(db: Database, world: World) -> None:
    original = file(db, world, "alice", "streetlight", IN_M1).ticket
    result = file(db, world, "sato", "streetlight", NEAR, now=later(90), description="暗い")
    dup = result.ticket
    assert result.created and result.duplicate_of is not None and result.duplicate_of.id == original.id
    assert dup.state == TicketState.DUPLICATE and dup.duplicate_of_id == original.id and dup.owner_id is None
    assert dup.version == 2
    log = events(db, dup.id)
    assert [(e.kind, e.from_state, e.to_state) for e in log] == [
        ("created", None, "new"),
        ("linked", "new", "duplicate"),
    ]
    assert log[1].data["original_ref"] == original.ref and 25 < log[1].data["distance_m"] < 35
    told = last_message(db, world.id("sato"), "ticket.duplicate")
    assert original.ref in told.payload["text"] and "対応中" in told.payload["text"]
    with db.session() as s:
        follower = s.query(Follower).filter_by(ticket_id=original.id, person_id=world.id("sato")).one()
        assert follower.reason == "duplicate"
    # the original's owner is not disturbed, its version (and buttons) unchanged
    assert ticket(db, original.id).version == 2
    assert [m.kind for m in messages(db, world.id("v_m1_a"))] == ["ticket.task"]

    # the follower hears of the progress, in Japanese, without the rating buttons
    with db.session() as s:
        accept(s, original.id, world.person(s, "v_m1_a"), 2, now=later(95))
    assert "Wang" in last_message(db, world.id("sato"), "ticket.accepted").payload["text"]
    with db.session() as s:
        resolve(s, original.id, world.person(s, "v_m1_a"), 3, note="电工已修好", now=later(100))
    followed = last_message(db, world.id("sato"), "ticket.resolved").payload
    assert "电工已修好" in followed["text"] and "buttons" not in followed
    assert "buttons" in last_message(db, world.id("alice"), "ticket.resolved").payload


def test_not_linked_when_far_late_other_category_or_closed(db: Database, world: World) -> None:
    original = file(db, world, "alice", "streetlight", IN_M1).ticket
    assert file(db, world, "sato", "streetlight", FAR, now=later(10)).duplicate_of is None
    assert file(db, world, "zhang", "streetlight", SOUTH, now=later(121)).duplicate_of is None  # > 2 h
    assert file(db, world, "kim", "litter", NEAR, now=later(10)).duplicate_of is None
    assert file(db, world, "kim", "streetlight", None, now=later(10)).duplicate_of is None  # no place
    with db.session() as s:
        accept(s, original.id, world.person(s, "v_m1_a"), 2, now=later(11))
    with db.session() as s:
        resolve(s, original.id, world.person(s, "v_m1_a"), 3, note="ok", now=later(12))
    # resolved is no longer open: a new report nearby is a new ticket (maybe it is broken again)
    assert file(db, world, "sato", "streetlight", IN_M1, now=later(13)).duplicate_of is None


def test_the_nearest_open_ticket_is_the_original(db: Database, world: World) -> None:
    a = file(db, world, "alice", "streetlight", IN_M1).ticket
    b = file(db, world, "zhang", "streetlight", FAR).ticket
    assert (
        file(db, world, "sato", "streetlight", (FAR[0] - 0.0001, FAR[1]), now=later(5)).duplicate_of.id
        == b.id
    )
    assert a.id != b.id


def test_a_reporter_sees_only_their_own_and_followed_tickets(db: Database, world: World) -> None:
    mine = file(db, world, "alice", "streetlight", IN_M1).ticket
    theirs = file(db, world, "zhang", "litter", (32.2115, 119.4360)).ticket
    dup = file(db, world, "sato", "streetlight", NEAR, now=later(1)).ticket
    with db.session() as s:
        alice, zhang, sato = (world.person(s, k) for k in ("alice", "zhang", "sato"))
        assert get_ticket_for_person(s, mine.ref, alice).id == mine.id
        assert get_ticket_for_person(s, mine.ref.lower(), alice).id == mine.id
        assert get_ticket_for_person(s, theirs.ref, alice) is None
        assert get_ticket_for_person(s, mine.ref, zhang) is None
        assert get_ticket_for_person(s, "XJNOSUCH1", alice) is None
        assert [t.id for t in tickets_for_reporter(s, alice)] == [mine.id]
        assert [t.id for t in tickets_for_reporter(s, zhang)] == [theirs.id]
        # sato filed a duplicate and follows the original
        assert {t.id for t in tickets_for_reporter(s, sato)} == {dup.id, mine.id}
        assert get_ticket_for_person(s, mine.ref, sato).id == mine.id
        # staff: the owner, the grid member, the committee and the desk see it; another grid's member not
        assert get_ticket_for_person(s, mine.ref, world.person(s, "v_m1_a")) is not None
        assert get_ticket_for_person(s, mine.ref, world.person(s, "gm_g1")) is not None
        assert get_ticket_for_person(s, mine.ref, world.person(s, "cm_2")) is not None
        assert get_ticket_for_person(s, mine.ref, world.person(s, "desk")) is not None
        assert get_ticket_for_person(s, mine.ref, world.person(s, "gm_g2")) is None
        assert get_ticket_for_person(s, mine.ref, world.person(s, "v_m1_b")) is None


def test_tasks_for_staff(db: Database, world: World) -> None:
    a = file(db, world, "alice", "streetlight", IN_M1).ticket
    b = file(db, world, "zhang", "streetlight", FAR, now=later(-10)).ticket
    with db.session() as s:
        assert [t.id for t in tasks_for_staff(s, world.person(s, "v_m1_a"))] == [a.id]
        assert [t.id for t in tasks_for_staff(s, world.person(s, "v_m1_b"))] == [b.id]
        accept(s, b.id, world.person(s, "v_m1_b"), 2, now=later(1))
    with db.session() as s:
        tasks = tasks_for_staff(s, world.person(s, "v_m1_b"))
        assert [(t.id, t.state) for t in tasks] == [(b.id, "accepted")]
        assert tasks[0].due_at == later(1) + timedelta(minutes=240)
        assert tasks_for_staff(s, world.person(s, "alice")) == []
