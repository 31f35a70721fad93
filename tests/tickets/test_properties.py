"""Property-based: any sequence of button presses, stale versions included, keeps state, version and log
consistent.

Runs on SQLite only, with a modest number of examples, against one database that every example empties of
tickets first, so that an example replays exactly.
"""

from __future__ import annotations

import atexit
import itertools
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import delete, select

from community.database import Database
from community.models import Base
from community.outbox.models import OutboxMessage
from community.people.models import Person
from community.tickets import (
    AlreadyTaken,
    IllegalTransition,
    InvalidInput,
    NoCandidate,
    NotAllowed,
    StaleVersion,
    TicketError,
    accept,
    cancel,
    decline,
    escalate,
    rate,
    reopen,
    resolve,
)
from community.tickets.escalation import handle_overdue
from community.tickets.models import Assignment, Follower, Rating, Ticket, TicketEvent
from community.tickets.states import OPEN_WORK, Step, can
from tests.tickets.world import IN_M1, T0, World, build_world, file

_shared: dict[str, Any] = {}
OUTCOMES: dict[tuple[str, str], int] = {}  # what the examples exercised, for a look when debugging


def _world() -> tuple[Database, World]:
    if not _shared:
        directory = tempfile.TemporaryDirectory(prefix="xijin-hypothesis-")
        atexit.register(directory.cleanup)
        database = Database(f"sqlite:///{Path(directory.name) / 'props.db'}")
        Base.metadata.create_all(database.engine)
        atexit.register(database.dispose)
        _shared.update(dir=directory, db=database, world=build_world(database))
    return _shared["db"], _shared["world"]


VERSION_SLIP = st.sampled_from([0, 0, 0, 0, 0, 0, -1, 1, 3])
STAFF = st.sampled_from(["owner", "owner", "owner", "v_m1_b", "gm_g1", "cm_1", "alice"])


class TicketMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db, self.world = _world()
        # Every example starts from the same database: routing depends on everyone's open work, and
        # Hypothesis replays an example expecting the same preconditions to hold.
        with self.db.session() as s:
            for model in (OutboxMessage, Rating, Follower, Assignment, TicketEvent, Ticket):
                s.execute(delete(model))
        self.now: datetime = T0
        self.ticket_id = file(self.db, self.world, "alice", "streetlight", IN_M1, now=self.now).ticket.id
        self.steps = 0

    # --- helpers --------------------------------------------------------------------------------------

    def snapshot(self) -> tuple[str, int, int, int | None]:
        with self.db.session() as s:
            t = s.get(Ticket, self.ticket_id)
            assert t is not None
            n = len(list(s.scalars(select(TicketEvent.id).where(TicketEvent.ticket_id == t.id))))
            return t.state, t.version, n, t.owner_id

    def actor_id(self, who: str) -> int:
        if who == "owner":
            owner = self.snapshot()[3]
            return owner if owner is not None else self.world.id("cm_1")
        return self.world.id(who)

    def press(self, step: Step, who: str, slip: int, action: Any) -> None:
        """Run one step in its own transaction and check what it did against the table."""
        self.now += timedelta(minutes=3)
        self.steps += 1
        state, version, n_events, _ = self.snapshot()
        actor_id = self.actor_id(who)
        outcome: Exception | None = None
        try:
            with self.db.session() as s:
                action(s, s.get_one(Person, actor_id), version + slip, self.now)
        except TicketError as exc:
            outcome = exc
        after_state, after_version, after_events, _ = self.snapshot()
        if outcome is None:
            assert slip == 0, "a stale version was accepted"
            assert can(step, state)
            OUTCOMES[(step.value, "ok")] = OUTCOMES.get((step.value, "ok"), 0) + 1
            assert after_version == version + 1 and after_events == n_events + 1
            return
        assert (after_state, after_version, after_events) == (state, version, n_events), (
            "a failed step changed it"
        )
        key = (step.value, type(outcome).__name__)
        OUTCOMES[key] = OUTCOMES.get(key, 0) + 1
        if isinstance(outcome, StaleVersion):
            assert slip != 0
        elif isinstance(outcome, AlreadyTaken):
            assert step is Step.ACCEPT and state in ("accepted", "resolved", "closed")
        elif isinstance(outcome, IllegalTransition):
            assert not can(step, state)
        else:
            assert isinstance(outcome, NotAllowed | InvalidInput | NoCandidate), outcome

    # --- rules ----------------------------------------------------------------------------------------

    @rule(who=STAFF, slip=VERSION_SLIP)
    def accept(self, who: str, slip: int) -> None:
        self.press(Step.ACCEPT, who, slip, lambda s, p, v, now: accept(s, self.ticket_id, p, v, now=now))

    @rule(slip=VERSION_SLIP)
    def decline(self, slip: int) -> None:
        self.press(
            Step.DECLINE, "owner", slip, lambda s, p, v, now: decline(s, self.ticket_id, p, v, now=now)
        )

    @rule(who=STAFF, slip=VERSION_SLIP, note=st.sampled_from(["fixed", "", "换了灯泡 <ok>"]))
    def resolve(self, who: str, slip: int, note: str) -> None:
        self.press(
            Step.RESOLVE, who, slip, lambda s, p, v, now: resolve(s, self.ticket_id, p, v, note=note, now=now)
        )

    @rule(slip=VERSION_SLIP)
    def escalate(self, slip: int) -> None:
        self.press(
            Step.ESCALATE, "owner", slip, lambda s, p, v, now: escalate(s, self.ticket_id, p, v, now=now)
        )

    @rule(who=st.sampled_from(["alice", "owner", "zhang"]), slip=VERSION_SLIP)
    def reopen(self, who: str, slip: int) -> None:
        self.press(
            Step.REOPEN,
            who,
            slip,
            lambda s, p, v, now: reopen(s, self.ticket_id, p, v, reason="again", now=now),
        )

    @rule(score=st.sampled_from([1, 3, 4, 5, None]))
    def rate(self, score: int | None) -> None:
        step = Step.REOPEN if score is None else Step.RATE
        self.press(
            step,
            "alice",
            0,
            lambda s, p, v, now: rate(s, self.ticket_id, p, score=score, not_fixed=score is None, now=now),
        )

    # Steps that move the ticket forward are tried more often once they are possible, so that examples
    # reach resolution, rating and reopening instead of mostly bouncing off the wrong state.
    @precondition(lambda self: self.snapshot()[0] == "accepted")
    @rule(note=st.sampled_from(["fixed", "换了灯泡 <ok>"]))
    def owner_resolves(self, note: str) -> None:
        self.resolve("owner", 0, note)

    @precondition(lambda self: self.snapshot()[0] == "resolved")
    @rule(score=st.sampled_from([2, 4, 5, None, None]))
    def reporter_rates(self, score: int | None) -> None:
        self.rate(score)

    @precondition(lambda self: self.snapshot()[0] == "resolved")
    @rule()
    def reporter_reopens(self) -> None:
        self.reopen("alice", 0)

    # Cancelling ends an example; late in the sequence only, so that it does not cut most of them short.
    @precondition(lambda self: self.steps >= 10)
    @rule(who=st.sampled_from(["alice", "desk", "v_m1_b"]), slip=VERSION_SLIP)
    def cancel(self, who: str, slip: int) -> None:
        self.press(
            Step.CANCEL,
            who,
            slip,
            lambda s, p, v, now: cancel(s, self.ticket_id, p, v, reason="dup", now=now),
        )

    @precondition(lambda self: self.snapshot()[0] in ("new", "dispatched", "accepted", "reopened"))
    @rule()
    def deadline_passes(self) -> None:
        with self.db.session() as s:
            t = s.get_one(Ticket, self.ticket_id)
            due = t.due_at
        if due is None:
            return
        self.now = max(self.now, due) + timedelta(minutes=1)
        _, version, n_events, _ = self.snapshot()
        with self.db.session() as s:
            assert handle_overdue(s, self.ticket_id, self.now)
        _, after_version, after_events, _ = self.snapshot()
        assert (after_version, after_events) == (version + 1, n_events + 1)
        with self.db.session() as s:
            assert not handle_overdue(s, self.ticket_id, self.now)  # once per missed deadline

    # --- invariants -----------------------------------------------------------------------------------

    @invariant()
    def log_state_and_version_agree(self) -> None:
        with self.db.session() as s:
            t = s.get_one(Ticket, self.ticket_id)
            log = list(
                s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))
            )
            assert log[0].kind == "created" and log[0].from_state is None and log[0].to_state == "new"
            for before, after in itertools.pairwise(log):
                assert before.to_state == after.from_state, (before.kind, after.kind)
                assert before.at <= after.at
            assert t.state == log[-1].to_state
            assert t.version == 1 + (len(log) - 1)
            assert 0 <= t.escalation_level <= 2
            if t.state in OPEN_WORK:
                assert t.owner_id is not None and t.due_at is not None
                owner_assigned = s.scalar(
                    select(Assignment.id).where(
                        Assignment.ticket_id == t.id,
                        Assignment.person_id == t.owner_id,
                        Assignment.active.is_(True),
                    )
                )
                assert owner_assigned is not None
            if t.state in ("resolved", "closed", "cancelled"):
                assert t.due_at is None


TicketMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTicketMachine = TicketMachine.TestCase
