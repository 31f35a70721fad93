"""The quick model's pipeline (nlu/config.quick.yml) is config.yml's without the DIET: every other component
configured alike, so the quick model understands as the full one's linear member does, chooses the FAQ topic
as the full one does, and the emergency net guards the quick model too."""

from __future__ import annotations

from typing import Any

import yaml

from community.settings import PROJECT_ROOT


def _config(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "nlu" / name).read_text(encoding="utf-8"))


def test_the_quick_pipeline_is_the_full_one_without_the_diet() -> None:
    full, quick = _config("config.yml"), _config("config.quick.yml")
    without_diet = [c for c in full["pipeline"] if c["name"] != "DIETClassifier"]
    assert quick["pipeline"] == without_diet
    assert quick["policies"] == full["policies"]
    assert "xijin_nlu.emergency_net.EmergencyNet" in [c["name"] for c in quick["pipeline"]]
