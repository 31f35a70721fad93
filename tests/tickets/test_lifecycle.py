"""The whole loop on both databases: file → route → accept → resolve → rate, and what each step tells whom."""

from __future__ import annotations

import pytest

from community import i18n
from community.database import Database
from community.outbox.models import OutboxMessage
from community.tickets import (
    AlreadyTaken,
    AlreadyYours,
    IllegalTransition,
    InvalidInput,
    NoCandidate,
    NotAllowed,
    StaleVersion,
    accept,
    cancel,
    decline,
    escalate,
    rate,
    reopen,
    resolve,
)
from community.tickets.models import Assignment, Follower, Rating, TicketState
from community.tickets.queries import tasks_for_staff, visible_contact
from tests.tickets.world import IN_M1, IN_M2, World, events, file, last_message, later, messages, ticket


def _callbacks(message: OutboxMessage) -> list[str]:
    return [b["callback_data"] for row in message.payload.get("buttons", []) for b in row]


def _thread_row(ticket_id: int) -> list[str]:
    """The conversation's buttons on the holder's card (community/tickets/thread_notify.py)."""
    return [f"th:ask:{ticket_id}", f"th:msg:{ticket_id}", f"th:cn:{ticket_id}"]


def _texts(message: OutboxMessage) -> list[str]:
    return [b["text"] for row in message.payload.get("buttons", []) for b in row]


def test_full_loop(db: Database, world: World) -> None:
    result = file(
        db,
        world,
        "alice",
        "streetlight",
        IN_M1,
        description="Light <b>out</b> & flickering",
        description_language="en",
        description_zh="路灯不亮，一直闪",
        photo_file_ids=["photo-1"],
        contact="+86 138 0000 0000",
        source_key="telegram:1:1",
    )
    assert result.created and result.duplicate_of is None
    t = result.ticket
    assert t.state == TicketState.DISPATCHED and t.version == 2
    assert t.ref.startswith("XJ") and len(t.ref) == 10
    assert t.micro_grid_code == "M1" and t.grid_code == "G1" and t.escalation_level == 0
    assert t.owner_id == world.id("v_m1_a")  # least loaded, lowest id
    assert t.due_at == later(30)

    task = last_message(db, world.id("v_m1_a"), "ticket.task")
    payload = task.payload
    assert payload["parse_mode"] == "HTML"
    assert "路灯故障" in payload["text"] and "待渡亭微网格" in payload["text"]
    assert "Light &lt;b&gt;out&lt;/b&gt; &amp; flickering" in payload["text"]  # user text escaped
    assert "路灯不亮，一直闪" in payload["text"]
    assert "2025-05-01 10:30" in payload["text"]  # the accept deadline in Asia/Shanghai
    assert "+86 138 0000 0000" in payload["text"]  # the owner holds it
    assert payload["photos"] == ["photo-1"]
    assert payload["venue"]["latitude"] == IN_M1[0] and payload["venue"]["title"] == "待渡亭微网格"
    assert _callbacks(task) == [f"tk:acc:{t.id}:2", f"tk:dec:{t.id}:2"]
    assert _texts(task) == ["接单", "无法接单"]
    assert all(len(c.encode()) <= 64 for c in _callbacks(task))

    ack = last_message(db, world.id("alice"), "ticket.received")
    assert t.ref in ack.payload["text"] and "Broken street light" in ack.payload["text"]
    assert "the volunteer on duty at Ferry Pavilion micro-grid" in ack.payload["text"]

    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(10))
    t = ticket(db, t.id)
    assert t.state == TicketState.ACCEPTED and t.version == 3 and t.due_at == later(10 + 240)
    mine = last_message(db, world.id("v_m1_a"), "ticket.accepted")
    assert _callbacks(mine) == [f"tk:res:{t.id}:3", f"tk:esc:{t.id}:3", *_thread_row(t.id), f"xt:ask:{t.id}"]
    told = last_message(db, world.id("alice"), "ticket.accepted")
    assert "Wang from our team has taken your report" in told.payload["text"]  # the surname only
    assert "Fang" not in told.payload["text"]

    with db.session() as s:
        with pytest.raises(InvalidInput) as err:
            resolve(s, t.id, world.person(s, "v_m1_a"), 3, note="   ", now=later(60))
        assert err.value.field == "note"
    with db.session() as s:
        resolve(
            s,
            t.id,
            world.person(s, "v_m1_a"),
            3,
            note="Replaced the bulb",
            photo_file_ids=["after-1"],
            now=later(60),
        )
    t = ticket(db, t.id)
    assert t.state == TicketState.RESOLVED and t.version == 4 and t.due_at is None
    done = last_message(db, world.id("alice"), "ticket.resolved")
    assert "Replaced the bulb" in done.payload["text"] and done.payload["photos"] == ["after-1"]
    assert _callbacks(done) == [f"rt:{t.id}:{n}" for n in range(1, 6)] + [f"rt:{t.id}:nf"]
    assert _texts(done)[-1] == "Not fixed"

    with db.session() as s:
        rate(s, t.id, world.person(s, "alice"), score=5, now=later(90))
    t = ticket(db, t.id)
    assert t.state == TicketState.CLOSED and t.version == 5 and t.closed_at == later(90)
    assert "rated it 5/5" not in last_message(db, world.id("v_m1_a")).payload["text"]  # zh volunteer
    assert "5/5" in last_message(db, world.id("v_m1_a"), "ticket.closed").payload["text"]

    log = events(db, t.id)
    assert [e.kind for e in log] == ["created", "routed", "accepted", "resolved", "rated"]
    assert [(e.from_state, e.to_state) for e in log] == [
        (None, "new"),
        ("new", "dispatched"),
        ("dispatched", "accepted"),
        ("accepted", "resolved"),
        ("resolved", "closed"),
    ]
    assert [e.actor_role for e in log] == ["reporter", "system", "volunteer", "volunteer", "reporter"]
    assert log[2].actor_id == world.id("v_m1_a") and log[2].channel == "telegram"
    assert log[3].reason == "Replaced the bulb"
    assert log[4].data == {"rating": 5}
    with db.session() as s:
        ratings = s.query(Rating).all()
        assert [(r.score, r.not_fixed) for r in ratings] == [(5, False)]


