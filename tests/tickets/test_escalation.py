"""The SLA sweeper: one level up per missed deadline, earlier levels kept informed; emergencies at the top."""

from __future__ import annotations

from community.database import Database
from community.tickets import accept, escalate_overdue, rate, resolve, tasks_for_staff
from community.tickets.models import Assignment, Follower, Ticket, TicketState, Urgency
from tests.tickets.world import IN_M1, IN_M2, World, events, file, last_message, later, messages, ticket


def _callbacks(payload: dict) -> list[str]:
    return [b["callback_data"] for row in payload.get("buttons", []) for b in row]


def test_overdue_climbs_the_chain_once_per_missed_deadline(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    assert t.due_at == later(30)
    assert escalate_overdue(db, later(29)) == []
    assert escalate_overdue(db, later(30)) == []  # due_at < now, strictly

    assert escalate_overdue(db, later(31)) == [t.id]
    t = ticket(db, t.id)
    assert (t.escalation_level, t.owner_id, t.state) == (1, world.id("gm_g1"), TicketState.DISPATCHED)
    assert t.due_at == later(61) and t.version == 3
    assert escalate_overdue(db, later(31)) == []  # the same missed deadline is handled once
    assert escalate_overdue(db, later(45)) == []

    task = last_message(db, world.id("gm_g1"), "ticket.task")
    assert "上报给您" in task.payload["text"] and "网格党组织成员" in task.payload["text"]
    assert _callbacks(task.payload) == [f"tk:acc:{t.id}:3", f"tk:dec:{t.id}:3"]
    informed = last_message(db, world.id("v_m1_a"), "ticket.escalated")
    assert "Grid Member One" in informed.payload["text"]
    assert _callbacks(informed.payload) == [f"tk:acc:{t.id}:3"]  # the volunteer may still take it

    assert escalate_overdue(db, later(62)) == [t.id]
    t = ticket(db, t.id)
    assert (t.escalation_level, t.owner_id) == (2, world.id("cm_1"))
    with db.session() as s:
        followers = {(f.person_id, f.reason) for f in s.query(Follower).filter_by(ticket_id=t.id)}
    assert followers == {(world.id("v_m1_a"), "escalation"), (world.id("gm_g1"), "escalation")}
    assert (
        last_message(db, world.id("v_m1_a"), "ticket.escalated").payload["text"].count("Committee One") == 1
    )
    assert last_message(db, world.id("gm_g1"), "ticket.escalated").created_at == later(62)

    # at the top there is nobody above: the owner is reminded and gets a new deadline
    assert escalate_overdue(db, later(93)) == [t.id]
    t = ticket(db, t.id)
    assert (t.escalation_level, t.owner_id, t.due_at) == (2, world.id("cm_1"), later(123))
    assert last_message(db, world.id("cm_1"), "ticket.reminder").created_at == later(93)

    log = events(db, t.id)
    assert [e.kind for e in log] == ["created", "routed", "escalated", "escalated", "reminded"]
    assert log[2].data["cause"] == "overdue" and log[2].data["missed_due_at"] == later(30).isoformat()
    assert (log[3].data["from_level"], log[3].data["to_level"]) == (1, 2)
    assert all(e.actor_role == "system" for e in log[1:])
    # the reporter is not told about escalations
    assert {m.kind for m in messages(db, world.id("alice"))} == {"ticket.received"}


def test_accepted_but_unresolved_escalates_on_the_resolve_deadline(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(5))
    assert escalate_overdue(db, later(200)) == []  # past the accept deadline, but accepted in time
    assert escalate_overdue(db, later(246)) == [t.id]
    t = ticket(db, t.id)
    assert t.state == TicketState.ACCEPTED and t.escalation_level == 1 and t.due_at == later(246 + 240)
    task = last_message(db, world.id("gm_g1"), "ticket.task")
    assert _callbacks(task.payload)[:2] == [f"tk:res:{t.id}:4", f"tk:esc:{t.id}:4"]
    assert _callbacks(task.payload)[-1] == f"xt:ask:{t.id}"
    assert _callbacks(last_message(db, world.id("v_m1_a"), "ticket.escalated").payload) == []


def test_finished_tickets_are_left_alone(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(1))
    with db.session() as s:
        resolve(s, t.id, world.person(s, "v_m1_a"), 3, note="ok", now=later(2))
    assert escalate_overdue(db, later(10_000)) == []
    with db.session() as s:
        rate(s, t.id, world.person(s, "alice"), score=3, now=later(3))
    assert escalate_overdue(db, later(10_000)) == []


def test_emergency_starts_at_the_top_and_alerts_every_level(db: Database, world: World) -> None:
    result = file(db, world, "kim", "first_aid", IN_M2, description="Someone fainted near the pagoda")
    t = result.ticket
    assert t.urgency == Urgency.EMERGENCY and t.escalation_level == 2 and t.owner_id == world.id("cm_1")
    assert t.due_at == later(5)
    alerted = {world.id(k) for k in ("v_m2", "gm_g1", "cm_1", "cm_2")}
    with db.session() as s:
        assigned = {a.person_id for a in s.query(Assignment).filter_by(ticket_id=t.id, active=True)}
        followers = {(f.person_id, f.reason) for f in s.query(Follower).filter_by(ticket_id=t.id)}
    assert assigned == alerted
    assert followers == {(p, "emergency") for p in alerted - {world.id("cm_1")}}
    for key in ("v_m2", "gm_g1", "cm_1", "cm_2"):
        task = last_message(db, world.id(key), "ticket.task")
        assert t.ref in task.payload["text"]
        assert f"tk:acc:{t.id}:2" in _callbacks(task.payload)
    assert "모든 단계" in last_message(db, world.id("cm_2"), "ticket.task").payload["text"]  # Korean member
    ack = last_message(db, world.id("kim"), "ticket.received")
    assert "110" in ack.payload["text"] and "119" in ack.payload["text"] and "120" in ack.payload["text"]
    routed = next(e for e in events(db, t.id) if e.kind == "routed")
    assert routed.data["emergency"] is True
    assert {a["person_id"] for a in routed.data["alerted"]} == alerted

    # the volunteer on the spot takes it; everyone else hears who has it
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m2"), 2, now=later(2))
    t = ticket(db, t.id)
    assert t.owner_id == world.id("v_m2") and t.escalation_level == 2
    for key in ("gm_g1", "cm_1", "cm_2"):
        assert "Sun Li" in last_message(db, world.id(key), "ticket.taken").payload["text"]
    with db.session() as s:
        assert [x.id for x in tasks_for_staff(s, world.person(s, "v_m2"))] == [t.id]
        assert tasks_for_staff(s, world.person(s, "cm_1")) == []  # no longer on their list
    # an overdue emergency has nobody above it: reminders, not escalations
    assert escalate_overdue(db, later(63)) == [t.id]
    assert events(db, t.id)[-1].kind == "reminded"


def test_sweeper_handles_many_tickets_in_batches(db: Database, world: World) -> None:
    ids = []
    for i in range(7):
        point = (32.2105 + (i % 3) * 0.0008, 119.4425 + (i // 3) * 0.0008)  # > 50 m apart: no duplicates
        ids.append(file(db, world, "alice", "litter", point, now=later(i)).ticket.id)
    handled = escalate_overdue(db, later(200), batch_size=3)
    assert sorted(handled) == sorted(ids)
    with db.session() as s:
        levels = {t.escalation_level for t in s.query(Ticket).filter(Ticket.id.in_(ids))}
    assert levels == {1}


def test_a_second_report_of_an_emergency_still_gets_the_emergency_numbers(db: Database, world: World) -> None:
    first = file(db, world, "kim", "first_aid", IN_M2).ticket
    second = file(db, world, "alice", "first_aid", IN_M2, now=later(1))
    assert second.duplicate_of is not None and second.duplicate_of.id == first.id
    told = last_message(db, world.id("alice"), "ticket.duplicate").payload["text"]
    assert "110 police" in told and first.ref in told
