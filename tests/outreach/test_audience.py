"""Who each audience reaches (community/outreach/audience.py), on SQLite and PostgreSQL, against a roster
read from knowledge/roster.yml by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from community.database import Database, utcnow
from community.knowledge.loader import load_into_database
from community.knowledge.schema import load_knowledge
from community.outreach import audience
from community.outreach.models import Subscription
from community.people.models import Person
from community.people.records import Team, TeamMember
from community.people.service import get_or_create_person
from community.settings import PROJECT_ROOT
from community.tickets.filing import file_report

ROSTER = yaml.safe_load((PROJECT_ROOT / "knowledge" / "roster.yml").read_text(encoding="utf-8"))["people"]
NOW = utcnow()


@pytest.fixture
def world(db: Database) -> Database:
    with db.session() as session:
        load_into_database(session, load_knowledge(PROJECT_ROOT / "knowledge"))
    return db


def resident(session: Session, user: int, *areas: str) -> int:
    person = get_or_create_person(session, f"telegram:{user}", telegram_id=user, chat_id=str(user))
    session.flush()
    for area in areas:
        session.add(Subscription(person_id=person.id, grid_code=area, created_at=NOW))
    session.flush()
    return person.id


def roster_ids(session: Session, wanted: list[int]) -> set[int]:
    return set(session.scalars(select(Person.id).where(Person.telegram_id.in_(wanted))))


def staff_telegram_ids(*grids: str, roles: tuple[str, ...] | None = None) -> list[int]:
    return [
        p["telegram_id"]
        for p in ROSTER
        if any(
            (not grids or r.get("grid") in grids) and (roles is None or r["role"] in roles)
            for r in p["roles"]
        )
    ]



def test_each_audience_reaches_whom_it_names(world: Database) -> None:
    with world.session() as session:
        on_red_1 = resident(session, 808_000_201, "red_1")
        on_red_grid = resident(session, 808_000_202, "xijin_red")
        on_red_2 = resident(session, 808_000_203, "red_2")
        on_river = resident(session, 808_000_204, "river_1")
        reporter = resident(session, 808_000_205)
        old_reporter = resident(session, 808_000_206)
        for who, when in ((reporter, NOW - timedelta(days=3)), (old_reporter, NOW - timedelta(days=45))):
            file_report(
                session,
                reporter=session.get(Person, who),  # type: ignore[arg-type]
                category_code="sanitation",
                landmark_code="west_entrance" if who == reporter else "chaoan_temple",
                description="垃圾桶满了",
                now=when,
            )
        red_1_staff = roster_ids(session, staff_telegram_ids("red_1"))
        red_staff = roster_ids(session, staff_telegram_ids("xijin_red", "red_1", "red_2", "red_3", "red_4"))
        all_staff = roster_ids(session, staff_telegram_ids())
        serving = roster_ids(
            session, staff_telegram_ids(roles=("volunteer", "grid_member", "committee_member"))
        )

        def reach(what: str) -> set[int]:
            return set(audience.person_ids(session, what, NOW))

        # A micro-grid: its subscribers, its grid's subscribers, its staff.
        assert reach("micro_grid:red_1") == {on_red_1, on_red_grid} | red_1_staff
        # A grid: subscribers of the grid and of any of its micro-grids, and its staff.
        assert reach("grid:xijin_red") == {on_red_1, on_red_grid, on_red_2} | red_staff
        assert reach("everyone") == {on_red_1, on_red_grid, on_red_2, on_river} | all_staff
        assert reach("volunteers") == serving
        assert reach("reporters") == {reporter}  # the one of 45 days ago is not "the last month"

        session.add(Team(code="wenming_test", kind="wenming", names={"zh-Hans": "文明"}, content_hash=""))
        session.flush()
        session.add_all([TeamMember(team_code="wenming_test", person_id=p) for p in (on_river, reporter)])
        session.flush()
        assert reach("team:wenming_test") == {on_river, reporter}
        for wrong in (
            "micro_grid:xijin_red",
            "grid:red_1",
            "grid:nowhere",
            "team:nobody",
            "all",
            "everyone:x",
        ):
            with pytest.raises(audience.UnknownAudience):
                reach(wrong)
