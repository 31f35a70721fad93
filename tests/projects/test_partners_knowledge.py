"""knowledge/partners.yml: loaded with the rest, a bad entry named by file, entry and field, and a contact the
desk set in chat survives a reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from community.database import Database, utcnow
from community.knowledge.loader import load
from community.knowledge.schema import KnowledgeError
from community.partners.models import Partner, PartnerContact
from community.people.models import Person
from community.projects.errors import ProjectError
from community.projects.service import set_contact
from community.settings import PROJECT_ROOT
from tests.knowledge import copy_knowledge, edit_yaml, entry, snapshot
from tests.projects.conftest import roster_person


def test_loading_makes_every_kind_of_partner_with_its_offers_and_contact(loaded: Database) -> None:
    with loaded.session() as session:
        partners = {p.code: p for p in session.scalars(select(Partner))}
        kinds = {p.kind for p in partners.values()}
        assert kinds == {"alliance_unit", "social_organisation", "merchant", "team"}
        assert partners["my0511_love_home"].names["zh-Hans"] == "my0511爱心家园"
        assert partners["team_alliance_power"].team_code == "alliance_power"
        contacts = {c.partner_code for c in session.scalars(select(PartnerContact))}
        assert contacts == set(partners)


@pytest.mark.parametrize(
    ("change", "entry_id", "field", "words"),
    [
        (
            lambda p: entry(p["partners"], "red_sail").update(offers=["juggling"]),
            "red_sail",
            "offers[0]",
            "juggling",
        ),
        (
            lambda p: entry(p["partners"], "drivers_home").update(grid="moon_1"),
            "drivers_home",
            "grid",
            "moon_1",
        ),
        (
            lambda p: entry(p["partners"], "runzhou_tax").update(contact="nobody"),
            "runzhou_tax",
            "contact",
            "nobody",
        ),
        (
            lambda p: entry(p["partners"], "team_guides_foreign").pop("team"),
            "team_guides_foreign",
            "team",
            "team",
        ),
        (
            lambda p: entry(p["partners"], "ferry_teahouse").update(kind="shop"),
            "ferry_teahouse",
            "kind",
            "shop",
        ),
    ],
)
def test_a_bad_partner_entry_is_rejected_naming_file_entry_and_field_and_nothing_is_written(
    db: Database, tmp_path: Path, change: Any, entry_id: str, field: str, words: str
) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "partners.yml", change)
    before = snapshot(db)
    with pytest.raises(KnowledgeError) as raised:
        load(db, directory)
    problem = raised.value.problems[0]
    assert (problem.file, problem.entry, problem.field) == ("knowledge/partners.yml", entry_id, field)
    assert words in str(raised.value)
    assert snapshot(db) == before


def test_a_contact_set_in_chat_survives_a_reload_and_a_resident_cannot_set_one(loaded: Database) -> None:
    desk = roster_person(loaded, "desk_1")
    with loaded.session() as session:
        newcomer = Person(external_key="telegram:811100001", telegram_id=811_100_001, preferred_language="ja")
        session.add(newcomer)
        session.flush()
        with pytest.raises(ProjectError) as refused:
            set_contact(session, newcomer, "ferry_teahouse", newcomer, utcnow())
        assert refused.value.key == "projects.error.desk_only"
        set_contact(session, session.get(Person, desk.id), "ferry_teahouse", newcomer, utcnow())
        newcomer_id = newcomer.id
    load(loaded, PROJECT_ROOT / "knowledge")
    with loaded.session() as session:
        contacts = session.scalars(
            select(PartnerContact.person_id).where(PartnerContact.partner_code == "ferry_teahouse")
        ).all()
        assert contacts == [newcomer_id]