def test_illegal_transitions_name_ticket_state_and_step(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s, pytest.raises(IllegalTransition) as err:
        resolve(s, t.id, world.person(s, "v_m1_a"), t.version, note="done", now=later(1))
    assert err.value.ref == t.ref and err.value.state == "dispatched" and err.value.step == "resolve"
    assert t.ref in str(err.value) and "dispatched" in str(err.value) and "resolve" in str(err.value)
    assert err.value.localized("en") == f"{t.ref} is currently “dispatched”, so resolving is not possible."
    assert t.ref in err.value.localized("zh-Hans") and "已派单" in err.value.localized("zh-Hans")

    with db.session() as s, pytest.raises(IllegalTransition):
        rate(s, t.id, world.person(s, "alice"), score=4, now=later(1))
    with db.session() as s, pytest.raises(IllegalTransition) as err:
        reopen(s, t.id, world.person(s, "alice"), t.version, reason="again", now=later(1))
    assert err.value.step == "reopen"
    assert ticket(db, t.id).version == t.version  # nothing changed
    assert len(events(db, t.id)) == 2


def test_stale_version_carries_current_state(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(1))
    with db.session() as s, pytest.raises(StaleVersion) as err:
        resolve(s, t.id, world.person(s, "v_m1_a"), 2, note="done", now=later(2))
    assert err.value.state == "accepted" and err.value.current == 3 and err.value.expected == 2
    assert "being handled" in err.value.localized("en")
    with db.session() as s, pytest.raises(StaleVersion):
        decline(s, t.id, world.person(s, "v_m1_a"), 99, now=later(2))


def test_second_accept_is_already_taken_and_names_the_winner(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "gm_g1"), 2, now=later(1))  # the grid member may accept
    with db.session() as s, pytest.raises(AlreadyTaken) as err:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(2))
    assert err.value.winner_name == "Grid Member One" and err.value.winner_id == world.id("gm_g1")
    assert "Grid Member One" in err.value.localized("en")
    t = ticket(db, t.id)
    assert t.owner_id == world.id("gm_g1") and t.escalation_level == 1
    # the volunteer it was sent to is told someone else has it
    assert "Grid Member One" in last_message(db, world.id("v_m1_a"), "ticket.taken").payload["text"]


@pytest.mark.parametrize("language", ["zh-Hans", "en", "ja"])
def test_accepting_ones_own_ticket_again_says_it_is_already_yours(
    db: Database, world: World, language: str
) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(1))
    with db.session() as s, pytest.raises(AlreadyYours) as err:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(2))
    assert err.value.localized(language) == i18n.t("ticket.error.yours", language, ref=t.ref)
    assert ticket(db, t.id).owner_id == world.id("v_m1_a")


