"""The points rules file is validated (file, entry and field named); `xijin stats --month` prints both
indices per grid and member and writes one chart PNG per grid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from community.cli import main
from community.database import Database
from community.knowledge.schema import KnowledgeError
from community.settings import PROJECT_ROOT, get_settings
from community.volunteers.rules import load_rules
from tests.tickets.world import World
from tests.volunteers.history import build_may

GOOD = (PROJECT_ROOT / "knowledge" / "points.yml").read_text(encoding="utf-8")


def _folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "points.yml").write_text(text, encoding="utf-8")
    return folder


def test_the_shipped_rules_load() -> None:
    found = load_rules(PROJECT_ROOT / "knowledge")
    assert found.points.good_rating_min == 4 and found.bonus.max_points == 50


@pytest.mark.parametrize(
    ("change", "entry", "field"),
    [
        (("resolved: 5", 'resolved: "5"'), "points", "resolved"),  # a string, not a number
        (("resolved: 5", "resolved: -5"), "points", "resolved"),  # no penalties
        (("good_rating_min: 4", "good_rating_min: 6"), "points", "good_rating_min"),
        (("  max_points: 50", "  max_points: 50\n  maximum: 3"), "bonus", "maximum"),  # unknown field
        (("    duty: 0.15", "    duty: 1.5"), "index", "vanguard.duty"),
        (("  duty_hour: 1\n", ""), "points", "duty_hour"),  # missing
    ],
)
def test_a_bad_rules_file_names_file_entry_and_field(
    tmp_path: Path, change: tuple[str, str], entry: str, field: str
) -> None:
    assert change[0] in GOOD
    folder = _folder(tmp_path, GOOD.replace(change[0], change[1], 1))
    with pytest.raises(KnowledgeError) as rejected:
        load_rules(folder)
    message = str(rejected.value)
    assert f"knowledge/points.yml: entry '{entry}': field '{field}'" in message, message


def test_all_zero_weights_and_a_missing_file_are_rejected(tmp_path: Path) -> None:
    zero = GOOD
    for part in ("response: 0.2", "resolution: 0.2", "satisfaction: 0.2", "vanguard: 0.2", "coverage: 0.2"):
        zero = zero.replace(f"    {part}\n", f"    {part.split(':')[0]}: 0\n")
    with pytest.raises(
        KnowledgeError, match=r"points.yml: entry 'index': field 'fortress'.*must not all be zero"
    ):
        load_rules(_folder(tmp_path, zero))
    with pytest.raises(KnowledgeError, match=r"points.yml: file not found"):
        load_rules(tmp_path / "nowhere")


@pytest.fixture
def settings_for(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_xijin_stats_month_prints_both_indices_and_writes_the_charts(
    db: Database,
    world: World,
    tmp_path: Path,
    settings_for: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_may(db, world)
    settings_for.setenv("DATABASE_URL", db.url)
    get_settings.cache_clear()
    out = tmp_path / "charts"

    assert main(["stats", "--month", "2025-05", "--out", str(out), "--language", "en"]) == 0

    printed = capsys.readouterr().out
    # The hand counts of tests/volunteers/test_points.py, rounded as printed.
    assert "Fortress and vanguard indices (2025-05-01 – 2025-05-31, 0–100)" in printed
    assert (
        "Xiaomatou Street grid (G1): fortress index 42 (response 50, resolution 100, satisfaction 50, "
        "members 10, duty coverage 1)" in printed
    )
    assert (
        "Wang Fang: vanguard index 58 (response 67, resolution 100, satisfaction 33, 32 points, "
        "5.5 h on duty)" in printed
    )
    assert "Yuntai Hill grid (G2): fortress index 2 (response 0, resolution 0, satisfaction —" in printed
    assert (
        "Zhou Qiang: vanguard index 13 (response 0, resolution —, satisfaction —, 12 points, 12.0 h"
        in printed
    )
    charts = sorted(out.glob("*.png"))
    assert [c.name for c in charts] == [
        "indices-G1-20250501-20250531.png",
        "indices-G2-20250501-20250531.png",
    ]
    for chart in charts:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


@pytest.mark.parametrize(
    "bad", [["--month", "2025-13"], ["--month", "May"], ["--from", "2025-05-10", "--to", "2025-05-01"]]
)
def test_xijin_stats_refuses_a_bad_period(
    sqlite_db: Database,
    settings_for: pytest.MonkeyPatch,
    tmp_path: Path,
    bad: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings_for.setenv("DATABASE_URL", sqlite_db.url)
    get_settings.cache_clear()
    assert main(["stats", *bad, "--out", str(tmp_path)]) == 2
    assert "stats:" in capsys.readouterr().err
    assert list(tmp_path.glob("*.png")) == []
