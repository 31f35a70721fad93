"""Routing: place → micro-grid, category → skill → the least-loaded on-duty volunteer, or up the chain."""

from __future__ import annotations

from datetime import timedelta

from community.database import Database
from community.grids import service as grids
from community.grids.models import Grid
from community.people.models import Person, PersonRole
from community.tickets import escalate_overdue, set_duty
from community.tickets.models import Assignment, Ticket, TicketState
from tests.tickets.world import IN_M1, IN_M1A, IN_M2, IN_M3, OUTSIDE, World, box, events, file, last_message


def _routed(db: Database, ticket_id: int) -> dict:
    routed = [e for e in events(db, ticket_id) if e.kind == "routed"]
    assert len(routed) == 1
    return routed[0].data


def test_locate_picks_the_smallest_containing_micro_grid(db: Database, world: World) -> None:
    with db.session() as s:
        assert grids.locate(s, *IN_M1).code == "M1"
        assert grids.locate(s, *IN_M1A).code == "M1A"  # inside M1 too, but M1A is smaller
        assert grids.locate(s, *IN_M3).code == "M3"
        assert grids.locate(s, *OUTSIDE) is None
        assert grids.locate(s, 32.210, 119.431).code == "M1"  # on M1's edge counts as inside
        assert [g.code for g in grids.parent_chain(s, s.get(Grid, "M1A"))] == ["M1A", "G1", "XJ"]
        assert [g.code for g in grids.micro_grids(s)] == ["M1", "M1A", "M2", "M3"]
        assert grids.grid_of_landmark(s, "PAGODA").code == "M2"
        assert grids.grid_of_landmark(s, "PAVILION").code == "M3"  # filed under G2, placed by its point
        assert grids.grid_of_landmark(s, "NOWHERE") is None


def test_polygon_cache_follows_grid_changes(db: Database, world: World) -> None:
    with db.session() as s:
        assert grids.locate(s, *OUTSIDE) is None
    with db.session() as s:
        s.add(
            Grid(
                code="M9",
                parent_code="G2",
                level="micro_grid",
                names={"en": "far"},
                polygon=box(119.49, 32.29, 119.51, 32.31),
                red=False,
                active=True,
                content_hash="",
            )
        )
    with db.session() as s:
        assert grids.locate(s, *OUTSIDE).code == "M9"
    with db.session() as s:
        s.get(Grid, "M9").active = False
    with db.session() as s:
        assert grids.locate(s, *OUTSIDE) is None


def test_polygon_cache_sees_another_process_through_the_fingerprint(db: Database, world: World) -> None:
    with db.session() as s:
        assert grids.locate(s, *IN_M2).code == "M2"
    # Another process (a plain UPDATE, no ORM hooks here) retires M2 and says so in its content hash.
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE grids SET active = false, content_hash = 'v2' WHERE code = 'M2'")
    old_ttl = grids.FINGERPRINT_TTL_SECONDS
    grids.FINGERPRINT_TTL_SECONDS = 0.0
    try:
        with db.session() as s:
            assert grids.locate(s, *IN_M2) is None
    finally:
        grids.FINGERPRINT_TTL_SECONDS = old_ttl


def test_location_routes_to_the_volunteer_of_the_micro_grid(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1A).ticket
    assert t.micro_grid_code == "M1A" and t.grid_code == "G1"
    assert t.owner_id == world.id("v_m1a")
    data = _routed(db, t.id)
    assert data["routing"]["rule"] == "volunteer" and data["routing"]["chosen"] == world.id("v_m1a")
    assert data["skill"] == "electric"


def test_landmark_routes_to_its_micro_grid(db: Database, world: World) -> None:
    t = file(db, world, "alice", "litter", None, landmark_code="PAGODA").ticket
    assert t.micro_grid_code == "M2" and t.owner_id == world.id("v_m2")
    assert (t.lat, t.lon) == (32.2116, 119.4362)  # the landmark's point stands in for the reporter's
    created = events(db, t.id)[0]
    assert created.data["place"]["source"] == "landmark"
    task = last_message(db, world.id("v_m2"), "ticket.task")
    assert task.payload["venue"]["title"] == "昭关石塔 · 昭关微网格"


