"""Loading the knowledge base into the database: idempotent, reported, all-or-nothing (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from community.database import Database
from community.grids.models import Grid, Landmark
from community.knowledge.loader import LoadReport, load, load_into_database
from community.knowledge.models import FaqEntry
from community.knowledge.schema import KnowledgeError, load_knowledge
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.servicemap.models import ServicePoint
from community.tickets.models import IssueCategory
from tests.knowledge import KNOWLEDGE_DIR, copy_knowledge, edit_yaml, entry, snapshot


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _roster_person(db: Database, roster_id: str) -> Person:
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.external_key == f"roster:{roster_id}"))
        assert person is not None
        # Touch the relationships inside the session (they are loaded eagerly, but be explicit).
        _ = person.roles, person.volunteer
        return person


def test_first_load_fills_every_table(db: Database) -> None:
    report = load(db, KNOWLEDGE_DIR)
    assert report.kinds["faq"].added and report.changed == report.removed == 0
    kb = load_knowledge(KNOWLEDGE_DIR)
    assert _count(db, FaqEntry) == len(kb.faq) == 13
    assert _count(db, Grid) == 1 + len(kb.grids) + len(kb.micro_grids)
    assert _count(db, Grid, Grid.level == "micro_grid") == 12
    assert _count(db, Landmark) == len(kb.landmarks)
    assert _count(db, ServicePoint) == len(kb.service_points)
    assert _count(db, IssueCategory) == 13
    assert _count(db, Person, Person.from_roster.is_(True)) == len(kb.people)
    with db.session() as session:
        red = session.get(Grid, "xijin_red")
        assert red is not None and red.red and red.parent_code == "xijin" and red.level == "grid"
        assert session.get(Grid, "red_3").parent_code == "xijin_red"  # type: ignore[union-attr]
        fire = session.get(IssueCategory, "fire")
        assert fire is not None and fire.emergency and fire.skill == "fire" and fire.accept_sla_minutes <= 10
        toilet = session.get(ServicePoint, "sp_toilet_3")
        assert toilet is not None and toilet.landmark_code == "xiaomatou_street"
        assert toilet.opening_hours == [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "06:00", "close": "24:00"}
        ]
        assert all(len(row.content_hash) == 64 for row in session.scalars(select(FaqEntry)))
    volunteer = _roster_person(db, "vol_red_9")
    assert volunteer.telegram_id is not None and volunteer.from_roster
    assert {(r.role, r.grid_code) for r in volunteer.roles} == {
        ("volunteer", "red_3"),
        ("volunteer", "red_4"),
    }
    assert volunteer.volunteer is not None and volunteer.volunteer.on_duty
    assert "first_aid" in volunteer.volunteer.skills
    committee = _roster_person(db, "cm_1")
    assert [(r.role, r.grid_code) for r in committee.roles] == [("committee_member", "xijin")]
    assert committee.volunteer is None  # no skills, no volunteer role: no profile


def test_loading_twice_changes_nothing(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    before = snapshot(db)
    second = load(db, KNOWLEDGE_DIR)
    assert (second.added, second.changed, second.removed) == (0, 0, 0)
    assert second.is_noop
    assert "nothing changed" in str(second)
    assert snapshot(db) == before


def test_changed_and_removed_entries_are_reported(db: Database, tmp_path: Path) -> None:
    load(db, KNOWLEDGE_DIR)
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "faq.yml",
        lambda d: entry(d["faq"], "entry_fee")["answers"].update(en="Walking the street is free. Enjoy it!"),
    )
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: d["service_points"].remove(entry(d["service_points"], "sp_atm_1")),
    )
    report = load(db, directory)
    assert report.kinds["faq"].changed == ["entry_fee"]
    assert report.kinds["service_points"].removed == ["sp_atm_1"]
    assert (report.added, report.changed, report.removed) == (0, 1, 1)
    assert "faq:entry_fee" in str(report) and "service_points:sp_atm_1" in str(report)
    with db.session() as session:
        atm = session.get(ServicePoint, "sp_atm_1")
        assert atm is not None and atm.active is False  # kept for tickets that refer to it
        faq = session.get(FaqEntry, "entry_fee")
        assert faq is not None and faq.answers["en"] == "Walking the street is free. Enjoy it!"
    again = load(db, directory)
    assert again.is_noop  # a removed entry is reported once
    back = load(db, KNOWLEDGE_DIR)
    assert back.kinds["service_points"].added == ["sp_atm_1"]
    assert back.kinds["faq"].changed == ["entry_fee"]
    with db.session() as session:
        assert session.get(ServicePoint, "sp_atm_1").active is True  # type: ignore[union-attr]


def test_removed_grid_is_deactivated_not_deleted(db: Database, tmp_path: Path) -> None:
    load(db, KNOWLEDGE_DIR)
    directory = copy_knowledge(tmp_path)

    def merge_hill(data: dict[str, Any]) -> None:
        # hill_3 and hill_4 become one micro-grid (their union), keeping the id hill_3.
        hill = entry(data["grids"], "xijin_hill")
        h3 = entry(hill["micro_grids"], "hill_3")
        h4 = entry(hill["micro_grids"], "hill_4")
        sw, se, _ne, nw, _ = h3["polygon"]
        # Keep the shared vertices: the lattice is not straight, so dropping them would leave slivers.
        h3["polygon"] = [sw, se, h4["polygon"][1], h4["polygon"][2], h4["polygon"][3], nw, sw]
        hill["micro_grids"].remove(h4)
        entry(data["landmarks"], "british_consulate")["micro_grid"] = "hill_3"

    edit_yaml(directory, "grids.yml", merge_hill)
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: d["service_points"].remove(entry(d["service_points"], "sp_station_hill_4")),
    )
    # The station's service items go with it (knowledge/service_items.yml refers to its stations).
    edit_yaml(
        directory,
        "service_items.yml",
        lambda d: d.__setitem__("items", [i for i in d["items"] if i["station"] != "sp_station_hill_4"]),
    )

    def move_people(data: dict[str, Any]) -> None:
        for person in data["people"]:
            for role in person["roles"]:
                if role["grid"] == "hill_4":
                    role["grid"] = "hill_3"

    edit_yaml(directory, "roster.yml", move_people)
    report = load(db, directory)
    assert report.kinds["grids"].removed == ["hill_4"]
    assert report.kinds["grids"].changed == ["hill_3"]
    assert report.kinds["landmarks"].changed == ["british_consulate"]
    assert sorted(report.kinds["people"].changed) == ["vol_hill_7", "vol_hill_8"]
    with db.session() as session:
        assert session.get(Grid, "hill_4").active is False  # type: ignore[union-attr]
        assert not session.scalars(select(PersonRole).where(PersonRole.grid_code == "hill_4")).all()


def test_a_bad_file_changes_nothing(db: Database, tmp_path: Path) -> None:
    load(db, KNOWLEDGE_DIR)
    before = snapshot(db)
    directory = copy_knowledge(tmp_path)
    # Good changes in some files, one mistake in another: none of it may reach the database.
    edit_yaml(
        directory, "faq.yml", lambda d: entry(d["faq"], "wifi")["answers"].update(en="Changed. Really.")
    )
    edit_yaml(directory, "roster.yml", lambda d: d["people"].pop())
    edit_yaml(directory, "grids.yml", lambda d: entry(d["landmarks"], "guanyin_cave")["names"].pop("en"))
    with pytest.raises(KnowledgeError, match=r"knowledge/grids.yml: entry 'guanyin_cave': field 'names.en'"):
        load(db, directory)
    assert snapshot(db) == before


def test_a_clash_with_the_database_changes_nothing(db: Database, tmp_path: Path) -> None:
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        session.add(
            Person(
                external_key="telegram:900099999", telegram_id=900099999, roles=[PersonRole(role="resident")]
            )
        )
    before = snapshot(db)
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory, "faq.yml", lambda d: entry(d["faq"], "wifi")["answers"].update(en="Changed. Really.")
    )
    edit_yaml(
        directory, "roster.yml", lambda d: entry(d["people"], "vol_red_2").update(telegram_id=900099999)
    )
    kb = load_knowledge(directory)  # the files themselves are fine
    with pytest.raises(
        KnowledgeError, match=r"entry 'vol_red_2': field 'telegram_id': already belongs to person"
    ):
        with db.session() as session:
            load_into_database(session, kb)
    assert snapshot(db) == before


def test_staff_who_wrote_before_the_roster_are_adopted(db: Database) -> None:
    with db.session() as session:
        person = Person(
            external_key="telegram:900000001",
            telegram_id=900000001,
            display_name="Zhou",
            roles=[PersonRole(role=Role.RESIDENT)],
        )
        session.add(person)
        session.flush()
        person_id = person.id
    report = load(db, KNOWLEDGE_DIR)
    assert "vol_river_1" in report.kinds["people"].added
    adopted = _roster_person(db, "vol_river_1")
    assert adopted.id == person_id  # same row: their earlier tickets stay theirs
    assert [(r.role, r.grid_code) for r in adopted.roles] == [("volunteer", "river_1")]
    assert _count(db, Person, Person.telegram_id == 900000001) == 1


def test_roster_changes_replace_roles_and_profile(db: Database, tmp_path: Path) -> None:
    load(db, KNOWLEDGE_DIR)
    directory = copy_knowledge(tmp_path)

    def change(data: dict[str, Any]) -> None:
        person = entry(data["people"], "vol_red_9")
        person["roles"] = [
            {"role": "volunteer", "grid": "red_4"},
            {"role": "grid_member", "grid": "xijin_red"},
        ]
        person["skills"] = ["first_aid"]
        # Swap two Telegram ids: the unique index must not trip half-way.
        a, b = entry(data["people"], "cm_1"), entry(data["people"], "cm_2")
        a["telegram_id"], b["telegram_id"] = b["telegram_id"], a["telegram_id"]
        data["people"].remove(entry(data["people"], "cm_3"))

    edit_yaml(directory, "roster.yml", change)
    report = load(db, directory)
    people = report.kinds["people"]
    assert sorted(people.changed) == ["cm_1", "cm_2", "vol_red_9"]
    assert people.removed == ["cm_3"]
    person = _roster_person(db, "vol_red_9")
    assert {(r.role, r.grid_code) for r in person.roles} == {
        ("volunteer", "red_4"),
        ("grid_member", "xijin_red"),
    }
    assert person.volunteer is not None and person.volunteer.skills == ["first_aid"]
    gone = _roster_person(db, "cm_3")
    assert not gone.is_staff and gone.volunteer is None and gone.from_roster is False
    assert load(db, directory).is_noop


def test_reload_keeps_the_duty_a_volunteer_chose(db: Database) -> None:
    """The file gives the starting duty state; a reload (every start runs one) keeps what /duty set."""
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        person = session.scalar(select(Person).where(Person.external_key == "roster:vol_red_1"))
        assert person is not None
        profile = session.get(VolunteerProfile, person.id)
        assert profile is not None
        profile.on_duty = False
    report = load(db, KNOWLEDGE_DIR)
    assert report.is_noop
    assert _roster_person(db, "vol_red_1").volunteer.on_duty is False  # type: ignore[union-attr]


def test_report_summary_is_short() -> None:
    report = LoadReport()
    report.kinds["faq"].changed.append("wifi")
    report.kinds["service_points"].removed.extend(f"sp_{i}" for i in range(9))
    text = str(report)
    assert "changed 1 (faq:wifi)" in text
    assert "removed 9 (" in text and "and 3 more" in text
    assert "\n" not in text