def test_who_may_accept(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    for outsider in ("alice", "zhang", "v_m1_b", "gm_g2", "desk"):
        with db.session() as s, pytest.raises(NotAllowed):
            accept(s, t.id, world.person(s, outsider), 2, now=later(1))
    with db.session() as s:
        accept(s, t.id, world.person(s, "cm_2"), 2, now=later(1))  # any committee member may
    assert ticket(db, t.id).escalation_level == 2


def test_the_reporter_may_not_accept_even_as_staff(db: Database, world: World) -> None:
    t = file(db, world, "cm_1", "streetlight", IN_M1).ticket
    with db.session() as s, pytest.raises(NotAllowed):
        accept(s, t.id, world.person(s, "cm_1"), 2, now=later(1))


def test_not_fixed_reopens_and_goes_back_to_the_owner(db: Database, world: World) -> None:
    t = file(db, world, "sato", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(1))
    with db.session() as s:
        resolve(s, t.id, world.person(s, "v_m1_a"), 3, note="fixed", now=later(5))
    with db.session() as s:
        rate(s, t.id, world.person(s, "sato"), not_fixed=True, now=later(30))
    t = ticket(db, t.id)
    assert t.state == TicketState.REOPENED and t.version == 5 and t.due_at == later(60)
    log = events(db, t.id)
    assert log[-1].kind == "reopened" and log[-1].data["rating"] == "not_fixed"
    task = last_message(db, world.id("v_m1_a"), "ticket.task")
    assert _callbacks(task) == [f"tk:acc:{t.id}:5", f"tk:dec:{t.id}:5"]
    assert "重新打开" in task.payload["text"]
    with db.session() as s:
        assert [x.id for x in tasks_for_staff(s, world.person(s, "v_m1_a"))] == [t.id]
    # accept again, resolve again, and a score closes it
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 5, now=later(31))
    with db.session() as s:
        resolve(s, t.id, world.person(s, "v_m1_a"), 6, note="really fixed", now=later(40))
    with db.session() as s:
        with pytest.raises(InvalidInput):
            rate(s, t.id, world.person(s, "sato"), score=6, now=later(41))
    with db.session() as s:
        with pytest.raises(NotAllowed):
            rate(s, t.id, world.person(s, "alice"), score=5, now=later(41))
    with db.session() as s:
        rate(s, t.id, world.person(s, "sato"), score=4, now=later(41))
    assert ticket(db, t.id).state == TicketState.CLOSED


def test_reopen_needs_a_reason(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(1))
    with db.session() as s:
        resolve(s, t.id, world.person(s, "v_m1_a"), 3, note="ok", now=later(2))
    with db.session() as s, pytest.raises(InvalidInput) as err:
        reopen(s, t.id, world.person(s, "alice"), 4, reason=" ", now=later(3))
    assert err.value.field == "reason"
    with db.session() as s, pytest.raises(NotAllowed):
        reopen(s, t.id, world.person(s, "sato"), 4, reason="not mine", now=later(3))
    with db.session() as s:
        reopen(s, t.id, world.person(s, "alice"), 4, reason="still dark at night", now=later(3))
    t = ticket(db, t.id)
    assert t.state == TicketState.REOPENED
    assert "still dark at night" in last_message(db, world.id("v_m1_a")).payload["text"]