def test_landmark_filed_under_a_grid_is_placed_by_its_point(db: Database, world: World) -> None:
    t = file(db, world, "alice", "litter", None, landmark_code="PAVILION").ticket
    assert t.micro_grid_code == "M3" and t.grid_code == "G2" and t.owner_id == world.id("v_m3")


def test_picked_grid_code(db: Database, world: World) -> None:
    t = file(db, world, "alice", "litter", None, grid_code="M3").ticket
    assert t.micro_grid_code == "M3" and t.owner_id == world.id("v_m3")
    assert events(db, t.id)[0].data["place"]["source"] == "grid"
    # a picked street grid (not a micro-grid) has no volunteers of its own: its grid member takes it
    t = file(db, world, "alice", "litter", None, grid_code="G2").ticket
    assert t.micro_grid_code is None and t.grid_code == "G2" and t.owner_id == world.id("gm_g2")
    assert t.escalation_level == 1


def test_location_wins_over_landmark_and_grid(db: Database, world: World) -> None:
    t = file(db, world, "alice", "litter", IN_M3, landmark_code="PAGODA", grid_code="M1").ticket
    assert t.micro_grid_code == "M3"


def test_least_loaded_volunteer_wins_and_ties_go_to_the_lower_id(db: Database, world: World) -> None:
    # v_m1_a and v_m1_b both have "electric": equal load → lower id (v_m1_a)
    first = file(db, world, "alice", "streetlight", IN_M1).ticket
    assert first.owner_id == world.id("v_m1_a")
    # v_m1_a now has one open ticket: the next goes to v_m1_b
    second = file(db, world, "sato", "streetlight", (32.2125, 119.4335)).ticket
    assert second.owner_id == world.id("v_m1_b")
    third = file(db, world, "zhang", "streetlight", (32.2100, 119.4339)).ticket
    assert third.owner_id == world.id("v_m1_a")
    data = _routed(db, third.id)["routing"]
    considered = {c["person_id"]: c for c in data["candidates"]}
    assert considered[world.id("v_m1_a")]["open_work"] == 1
    assert considered[world.id("v_m1_b")]["open_work"] == 1
    assert considered[world.id("v_m1_off")] == {
        "person_id": world.id("v_m1_off"),
        "name": "Zhao Lei",
        "level": 0,
        "rule": "volunteer",
        "open_work": 0,
        "eligible": False,
        "why": "off duty",
    }
    assert "least open work" in data["reason"]


def test_off_duty_volunteers_are_skipped_and_duty_can_be_toggled(db: Database, world: World) -> None:
    with db.session() as s:
        set_duty(s, world.person(s, "v_m1_a"), False)
        set_duty(s, world.person(s, "v_m1_b"), False)
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    assert t.owner_id == world.id("gm_g1")  # every electric volunteer of M1 is off duty
    with db.session() as s:
        set_duty(s, world.person(s, "v_m1_off"), True)
    t = file(db, world, "sato", "streetlight", (32.2125, 119.4335)).ticket
    assert t.owner_id == world.id("v_m1_off")


def test_missing_skill_goes_to_the_grid_member(db: Database, world: World) -> None:
    t = file(db, world, "alice", "plumbing", IN_M2).ticket
    assert t.owner_id == world.id("gm_g1") and t.escalation_level == 1
    data = _routed(db, t.id)["routing"]
    assert data["rule"] == "grid_member"
    assert "nobody eligible as volunteer" in data["reason"]
    assert [c["why"] for c in data["candidates"] if c["rule"] == "volunteer"] == ["lacks skill plumbing"]
    ack = last_message(db, world.id("alice"), "ticket.received")
    assert "grid member in charge of Zhaoguan micro-grid" in ack.payload["text"]


