"""A small May 2025 in the synthetic world, made with the real steps (filing, accept, resolve, rate, duty,
bonus), whose points and indices the tests count by hand.

    v_m1_a (Wang Fang, M1 in grid G1)
      duty on 10:00, off 15:30                              → 5.5 h
      A: routed 10:00 (due 10:30), accepted 10:10, resolved 11:10, rated 5 at 11:20
      B: routed 11:40 (due 12:10), accepted 12:30 (late), resolved 13:20,
         "not fixed" 13:30 (reopened, due 14:00), accepted 13:40, resolved 14:20, rated 3 at 14:30
      bonus +10 from the desk at 15:00
    v_m3 (Zhou Qiang, M3 in grid G2)
      duty on 11:00, never off                              → capped at 12 h
      C: routed 10:00 (due 10:30), never accepted
    v_m1_b goes off duty at 09:00 (so that every M1 ticket goes to v_m1_a); nobody else does anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from community.database import Database
from community.tickets import accept, rate, resolve, set_duty
from community.tickets.models import Ticket
from community.volunteers.points import award_bonus
from community.volunteers.rules import rules
from tests.tickets.world import IN_M1, IN_M3, World, file, later

NOW = datetime(2025, 7, 1, tzinfo=UTC)  # long after May: the month is closed


@dataclass
class May:
    a: int
    b: int
    c: int


def _duty(db: Database, world: World, key: str, on: bool, minutes: float) -> None:
    with db.session() as s:
        set_duty(s, world.person(s, key), on, now=later(minutes))


def _accept(db: Database, world: World, key: str, ticket_id: int, minutes: float) -> None:
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        accept(s, ticket_id, world.person(s, key), ticket.version, now=later(minutes))


def _resolve(db: Database, world: World, key: str, ticket_id: int, minutes: float) -> None:
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        resolve(s, ticket_id, world.person(s, key), ticket.version, note="修好了", now=later(minutes))


def _rate(db: Database, world: World, key: str, ticket_id: int, minutes: float, score: int | None) -> None:
    with db.session() as s:
        person = world.person(s, key)
        if score is None:
            rate(s, ticket_id, person, not_fixed=True, now=later(minutes))
        else:
            rate(s, ticket_id, person, score=score, now=later(minutes))


def build_may(db: Database, world: World) -> May:
    _duty(db, world, "v_m1_b", False, -60)
    _duty(db, world, "v_m1_a", True, 0)
    a = file(db, world, "alice", "streetlight", IN_M1, now=later(0)).ticket.id
    c = file(db, world, "kim", "streetlight", IN_M3, now=later(0)).ticket.id
    _accept(db, world, "v_m1_a", a, 10)
    _duty(db, world, "v_m3", True, 60)
    _resolve(db, world, "v_m1_a", a, 70)
    _rate(db, world, "alice", a, 80, 5)
    b = file(db, world, "zhang", "streetlight", (IN_M1[0] + 0.001, IN_M1[1]), now=later(100)).ticket.id
    _accept(db, world, "v_m1_a", b, 150)
    _resolve(db, world, "v_m1_a", b, 200)
    _rate(db, world, "zhang", b, 210, None)
    _accept(db, world, "v_m1_a", b, 220)
    _resolve(db, world, "v_m1_a", b, 260)
    _rate(db, world, "zhang", b, 270, 3)
    with db.session() as s:
        award_bonus(
            s, rules(), world.person(s, "desk"), world.person(s, "v_m1_a"), 10, "灯会志愿服务", later(300)
        )
    _duty(db, world, "v_m1_a", False, 330)
    return May(a, b, c)