def test_decline_passes_to_the_next_candidate_then_up_the_chain(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    assert t.owner_id == world.id("v_m1_a")
    with db.session() as s:
        decline(s, t.id, world.person(s, "v_m1_a"), 2, reason="not in the area", now=later(5))
    t = ticket(db, t.id)
    assert t.owner_id == world.id("v_m1_b") and t.state == TicketState.DISPATCHED and t.version == 3
    assert t.due_at == later(35)
    task = last_message(db, world.id("v_m1_b"), "ticket.task")
    assert _callbacks(task)[0] == f"tk:acc:{t.id}:3"
    with db.session() as s:
        decline(s, t.id, world.person(s, "v_m1_b"), 3, now=later(6))
    t = ticket(db, t.id)
    assert t.owner_id == world.id("gm_g1") and t.escalation_level == 1  # no volunteer left
    with db.session() as s:
        decline(s, t.id, world.person(s, "gm_g1"), 4, now=later(7))
    with db.session() as s:
        decline(s, t.id, world.person(s, "cm_1"), 5, now=later(8))
    with db.session() as s:
        decline(s, t.id, world.person(s, "cm_2"), 6, now=later(9))
    t = ticket(db, t.id)
    assert t.owner_id == world.id("desk")  # the last resort
    with db.session() as s, pytest.raises(NoCandidate):
        decline(s, t.id, world.person(s, "desk"), 7, now=later(10))
    assert ticket(db, t.id).owner_id == world.id("desk")
    with db.session() as s:
        declined = {a.person_id for a in s.query(Assignment).filter_by(ticket_id=t.id, declined=True)}
    assert declined == {world.id(k) for k in ("v_m1_a", "v_m1_b", "gm_g1", "cm_1", "cm_2")}
    log = events(db, t.id)
    assert [e.kind for e in log].count("rerouted") == 5
    assert log[2].data["declined_by"] == world.id("v_m1_a") and log[2].reason == "not in the area"


def test_only_the_owner_declines_or_escalates(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s, pytest.raises(NotAllowed):
        decline(s, t.id, world.person(s, "v_m1_b"), 2, now=later(1))
    with db.session() as s, pytest.raises(NotAllowed):
        escalate(s, t.id, world.person(s, "gm_g1"), 2, now=later(1))


def test_manual_escalation_moves_one_level_and_keeps_the_owner_informed(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(1))
    with db.session() as s:
        escalate(s, t.id, world.person(s, "v_m1_a"), 3, reason="needs an electrician", now=later(20))
    t = ticket(db, t.id)
    assert t.state == TicketState.ACCEPTED and t.escalation_level == 1 and t.owner_id == world.id("gm_g1")
    assert t.due_at == later(20 + 240)
    task = last_message(db, world.id("gm_g1"), "ticket.task")
    assert "needs an electrician" in task.payload["text"]
    assert _callbacks(task) == [f"tk:res:{t.id}:4", f"tk:esc:{t.id}:4", *_thread_row(t.id), f"xt:ask:{t.id}"]
    with db.session() as s:
        follower = s.query(Follower).filter_by(ticket_id=t.id, person_id=world.id("v_m1_a")).one()
        assert follower.reason == "escalation"
    log = events(db, t.id)
    assert log[-1].kind == "escalated" and log[-1].data["cause"] == "manual"
    assert (log[-1].data["from_level"], log[-1].data["to_level"]) == (0, 1)
    assert log[-1].from_state == log[-1].to_state == "accepted"
    # the earlier owner still holds an active assignment and may resolve the work they started
    with db.session() as s:
        resolve(s, t.id, world.person(s, "v_m1_a"), 4, note="done with help", now=later(30))
    assert "done with help" in last_message(db, world.id("gm_g1"), "ticket.resolved").payload["text"]
    # nothing is said to the reporter about the escalation
    assert not [m for m in messages(db, world.id("alice")) if m.kind == "ticket.escalated"]


def test_escalate_at_the_top_has_no_candidate(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s:
        accept(s, t.id, world.person(s, "cm_1"), 2, now=later(1))
    with db.session() as s, pytest.raises(NoCandidate):
        escalate(s, t.id, world.person(s, "cm_1"), 3, now=later(2))


def test_cancel(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    with db.session() as s, pytest.raises(NotAllowed):
        cancel(s, t.id, world.person(s, "v_m1_a"), 2, reason="no", now=later(1))
    with db.session() as s, pytest.raises(InvalidInput):
        cancel(s, t.id, world.person(s, "desk"), 2, now=later(1))
    with db.session() as s:
        cancel(s, t.id, world.person(s, "alice"), 2, now=later(1))
    t = ticket(db, t.id)
    assert t.state == TicketState.CANCELLED and t.due_at is None
    assert "已撤销" in last_message(db, world.id("v_m1_a"), "ticket.cancelled").payload["text"]
    with db.session() as s:
        assert tasks_for_staff(s, world.person(s, "v_m1_a")) == []
    with db.session() as s, pytest.raises(IllegalTransition):
        cancel(s, t.id, world.person(s, "alice"), 3, now=later(2))


def test_contact_only_for_the_holder(db: Database, world: World) -> None:
    t = file(db, world, "alice", "streetlight", IN_M2, contact="alice@example.org").ticket
    assert t.owner_id == world.id("gm_g1")  # nobody in M2 has the electric skill
    with db.session() as s:
        tk = s.get(type(t), t.id)
        assert visible_contact(s, tk, world.person(s, "gm_g1")) == "alice@example.org"
        assert visible_contact(s, tk, world.person(s, "v_m2")) is None
        assert visible_contact(s, tk, world.person(s, "cm_1")) is None


def test_every_notification_is_in_the_recipient_language(db: Database, world: World) -> None:
    t = file(db, world, "sato", "streetlight", IN_M1).ticket
    assert "街灯の故障" in last_message(db, world.id("sato")).payload["text"]
    with db.session() as s:
        accept(s, t.id, world.person(s, "v_m1_a"), 2, now=later(1))
    assert "引き受け" in last_message(db, world.id("sato")).payload["text"]
    assert all(m.ticket_id == t.id for m in messages(db, ticket_id=t.id))
