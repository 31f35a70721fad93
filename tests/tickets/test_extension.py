"""Extensions (延期): the holder asks with a reason, the level above approves or refuses once; the reporter
hears the expected time when the ticket is accepted and when it changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from community.database import Database
from community.people.models import Person
from community.tickets import accept, rate, resolve
from community.tickets.errors import IllegalTransition, InvalidInput, NotAllowed
from community.tickets.extension import (
    ExtensionDecided,
    ExtensionOutOfDate,
    ExtensionPending,
    decide_extension,
    request_extension,
)
from community.tickets.models import ExtensionRequest, IssueCategory, Ticket
from tests.tickets.world import IN_M1, World, events, file, last_message, messages, ticket

ZONE = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE).astimezone(UTC)


def holder(session: Session, ticket_id: int) -> Person:
    found = session.get(Ticket, ticket_id)
    assert found is not None and found.owner_id is not None
    person = session.get(Person, found.owner_id)
    assert person is not None
    return person


def accepted_lamp(db: Database, world: World, by: str | None = None) -> Ticket:
    """A street light (working hours, 240 minutes to resolve) filed Monday 7 Dec 2026 09:00, accepted at
    09:10: due 14:40 (170 minutes before lunch, 70 after)."""
    with db.session() as s:
        category = s.get(IssueCategory, "streetlight")
        assert category is not None
        category.sla_clock = "working_hours"
    t = file(db, world, "alice", "streetlight", IN_M1, now=local(2026, 12, 7, 9, 0)).ticket
    with db.session() as s:
        actor = world.person(s, by) if by else holder(s, t.id)
        accepted = accept(s, t.id, actor, t.version, now=local(2026, 12, 7, 9, 10))
    assert accepted.due_at == local(2026, 12, 7, 14, 40)
    return accepted


def test_the_reporter_is_told_the_expected_time_when_the_ticket_is_accepted(
    db: Database, world: World
) -> None:
    accepted_lamp(db, world)
    told = last_message(db, world.id("alice"), "ticket.accepted").payload["text"]
    assert "Expected by Mon 7 Dec, 14:40." in told


def test_an_extension_approved_by_the_grid_member_moves_the_deadline_and_the_expected_time(
    db: Database, world: World
) -> None:
    t = accepted_lamp(db, world)
    with db.session() as s:
        asked = request_extension(
            s, t.id, holder(s, t.id), 1, "要订灯泡，明天到货", now=local(2026, 12, 7, 10, 0)
        )
        request_id = asked.request.id
        assert [p.id for p in asked.deciders] == [world.id("gm_g1")]
    card = last_message(db, world.id("gm_g1"), "clock.extension_request").payload
    assert "要订灯泡，明天到货" in card["text"] and "12月8日（周二）14:40" in card["text"]
    assert [b["callback_data"] for b in card["buttons"][0]] == [f"xt:ok:{request_id}", f"xt:no:{request_id}"]

    with db.session() as s:
        _, extended = decide_extension(
            s, request_id, world.person(s, "gm_g1"), True, now=local(2026, 12, 7, 10, 5)
        )
    # One working day more: Monday 14:40 → 17:30, Tuesday 08:30 → 12:00 and 13:30 → 14:40 (7.5 hours).
    assert extended.due_at == local(2026, 12, 8, 14, 40)
    assert ticket(db, t.id).due_at == local(2026, 12, 8, 14, 40)
    assert ticket(db, t.id).version == t.version + 1
    told = last_message(db, world.id("alice"), "clock.expected").payload["text"]
    assert "now expected by Tue 8 Dec, 14:40" in told
    new_card = last_message(db, t.owner_id or 0, "clock.extended").payload
    assert f"tk:res:{t.id}:{t.version + 1}" in str(new_card["buttons"])
    log = events(db, t.id)
    assert [e.kind for e in log][-2:] == ["extension_requested", "extended"]
    assert log[-1].actor_role == "grid_member" and log[-1].data["from_due_at"] == t.due_at.isoformat()

    with db.session() as s, pytest.raises(ExtensionDecided):
        decide_extension(s, request_id, world.person(s, "cm_1"), True, now=local(2026, 12, 7, 10, 6))
    assert ticket(db, t.id).due_at == local(2026, 12, 8, 14, 40)  # not moved twice


def test_a_refused_extension_leaves_the_deadline_and_tells_the_holder(db: Database, world: World) -> None:
    t = accepted_lamp(db, world)
    with db.session() as s:
        request_id = request_extension(
            s, t.id, holder(s, t.id), 3, "太忙", now=local(2026, 12, 7, 10, 0)
        ).request.id
        decide_extension(s, request_id, world.person(s, "gm_g1"), False, now=local(2026, 12, 7, 10, 1))
    assert ticket(db, t.id).due_at == t.due_at and ticket(db, t.id).version == t.version
    refused = last_message(db, t.owner_id or 0, "clock.extension_refused").payload["text"]
    assert "Grid Member One" in refused and "12月7日（周一）14:40" in refused
    assert [e.kind for e in events(db, t.id)][-2:] == ["extension_requested", "extension_refused"]
    assert not [m for m in messages(db, world.id("alice")) if m.kind == "clock.expected"]
    with db.session() as s:
        assert s.get(ExtensionRequest, request_id).status == "refused"  # type: ignore[union-attr]


def test_nobody_approves_their_own_extension_nor_one_at_their_own_level(db: Database, world: World) -> None:
    t = accepted_lamp(db, world)
    with db.session() as s:
        request_id = request_extension(
            s, t.id, holder(s, t.id), 1, "等材料", now=local(2026, 12, 7, 10, 0)
        ).request.id
    other_volunteer = "v_m1_b" if t.owner_id == world.id("v_m1_a") else "v_m1_a"
    for who in (None, other_volunteer, "alice", "gm_g2"):
        with db.session() as s, pytest.raises(NotAllowed):
            person = holder(s, t.id) if who is None else world.person(s, who)
            decide_extension(s, request_id, person, True, now=local(2026, 12, 7, 10, 1))
    with db.session() as s:
        assert s.get(ExtensionRequest, request_id).status == "pending"  # type: ignore[union-attr]
        # …and only the holder asks.
        with pytest.raises(NotAllowed):
            request_extension(s, t.id, world.person(s, "gm_g1"), 1, "x", now=local(2026, 12, 7, 10, 2))
    # The committee is above a volunteer too.
    with db.session() as s:
        decide_extension(s, request_id, world.person(s, "cm_2"), True, now=local(2026, 12, 7, 10, 3))
    assert ticket(db, t.id).due_at == local(2026, 12, 8, 14, 40)


def test_a_grid_members_extension_goes_to_the_committee(db: Database, world: World) -> None:
    t = accepted_lamp(db, world, by="gm_g1")
    with db.session() as s:
        asked = request_extension(
            s, t.id, world.person(s, "gm_g1"), 1, "需要协调", now=local(2026, 12, 7, 10, 0)
        )
        assert {p.id for p in asked.deciders} == {world.id("cm_1"), world.id("cm_2")}
        request_id = asked.request.id
    assert "연장 신청" in last_message(db, world.id("cm_2"), "clock.extension_request").payload["text"]
    with db.session() as s, pytest.raises(NotAllowed):
        decide_extension(s, request_id, world.person(s, "gm_g1"), True, now=local(2026, 12, 7, 10, 1))
    with db.session() as s:
        decide_extension(s, request_id, world.person(s, "cm_1"), True, now=local(2026, 12, 7, 10, 2))
    assert ticket(db, t.id).due_at == local(2026, 12, 8, 14, 40)


def test_bad_requests_change_nothing(db: Database, world: World) -> None:
    t = accepted_lamp(db, world)
    now = local(2026, 12, 7, 10, 0)
    with db.session() as s:
        me = holder(s, t.id)
        with pytest.raises(InvalidInput):
            request_extension(s, t.id, me, 1, "   ", now=now)
        with pytest.raises(InvalidInput):
            request_extension(s, t.id, me, 30, "a month", now=now)  # not an offered length
        request_extension(s, t.id, me, 1, "等材料", now=now)
    with db.session() as s, pytest.raises(ExtensionPending):
        request_extension(s, t.id, holder(s, t.id), 3, "again", now=now)
    with db.session() as s:
        assert len(list(s.query(ExtensionRequest))) == 1
    not_accepted = file(db, world, "kim", "streetlight", (32.2124, 119.4338), now=now).ticket
    with db.session() as s, pytest.raises(IllegalTransition):
        request_extension(s, not_accepted.id, holder(s, not_accepted.id), 1, "x", now=now)


def test_a_request_overtaken_by_the_resolution_cannot_be_approved(db: Database, world: World) -> None:
    t = accepted_lamp(db, world)
    with db.session() as s:
        request_id = request_extension(
            s, t.id, holder(s, t.id), 1, "等材料", now=local(2026, 12, 7, 10, 0)
        ).request.id
        done = resolve(s, t.id, holder(s, t.id), t.version, note="修好了", now=local(2026, 12, 7, 11, 0))
        rate(s, done.id, world.person(s, "alice"), score=5, now=local(2026, 12, 7, 11, 5))
    with db.session() as s, pytest.raises(ExtensionOutOfDate):
        decide_extension(s, request_id, world.person(s, "gm_g1"), True, now=local(2026, 12, 7, 11, 10))
    with db.session() as s:
        assert s.get(ExtensionRequest, request_id).status == "pending"  # type: ignore[union-attr]
    assert ticket(db, t.id).due_at is None and "extended" not in [e.kind for e in events(db, t.id)]


def test_a_reopened_ticket_tells_the_reporter_the_new_expected_time(db: Database, world: World) -> None:
    t = accepted_lamp(db, world)
    with db.session() as s:
        done = resolve(s, t.id, holder(s, t.id), t.version, note="修好了", now=local(2026, 12, 7, 11, 0))
        reopened = rate(s, done.id, world.person(s, "alice"), not_fixed=True, now=local(2026, 12, 7, 16, 0))
        # Waiting for Accept again: 30 working minutes (16:30); then 240 to resolve: 1 h Monday, 3 h Tuesday.
        assert reopened.due_at == local(2026, 12, 7, 16, 30)
    told = last_message(db, world.id("alice"), "clock.expected").payload["text"]
    assert "it is being handled again" in told and "Tue 8 Dec, 11:30" in told
