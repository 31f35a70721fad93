"""Fixtures of the volunteer tests: the synthetic world of the ticket tests, on each backend."""

from __future__ import annotations

import pytest

from community.database import Database
from tests.tickets.world import World, build_world


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)
