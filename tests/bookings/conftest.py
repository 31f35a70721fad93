"""Fixtures of the booking tests: the real knowledge base on each backend, sessions made from a fixed `now`,
and people of this part's Telegram id range (812_000_001–812_999_999)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from community.bookings.models import ServiceSession
from community.bookings.service import materialise
from community.database import Database
from community.knowledge.loader import load
from community.people.models import Person, PersonRole, Role
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT

ZONE = ZoneInfo("Asia/Shanghai")
# Monday 7 December 2026, 10:00 in Zhenjiang; the Saturday after is the 12th.
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)  # 10:00 local


@dataclass
class Town:
    db: Database

    def person(
        self, telegram_id: int, language: str = "en", role: Role | None = None, grid: str | None = None
    ) -> Person:
        with self.db.session() as session:
            person = get_or_create_person(
                session,
                f"telegram:{telegram_id}",
                telegram_id=telegram_id,
                chat_id=str(telegram_id),
                display_name=f"Person {telegram_id}",
                language=language,
            )
            if role is not None:
                session.add(PersonRole(person_id=person.id, role=role.value, grid_code=grid))
            session.flush()
            return person

    def walk(self, starts_at: datetime = SATURDAY_10, language: str = "en") -> ServiceSession:
        with self.db.session() as session:
            found = session.scalar(
                select(ServiceSession).where(
                    ServiceSession.item_code == "guided_walk",
                    ServiceSession.starts_at == starts_at,
                    ServiceSession.language == language,
                )
            )
            assert found is not None
            return found

    def reload(self, session_id: int) -> ServiceSession:
        with self.db.session() as session:
            found = session.get(ServiceSession, session_id)
            assert found is not None
            return found


@pytest.fixture
def town(db: Database) -> Town:
    load(db, PROJECT_ROOT / "knowledge")
    with db.session() as session:
        materialise(session, NOW, ZONE, holidays=frozenset())
    return Town(db)
