"""knowledge/standards.yml: exactly 6 areas and 43 standards with ids and names in five languages, loaded
into the database; a bad file is rejected whole, with the file, the entry and the field named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from community.database import Database
from community.knowledge.loader import load_into_database
from community.knowledge.schema import KnowledgeError, load_knowledge
from community.matters.models import MatterStandard
from community.matters.standards import read_standards
from community.people.teams import read_teams
from community.settings import PROJECT_ROOT


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", folder)
    return folder


def edit(folder: Path, change: object) -> None:
    path = folder / "standards.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def problems(folder: Path) -> list[str]:
    kb = load_knowledge(folder)
    with pytest.raises(KnowledgeError) as rejected:
        read_standards(kb, {t.id for t in read_teams(kb).teams})
    return [str(p) for p in rejected.value.problems]


def test_the_shipped_file_has_6_areas_and_43_standards_each_with_an_id_and_five_names() -> None:
    data = yaml.safe_load((PROJECT_ROOT / "knowledge" / "standards.yml").read_text(encoding="utf-8"))
    assert data["sample"] is True
    kb = load_knowledge(PROJECT_ROOT / "knowledge")
    standards = read_standards(kb, {t.id for t in read_teams(kb).teams})
    assert standards is not None
    assert len(standards.areas) == 6
    ids = [s.id for _, entries in standards.areas for s in entries]
    assert len(ids) == 43 == len(set(ids))
    assert standards.default_threshold == 3
    assert {k.id for k in standards.invitee_kinds} == {"units_concerned", "representatives"}


def test_loading_puts_the_areas_and_standards_in_the_database(db: Database) -> None:
    with db.session() as session:
        report = load_into_database(session, load_knowledge(PROJECT_ROOT / "knowledge"))
    assert len(report.kinds["standards"].added) == 6 + 43 + 2
    with db.session() as session:
        counts = dict(
            session.execute(select(MatterStandard.level, func.count()).group_by(MatterStandard.level)).all()
        )
    assert counts == {"area": 6, "standard": 43, "invitee": 2}


def test_a_wrong_field_is_named_with_the_file_and_the_entry(knowledge: Path) -> None:
    def change(data: dict) -> None:  # type: ignore[type-arg]
        data["areas"][1]["standards"][2]["threshold"] = "three"
        data["areas"][0]["standards"][0]["teams"] = ["no_such_team"]
        del data["areas"][5]["standards"][0]["names"]["ko"]

    edit(knowledge, change)
    found = problems(knowledge)
    assert any(
        p.startswith("knowledge/standards.yml: entry 'fac_bike_parking': field 'threshold'") for p in found
    )
    assert any("entry 'env_litter_points': field 'teams[0]'" in p and "no_such_team" in p for p in found)
    assert any("entry 'sf_fire_lanes': field 'names.ko'" in p for p in found)


def test_a_missing_standard_or_area_is_refused_by_the_counts_and_nothing_is_loaded(
    knowledge: Path, db: Database
) -> None:
    edit(knowledge, lambda data: data["areas"][2]["standards"].pop())
    assert any("expected 43 standards" in p and "field 'areas'" in p for p in problems(knowledge))
    edit(knowledge, lambda data: data["areas"].pop())
    assert any("expected 6 areas" in p for p in problems(knowledge))
    with pytest.raises(KnowledgeError), db.session() as session:
        load_into_database(session, load_knowledge(knowledge))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(MatterStandard)) == 0