def test_unknown_or_missing_category_goes_to_the_desk(db: Database, world: World) -> None:
    for category in (None, "no-such-category"):
        t = file(db, world, "alice", category, IN_M1, description="something odd").ticket
        assert t.owner_id == world.id("desk") and t.category_code is None
        assert _routed(db, t.id)["routing"]["rule"] == "desk"
        task = last_message(db, world.id("desk"), "ticket.task")
        assert "其他问题" in task.payload["text"] and "社区服务台" in task.payload["text"]
    assert events(db, t.id)[0].data["category"] == "no-such-category"


def test_no_place_goes_to_the_desk(db: Database, world: World) -> None:
    t = file(db, world, "alice", "litter", OUTSIDE).ticket
    assert t.micro_grid_code is None and t.owner_id == world.id("desk")
    assert "location outside every micro-grid" in events(db, t.id)[0].data["place"]["notes"]


def test_blocked_volunteer_is_skipped(db: Database, world: World) -> None:
    with db.session() as s:
        s.get(Person, world.id("v_m1a")).blocked_bot = True
    t = file(db, world, "alice", "streetlight", IN_M1A).ticket
    assert t.owner_id == world.id("gm_g1")


def test_exactly_one_owner(db: Database, world: World) -> None:
    ids = [
        file(db, world, "alice", "streetlight", (32.2101 + i * 0.0006, 119.4301)).ticket.id for i in range(5)
    ]
    with db.session() as s:
        for tid in ids:
            active = s.query(Assignment).filter_by(ticket_id=tid, active=True).all()
            assert len(active) == 1
            assert s.get(Ticket, tid).owner_id == active[0].person_id
    for tid in ids:
        data = _routed(db, tid)["routing"]
        assert data["chosen"] is not None


def test_nobody_at_all_keeps_it_new_and_the_sweeper_retries(db: Database, world: World) -> None:
    with db.session() as s:
        s.query(PersonRole).filter(
            PersonRole.role.in_(["volunteer", "grid_member", "committee_member", "desk"])
        ).delete()
    result = file(db, world, "alice", "litter", IN_M3)
    t = result.ticket
    assert t.state == TicketState.NEW and t.owner_id is None and t.due_at is not None
    assert "finding someone" in last_message(db, world.id("alice")).payload["text"]
    with db.session() as s:
        s.add(PersonRole(person_id=world.id("desk"), role="desk"))
    handled = escalate_overdue(db, t.due_at + timedelta(minutes=1))
    assert handled == [t.id]
    with db.session() as s:
        fresh = s.get(Ticket, t.id)
        assert fresh.state == TicketState.DISPATCHED and fresh.owner_id == world.id("desk")


def test_an_unroutable_ticket_is_retried_less_and_less_often_then_daily(db: Database, world: World) -> None:
    """Nobody at all to route to: retries back off (10, 20, 40 … minutes) to one a day, not every 5 minutes
    forever."""
    with db.session() as s:
        s.query(PersonRole).filter(
            PersonRole.role.in_(["volunteer", "grid_member", "committee_member", "desk"])
        ).delete()
    t = file(db, world, "alice", "litter", IN_M3).ticket
    waits = []
    due = t.due_at
    for _ in range(12):
        assert escalate_overdue(db, due + timedelta(seconds=1)) == [t.id]
        with db.session() as s:
            fresh = s.get(Ticket, t.id)
            assert fresh.state == TicketState.NEW and fresh.owner_id is None
            waits.append(fresh.due_at - (due + timedelta(seconds=1)))
            due = fresh.due_at
    minutes = [round(w.total_seconds() / 60) for w in waits]
    assert minutes[:4] == [10, 20, 40, 80]
    assert minutes[-3:] == [24 * 60] * 3  # then once a day
    assert minutes == sorted(minutes)
    # A day of an unroutable ticket is a handful of reminders in the event log, not 288.
    day = [e for e in events(db, t.id) if e.kind == "reminded" and e.at <= t.created_at + timedelta(days=1)]
    assert len(day) <= 10
