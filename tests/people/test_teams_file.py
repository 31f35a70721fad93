"""knowledge/teams.yml is reviewed data: a mistake is rejected whole, naming the file, the entry and the
field, and nothing of the knowledge base is loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from community.database import Database
from community.grids.models import Grid
from community.knowledge.loader import load
from community.knowledge.schema import KnowledgeError, load_knowledge
from community.people.records import Team
from community.people.teams import read_teams
from community.settings import PROJECT_ROOT


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", folder)
    return folder


def _edit(folder: Path, change: object) -> None:
    path = folder / "teams.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_the_shipped_teams_file_has_the_five_kinds_and_valid_teams(knowledge: Path) -> None:
    teams = read_teams(load_knowledge(knowledge))
    assert [k.id for k in teams.kinds] == [
        "co_building",
        "civilised_tourism",
        "arts",
        "multilingual_guiding",
        "caring_envoys",
    ]
    assert [k.names.zh_Hans for k in teams.kinds] == [
        "共建联盟",
        "文明旅游",
        "艺动艺彩",
        "多语讲解",
        "博爱使者",
    ]
    assert {t.kind for t in teams.teams} == {k.id for k in teams.kinds}


def test_a_bad_teams_file_names_file_entry_and_field_and_loads_nothing(knowledge: Path, db: Database) -> None:
    def spoil(data: dict) -> None:  # type: ignore[type-arg]
        guides = next(t for t in data["teams"] if t["id"] == "guides_foreign")
        guides["members"] = ["vol_red_3", "nobody_here"]
        guides["leader"] = "vol_red_7"
        del guides["names"]["en"]
        opera = next(t for t in data["teams"] if t["id"] == "arts_opera")
        opera["kind"] = "sports"
        opera["skills"] = []

    _edit(knowledge, spoil)
    with pytest.raises(KnowledgeError) as caught:
        load(db, knowledge)
    found = {(p.file, p.entry, p.field) for p in caught.value.problems}
    assert found == {
        ("knowledge/teams.yml", "guides_foreign", "names.en"),
        ("knowledge/teams.yml", "arts_opera", "kind"),
        ("knowledge/teams.yml", "arts_opera", "skills"),
    }  # an entry that fails its schema is not cross-checked further (its members are not trusted yet)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Grid)) == 0
        assert session.scalar(select(func.count()).select_from(Team)) == 0

    # With the schema right, the references are checked: a member not in the roster, a leader not a member.
    def references(data: dict) -> None:  # type: ignore[type-arg]
        guides = next(t for t in data["teams"] if t["id"] == "guides_foreign")
        guides["names"]["en"] = "Foreign-language guides"
        opera = next(t for t in data["teams"] if t["id"] == "arts_opera")
        opera["kind"], opera["skills"] = "arts", ["performance"]

    _edit(knowledge, references)
    with pytest.raises(KnowledgeError) as caught:
        load(db, knowledge)
    assert [(p.entry, p.field) for p in caught.value.problems] == [
        ("guides_foreign", "members[1]"),
        ("guides_foreign", "leader"),
    ]
    assert "knowledge/teams.yml: entry 'guides_foreign': field 'members[1]'" in str(caught.value)
