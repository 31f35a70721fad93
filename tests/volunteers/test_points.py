"""Points and the two indices against a hand count of a small May (tests/volunteers/history.py), on SQLite
and PostgreSQL; points come from the logs only; a bonus needs the desk and a reason; duty sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from community.database import Database
from community.i18n import t
from community.people.models import VolunteerProfile
from community.tickets.models import Rating, Ticket
from community.volunteers.indices import compute_indices
from community.volunteers.ledger import build_ledger, duty_sessions
from community.volunteers.models import PointBonus
from community.volunteers.points import BonusRefused, award_bonus, month_bounds, statement
from community.volunteers.rules import rules
from tests.tickets.world import World, last_message, later, messages
from tests.volunteers.history import NOW, build_may

MAY = month_bounds(2025, 5)
DAYS = 31  # May: the targets are per 30 days, prorated by 31/30
POINTS_TARGET = 60 * DAYS / 30  # 62 points
DUTY_TARGET = 40 * DAYS / 30  # 41.33 hours


def test_points_of_a_volunteer_match_the_hand_count(db: Database, world: World) -> None:
    build_may(db, world)
    with db.session() as s:
        ledger = build_ledger(s, rules(), *MAY)
        mine = [(c.rule, c.points) for c in ledger.credits if c.person_id == world.id("v_m1_a")]
        # Accepted in time: A at 10:10 (due 10:30) and B again at 13:40 (due 14:00); B at 12:30 was late.
        assert [p for r, p in mine if r == "accepted_in_time"] == [2, 2]
        # Resolved: A and B's second resolution; B's first was answered "not fixed", so it earns nothing.
        assert [p for r, p in mine if r == "resolved"] == [5, 5]
        # Good ratings: A's 5 only (B's 3 is below 4).
        assert [p for r, p in mine if r == "good_rating"] == [3]
        # Duty 10:00–15:30 = 5.5 h: 5 whole hours × 1.
        assert [p for r, p in mine if r == "duty_hour"] == [5]
        assert [p for r, p in mine if r == "bonus"] == [10]
        assert ledger.points(world.id("v_m1_a")) == 2 + 2 + 5 + 5 + 3 + 5 + 10  # 32
        # v_m3: on duty from 11:00 and never off: the session counts as 12 h (max_session_hours).
        assert ledger.points(world.id("v_m3")) == 12
        # Shown the same afternoon, /points groups them by rule.
        item = statement(s, rules(), world.id("v_m1_a"), later(400))
    assert (item.total, item.month) == (32, 32)
    assert item.month_lines == {
        "accepted_in_time": (2, 4),
        "resolved": (2, 10),
        "good_rating": (1, 3),
        "duty_hour": (1, 5),
        "bonus": (1, 10),
    }
    assert item.bonuses == [(10, "灯会志愿服务")]


def test_both_indices_match_the_hand_count(db: Database, world: World) -> None:
    build_may(db, world)
    with db.session() as s:
        report = compute_indices(s, rules(), *MAY, now=NOW)
    g1, g2 = report.grids
    assert (g1.code, g2.code) == ("G1", "G2")

    wang = report.member(world.id("v_m1_a"))
    assert wang is not None
    # Offers: A routed (accepted in time), B routed (accepted late), B reopened (accepted in time): 2 of 3.
    assert wang.parts["response"] == pytest.approx(2 / 3 * 100)
    # Tickets accepted: A and B, both last resolved by her and standing: 2 of 2.
    assert wang.parts["resolution"] == pytest.approx(100)
    # Ratings of her resolutions: 5 (good), "not fixed", 3: 1 of 3.
    assert wang.parts["satisfaction"] == pytest.approx(1 / 3 * 100)
    assert wang.parts["points"] == pytest.approx(32 / POINTS_TARGET * 100)  # 51.61
    assert wang.parts["duty"] == pytest.approx(5.5 / DUTY_TARGET * 100)  # 13.31
    wang_index = (
        0.25 * (2 / 3 * 100) + 0.25 * 100 + 0.2 * (1 / 3 * 100) + 0.15 * (32 / POINTS_TARGET * 100)
    ) + 0.15 * (5.5 / DUTY_TARGET * 100)
    assert wang.index == pytest.approx(wang_index)  # 58.07

    zhou = report.member(world.id("v_m3"))
    assert zhou is not None
    # C was handed to him and never accepted: 0 of 1; no acceptances, no ratings: those parts are left out.
    assert (zhou.parts["response"], zhou.parts["resolution"], zhou.parts["satisfaction"]) == (0, None, None)
    zhou_index = (0.25 * 0 + 0.15 * (12 / POINTS_TARGET * 100) + 0.15 * (12 / DUTY_TARGET * 100)) / (
        0.25 + 0.15 + 0.15
    )
    assert zhou.index == pytest.approx(zhou_index)  # 13.20

    # Members who did nothing score 0 (points and, for volunteers, duty are always there).
    li_na = report.member(world.id("v_m1_b"))
    assert li_na is not None and li_na.index == 0

    # G1: tickets A and B. Response: A in time, B late → 50; resolution 2 of 2 → 100; satisfaction by the
    # latest rating (5 and 3) → 50. Members: Wang Fang, Li Na, Zhao Lei, Chen Jing, Sun Li, Grid Member One;
    # only Wang Fang above 0. Coverage: 5.5 h of May's 31 × 24 h.
    assert g1.members[0].name == "Wang Fang" and len(g1.members) == 6
    assert g1.parts["vanguard"] == pytest.approx(wang_index / 6)
    assert g1.parts["coverage"] == pytest.approx(5.5 / (31 * 24) * 100)
    assert g1.index == pytest.approx(
        0.2 * 50 + 0.2 * 100 + 0.2 * 50 + 0.2 * (wang_index / 6) + 0.2 * (5.5 / (31 * 24) * 100)
    )  # 42.08
    # G2: ticket C never accepted → response 0, resolution 0, no rating (left out). Members: Zhou Qiang and
    # Grid Member Two. Coverage: 12 h of 744.
    assert g2.parts["satisfaction"] is None
    assert g2.index == pytest.approx(
        (0.2 * 0 + 0.2 * 0 + 0.2 * (zhou_index / 2) + 0.2 * (12 / 744 * 100)) / 0.8
    )  # 2.05
    # The committee and the desk belong to no grid.
    assert {m.name for m in report.community} == {"Committee One", "Committee Two", "Desk Clerk"}


def test_points_come_from_the_logs_only(db: Database, world: World) -> None:
    build_may(db, world)
    with db.session() as s:
        before = build_ledger(s, rules(), *MAY).credits
        again = build_ledger(s, rules(), *MAY).credits
    assert before == again  # rebuilt from scratch, the same
    with db.session() as s:
        # Everything that is not the log is changed: ticket states and owners, ratings, duty flags.
        s.execute(update(Ticket).values(state="cancelled", owner_id=None))
        s.execute(Rating.__table__.delete())
        s.execute(update(VolunteerProfile).values(on_duty=False))
    with db.session() as s:
        assert build_ledger(s, rules(), *MAY).credits == before
        # Before the month and after it, nothing.
        assert build_ledger(s, rules(), MAY[0] - timedelta(days=30), MAY[0]).credits == []


def test_a_bonus_needs_the_desk_and_a_reason_and_nothing_is_written_otherwise(
    db: Database, world: World
) -> None:
    attempts = [
        ("v_m1_b", "v_m1_a", 10, "helped a lot", "points.bonus.desk_only"),  # a volunteer
        ("gm_g1", "v_m1_a", 10, "helped a lot", "points.bonus.desk_only"),  # a grid member
        ("desk", "v_m1_a", 10, "  ", "points.bonus.reason_needed"),
        ("desk", "v_m1_a", 10, "ok", "points.bonus.reason_needed"),  # shorter than 4 characters
        ("desk", "v_m1_a", 51, "helped a lot", "points.bonus.out_of_range"),
        ("desk", "v_m1_a", 0, "helped a lot", "points.bonus.out_of_range"),
        ("desk", "alice", 10, "helped a lot", "points.bonus.not_staff"),  # a tourist earns no points
    ]
    for giver, receiver, points, reason, key in attempts:
        with db.session() as s, pytest.raises(BonusRefused) as refused:
            award_bonus(
                s, rules(), world.person(s, giver), world.person(s, receiver), points, reason, later(0)
            )
        assert refused.value.key == key
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PointBonus)) == 0
        award_bonus(
            s, rules(), world.person(s, "desk"), world.person(s, "v_m1_a"), -5, "double count", later(1)
        )
    with db.session() as s:
        assert build_ledger(s, rules(), later(0), later(2)).points(world.id("v_m1_a")) == -5
    # The volunteer is told, in their language, through the outbox (and only of the bonus recorded).
    told = last_message(db, world.id("v_m1_a"), "points.bonus")
    assert told.payload["text"] == t("points.bonus.told", "zh-Hans", points="-5", reason="double count")
    assert [m.kind for m in messages(db, world.id("v_m1_a"))] == ["points.bonus"]


def test_duty_sessions_are_paired_from_the_log(db: Database, world: World) -> None:
    from community.tickets import set_duty

    def duty(key: str, on: bool, minutes: float) -> None:
        with db.session() as s:
            set_duty(s, world.person(s, key), on, now=later(minutes))

    duty("v_m1_a", True, 0)
    duty("v_m1_a", True, 30)  # already on: the session still began at 0
    duty("v_m1_a", False, 90)
    duty("v_m1_a", False, 100)  # already off: nothing
    duty("v_m1_a", True, 120)  # still open at the end
    duty("v_m2", False, 10)  # an "off" without an "on": nothing known to count
    with db.session() as s:
        sessions = duty_sessions(
            s, later(24 * 60), max_hours=12, person_ids={world.id("v_m1_a"), world.id("v_m2")}
        )
    assert sessions[world.id("v_m1_a")] == [(later(0), later(90)), (later(120), later(120 + 12 * 60))]
    assert world.id("v_m2") not in sessions
