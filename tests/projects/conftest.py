"""Fixtures of the project tests: the real knowledge base loaded into a fresh database, on each backend."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.database import Database
from community.knowledge.loader import ROSTER_PREFIX, load
from community.people.models import Person
from community.settings import PROJECT_ROOT


@pytest.fixture
def loaded(db: Database) -> Database:
    load(db, PROJECT_ROOT / "knowledge")
    return db


def roster_person(db: Database, roster_id: str) -> Person:
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + roster_id))
        assert person is not None
        _ = person.roles
        return person
