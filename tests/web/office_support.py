"""What the office and Open311 tests share: a database with the knowledge base loaded (the `db` fixture's
SQLite and PostgreSQL), the web app on it with a TestClient, and people in the roles the scopes depend on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from community.database import Database
from community.knowledge.loader import load
from community.language.service import set_translator
from community.language.translate import NullTranslator
from community.people.models import Person, PersonRole, Role
from community.settings import PROJECT_ROOT, Settings
from community.tickets.filing import file_report
from community.tickets.models import Ticket
from web.app import create_app

PUBLIC_URL = "http://testserver"
# Points inside micro-grids of two different grids (the old street's red grid, the riverside).
RED_POINT = (32.2100, 119.4300)
RIVER_POINT = (32.2130, 119.4300)


@pytest.fixture
def loaded(db: Database) -> Iterator[Database]:
    load(db, PROJECT_ROOT / "knowledge")
    set_translator(NullTranslator())  # no Google from tests
    yield db
    set_translator(None)


@pytest.fixture
def settings(loaded: Database) -> Settings:
    return Settings(
        database_url=loaded.url,
        translation_backend="null",
        web_public_url=PUBLIC_URL,
        dashboard_session_secret="test-secret-for-the-office",
    )


@pytest.fixture
def client(loaded: Database, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, loaded), base_url=PUBLIC_URL) as test_client:
        yield test_client


def roster(database: Database, key: str) -> int:
    with database.session() as session:
        person_id = session.scalar(select(Person.id).where(Person.external_key == f"roster:{key}"))
        assert person_id is not None, key
        return person_id


def tourist(database: Database, telegram_id: int, name: str = "Visitor") -> int:
    with database.session() as session:
        person = Person(
            external_key=f"telegram:{telegram_id}",
            telegram_id=telegram_id,
            chat_id=str(telegram_id),
            display_name=name,
            preferred_language="en",
            roles=[PersonRole(role=Role.TOURIST)],
        )
        session.add(person)
        session.flush()
        return person.id


@dataclass
class Filed:
    ref: str
    grid_code: str | None
    micro_grid_code: str | None


def file_chat_report(
    database: Database,
    reporter_id: int,
    category: str,
    point: tuple[float, float],
    now: datetime,
    *,
    description: str = "",
    contact: str | None = None,
) -> Filed:
    """A report as the chat files it (channel telegram), routed at once."""
    with database.session() as session:
        reporter = session.get(Person, reporter_id)
        assert reporter is not None
        ticket: Ticket = file_report(
            session,
            reporter=reporter,
            category_code=category,
            lat=point[0],
            lon=point[1],
            description=description,
            description_language="en",
            contact=contact,
            now=now,
        ).ticket
        return Filed(ticket.ref, ticket.grid_code, ticket.micro_grid_code)
