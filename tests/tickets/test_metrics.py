"""Metrics from a hand-built event log, against values computed by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from community.database import Database
from community.tickets import compute_metrics, format_metrics
from community.tickets.models import Ticket, TicketEvent
from tests.tickets.world import T0, World, later

END = T0 + timedelta(days=1)


def _ticket(
    s: Any,
    world: World,
    ref: str,
    grid: str | None,
    micro: str | None,
    history: list[tuple[float, str, str | None, str | None, dict[str, Any]]],
) -> None:
    ticket = Ticket(
        ref=ref,
        category_code="streetlight",
        state=history[-1][3] or "new",
        version=len(history) + 1,
        grid_code=grid,
        micro_grid_code=micro,
        reporter_id=world.id("alice"),
        created_at=later(history[0][0]),
    )
    s.add(ticket)
    s.flush()
    s.add(
        TicketEvent(
            ticket_id=ticket.id, kind="created", from_state=None, to_state="new", at=later(history[0][0])
        )
    )
    for minute, kind, from_state, to_state, data in history:
        s.add(
            TicketEvent(
                ticket_id=ticket.id,
                kind=kind,
                from_state=from_state,
                to_state=to_state,
                data=data,
                at=later(minute),
            )
        )


def _due(minute: float) -> dict[str, Any]:
    return {"due_at": later(minute).isoformat()}


@pytest.fixture
def history(db: Database, world: World) -> None:
    with db.session() as s:
        # A (G1): accepted in 10 min, resolved at 70, rated 5
        _ticket(
            s,
            world,
            "XJAAAAAAAA",
            "G1",
            "M1",
            [
                (0, "routed", "new", "dispatched", _due(30)),
                (10, "accepted", "dispatched", "accepted", {}),
                (70, "resolved", "accepted", "resolved", {}),
                (80, "rated", "resolved", "closed", {"rating": 5}),
            ],
        )
        # B (G1): missed the accept deadline (escalated), accepted late, "not fixed", fixed again, rated 3
        _ticket(
            s,
            world,
            "XJBBBBBBBB",
            "G1",
            "M1",
            [
                (60, "routed", "new", "dispatched", _due(90)),
                (91, "escalated", "dispatched", "dispatched", {"cause": "overdue"}),
                (110, "accepted", "dispatched", "accepted", {}),
                (200, "resolved", "accepted", "resolved", {}),
                (210, "reopened", "resolved", "reopened", {"rating": "not_fixed"}),
                (250, "accepted", "reopened", "accepted", {}),
                (300, "resolved", "accepted", "resolved", {}),
                (310, "rated", "resolved", "closed", {"rating": 3}),
            ],
        )
        # C (G2/M3): accepted in time; resolved only after the period
        _ticket(
            s,
            world,
            "XJCCCCCCCC",
            "G2",
            "M3",
            [
                (120, "routed", "new", "dispatched", _due(150)),
                (140, "accepted", "dispatched", "accepted", {}),
                (1450, "resolved", "accepted", "resolved", {}),
            ],
        )
        # D (G2/M3): never accepted; reminded at the top
        _ticket(
            s,
            world,
            "XJDDDDDDDD",
            "G2",
            "M3",
            [
                (180, "routed", "new", "dispatched", _due(210)),
                (215, "reminded", "dispatched", "dispatched", {"cause": "overdue"}),
            ],
        )
        # E (G1): routed before the period: not in this cohort
        _ticket(
            s,
            world,
            "XJEEEEEEEE",
            "G1",
            "M1",
            [
                (-60, "routed", "new", "dispatched", _due(-30)),
                (5, "accepted", "dispatched", "accepted", {}),
            ],
        )
        # F (G2, no micro-grid): the routed event has no deadline → the category's 30 min; rated 4
        _ticket(
            s,
            world,
            "XJFFFFFFFF",
            "G2",
            None,
            [
                (30, "routed", "new", "dispatched", {}),
                (35, "accepted", "dispatched", "accepted", {}),
                (95, "resolved", "accepted", "resolved", {}),
                (100, "rated", "resolved", "closed", {"rating": 4}),
            ],
        )
        # G (no grid, the desk): accepted in 5 min, then cancelled
        _ticket(
            s,
            world,
            "XJGGGGGGGG",
            None,
            None,
            [
                (40, "routed", "new", "dispatched", _due(70)),
                (45, "accepted", "dispatched", "accepted", {}),
                (50, "cancelled", "accepted", "cancelled", {}),
            ],
        )
        # H: routed after the period
        _ticket(s, world, "XJHHHHHHHH", "G1", "M1", [(1441, "routed", "new", "dispatched", _due(1471))])
        # a linked duplicate is never routed and never counted
        _ticket(s, world, "XJIIIIIIII", "G1", "M1", [(20, "linked", "new", "duplicate", {})])


@pytest.mark.usefixtures("history")
def test_metrics_over_the_whole_community(db: Database) -> None:
    with db.session() as s:
        m = compute_metrics(s, T0, END)
    assert (m.dispatched, m.accepted, m.accepted_within_sla) == (6, 5, 4)  # A B C D F G; B late
    assert m.response_rate == pytest.approx(4 / 6)
    assert m.resolved == 3 and m.resolution_rate == pytest.approx(0.5)  # A B F (C only after the end)
    assert (m.rated, m.satisfied) == (3, 2) and m.satisfaction_rate == pytest.approx(2 / 3)  # A=5 B=3 F=4
    assert m.mean_minutes_to_accept == pytest.approx((10 + 50 + 20 + 5 + 5) / 5)  # 18.0
    assert m.mean_minutes_to_resolve == pytest.approx((70 + 240 + 65) / 3)  # 125.0
    assert m.overdue == 2  # B, D

    assert list(m.per_grid) == ["-", "G1", "G2"]
    g1, g2, none = m.per_grid["G1"], m.per_grid["G2"], m.per_grid["-"]
    assert (g1.dispatched, g1.accepted_within_sla, g1.resolved, g1.rated, g1.satisfied, g1.overdue) == (
        2,
        1,
        2,
        2,
        1,
        1,
    )
    assert (g2.dispatched, g2.accepted_within_sla, g2.resolved, g2.rated, g2.satisfied, g2.overdue) == (
        3,
        2,
        1,
        1,
        1,
        1,
    )
    assert (none.dispatched, none.accepted_within_sla, none.resolved) == (1, 1, 0)
    assert g2.mean_minutes_to_accept == pytest.approx((20 + 5) / 2)


@pytest.mark.usefixtures("history")
def test_metrics_for_one_grid_or_micro_grid(db: Database) -> None:
    with db.session() as s:
        g2 = compute_metrics(s, T0, END, grid_code="G2")
        m3 = compute_metrics(s, T0, END, grid_code="M3")
        early = compute_metrics(s, T0, later(100))
    assert (g2.dispatched, g2.accepted_within_sla, g2.resolved, g2.overdue) == (3, 2, 1, 1)
    assert (m3.dispatched, m3.accepted_within_sla, m3.resolved, m3.overdue) == (2, 1, 0, 1)
    assert m3.satisfaction_rate is None and m3.mean_minutes_to_resolve is None
    # over the first 100 minutes: A, B, F, G routed; only events before minute 100 count
    assert (early.dispatched, early.accepted_within_sla, early.resolved, early.rated) == (4, 3, 2, 1)
    assert early.overdue == 1


def test_empty_period(db: Database, world: World) -> None:
    with db.session() as s:
        m = compute_metrics(s, T0, END)
    assert m.dispatched == 0 and m.response_rate is None and m.mean_minutes_to_accept is None
    assert "—" in format_metrics(m, "en")


@pytest.mark.usefixtures("history")
def test_format_metrics(db: Database) -> None:
    with db.session() as s:
        m = compute_metrics(s, T0, END)
    en = format_metrics(m, "en")
    assert "Ticket metrics (all grids): 2025-05-01 10:00 to 2025-05-02 10:00" in en
    assert "Response rate (accepted in time): 66.7% (4/6)" in en
    assert "Resolution rate: 50.0% (3/6)" in en
    assert "Satisfaction rate: 66.7% (2/3 ratings)" in en
    assert "Mean time to accept: 18.0 min" in en and "Mean time to resolve: 125.0 min" in en
    assert "Overdue: 2" in en
    assert "• G1: 2 dispatched, response 50.0%, resolution 100.0%, satisfaction 50.0%" in en
    zh = format_metrics(m, "zh-Hans")
    assert "响应率（时限内接单）：66.7%（4/6）" in zh and "办结率：50.0%（3/6）" in zh
    for language in ("zh-Hant", "ja", "ko"):
        assert "66.7%" in format_metrics(m, language)
