"""The world of the matter tests: the knowledge base loaded, the desk and residents of micro-grids.

Telegram ids of these tests: 813_000_001 … 813_999_999 only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from community.database import Database
from community.knowledge.loader import load_into_database
from community.knowledge.schema import load_knowledge
from community.matters import service
from community.matters.models import Matter
from community.outbox.models import OutboxMessage
from community.outreach.models import Subscription
from community.people.models import Person, PersonRole, Role
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 10:00 in Xijindu
GRID = "red_1"
OTHER_GRID = "river_1"
AREA = "environment"
STANDARD = "env_litter_points"


def load_world(db: Database) -> None:
    with db.session() as session:
        load_into_database(session, load_knowledge(PROJECT_ROOT / "knowledge"))


def person(
    db: Database, user: int, language: str = "zh-Hans", *, grid: str | None = None, desk: bool = False
) -> int:
    """A Telegram person; `grid`: subscribed to that micro-grid (a resident of it)."""
    with db.session() as session:
        who = get_or_create_person(
            session, f"telegram:{user}", telegram_id=user, chat_id=str(user), language=language
        )
        if desk:
            who.roles.append(PersonRole(role=Role.DESK, grid_code="xijin"))
        if grid is not None:
            session.flush()
            session.add(Subscription(person_id=who.id, grid_code=grid, created_at=NOW))
        return who.id


def words(text: str, language: str = "zh-Hans", **translations: str) -> dict[str, Any]:
    return {"text": text, "language": language, "translations": translations}


def raise_one(db: Database, raiser_id: int, text: str = "垃圾投放点离住户太近，夏天气味很大。") -> int:
    with db.session() as session:
        raiser = session.get(Person, raiser_id)
        assert raiser is not None
        return service.raise_matter(session, raiser, words(text), GRID, NOW).id


def file_one(db: Database, matter_id: int, desk_id: int) -> None:
    with db.session() as session:
        service.file_matter(session, matter_id, desk_id, AREA, STANDARD, NOW)


def meeting_time() -> datetime:
    return NOW + timedelta(days=7)


def matter(db: Database, matter_id: int) -> Matter:
    with db.session() as session:
        found = session.get(Matter, matter_id)
        assert found is not None
        session.expunge(found)
        return found


def outbox_to(db: Database, person_id: int) -> list[str]:
    with db.session() as session:
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.recipient_id == person_id)
            .order_by(OutboxMessage.created_at)
        )
        return [str(m.payload["text"]) for m in session.scalars(query)]
