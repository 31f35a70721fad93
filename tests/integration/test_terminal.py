"""The terminal chat, through the same pipeline as Telegram: real Rasa, real actions, real database."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.pipeline import Assistant
from bot.terminal import run_terminal
from community.database import utcnow
from community.people.models import Person, Role
from community.servicemap.service import nearest
from community.tickets.models import Ticket, TicketState
from community.tickets.names import name_for_reporters
from tests.integration.conftest import Stack

pytestmark = pytest.mark.rasa

_names = itertools.count(1)


def script(*lines: str) -> Callable[[], str]:
    queue = list(lines)

    def read() -> str:
        if not queue:
            raise EOFError
        return queue.pop(0)

    return read


async def chat(assistant: Assistant, *lines: str) -> tuple[str, str]:
    name = f"terminal-tester-{next(_names)}"
    out = io.StringIO()
    await run_terminal(assistant, name=name, read=script(*lines), out=out)
    return name, out.getvalue()


def nearest_open_toilet(stack: Stack, lat: float, lon: float) -> str:
    """The English name of the nearest toilet open right now: the action server runs in its own process on
    the real clock, so which points are open depends on the time of day the test runs at."""
    with stack.database.session() as session:
        [first] = nearest(session, lat, lon, "toilet", open_at=utcnow(), limit=1)
        return first.point.names["en"]


async def test_the_nearest_toilet_from_coordinates(stack: Stack, assistant: Assistant) -> None:
    # Beside the Zhaoguan Stone Pagoda; its public toilet is about 100 m away (knowledge/service_points.yml)
    # and open 06:00-22:00; at night the nearest one open is another.
    before = nearest_open_toilet(stack, 32.2101, 119.4296)
    _, output = await chat(assistant, "where is the nearest toilet", "/loc 32.2101,119.4296")
    after = nearest_open_toilet(stack, 32.2101, 119.4296)
    answer = output.split("bot> ")[2]
    assert answer.startswith("The nearest toilet:")
    first_venue = answer.splitlines()[1]
    assert any(first_venue.startswith(f"📍 {name}") for name in {before, after}), (first_venue, before)
    assert " m, ~" in first_venue and "openstreetmap.org/?mlat=" in answer


async def test_a_japanese_question_gets_a_japanese_answer(assistant: Assistant) -> None:
    _, output = await chat(assistant, "開館時間は何時ですか")
    assert "西津渡歴史文化街区" in output.split("bot> ")[1]


async def test_a_broken_street_light_is_reported_and_routed_to_a_volunteer(
    stack: Stack, assistant: Assistant
) -> None:
    name, output = await chat(
        assistant,
        "路灯坏了",
        "/loc 32.2101,119.4296",
        "路灯一闪一闪的，晚上很黑",
        "/photo street-light.jpg",
        "1",
    )
    assert "✅ 已受理" in output
    with stack.database.session() as session:
        reporter = session.scalar(select(Person).where(Person.external_key == f"terminal:{name}"))
        assert reporter is not None
        ticket = session.scalar(select(Ticket).where(Ticket.reporter_id == reporter.id))
        assert ticket is not None and ticket.ref in output
        assert ticket.category_code == "lighting"
        assert ticket.state == TicketState.DISPATCHED
        assert ticket.photo_file_ids == ["street-light.jpg"]
        owner = session.get(Person, ticket.owner_id)
        # Reporters learn the volunteer's name as the community chose (VOLUNTEER_NAME_TO_REPORTERS).
        assert owner is not None and name_for_reporters(owner, "zh-Hans") in output
        assert any(r.role == Role.VOLUNTEER and r.grid_code == ticket.micro_grid_code for r in owner.roles)


async def test_someone_collapsed_gets_emergency_help_at_once(stack: Stack, assistant: Assistant) -> None:
    name, output = await chat(assistant, "someone collapsed")
    reply = output.split("bot> ")[1]
    assert reply.startswith("🚨 Call now: ambulance 120 · police 110 · fire 119.")
    assert "📍" in reply  # the nearest first-aid point
    with stack.database.session() as session:
        reporter = session.scalar(select(Person).where(Person.external_key == f"terminal:{name}"))
        assert reporter is not None
        ticket = session.scalar(select(Ticket).where(Ticket.reporter_id == reporter.id))
        assert ticket is not None and ticket.category_code == "first_aid" and ticket.urgency == "emergency"
