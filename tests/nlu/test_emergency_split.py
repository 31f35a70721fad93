"""No emergency missed: the trained model (classifiers and emergency net) on the emergency split.

The split (nlu/tests/emergency/emergency.tsv) was written without sight of the training data: in each language
emergencies of every kind and as many look-alike non-emergencies. Each line is parsed by the model the set-up
trained, as Rasa's server parses a message (scripts/nlu_emergency_eval.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from scripts.nlu_emergency_eval import LANGUAGES, SPLIT, read_split, score
from tests.nlu.model_checks import ModelChecks

# The target: every emergency recognised, in every language; false alarms at most 5 %.
MIN_RECALL = 1.0
MAX_FALSE_ALARM_RATE = 0.05

pytestmark = pytest.mark.rasa


@pytest.fixture
def result(model_checks: ModelChecks) -> dict[str, Any]:
    rows = read_split(SPLIT)
    found = score(rows, [model_checks.parsed[row["text"]] for row in rows])
    assert found["net_in_model"], "the model has no emergency net: trained before nlu/config.yml had one?"
    return found


def test_the_split_has_enough_lines_in_each_language() -> None:
    rows = read_split(SPLIT)
    per_language = Counter((row["language"], row["expected"] == "emergency") for row in rows)
    for language in LANGUAGES:
        assert per_language[language, True] >= 20, language
        assert per_language[language, False] >= 20, language
        assert per_language[language, True] + per_language[language, False] >= 40, language


def test_every_emergency_is_recognised_in_every_language(result: dict[str, Any]) -> None:
    recall = {lang: s["recall"] for lang, s in result["languages"].items()}
    print("emergency recall:", recall)
    errors = [e for s in result["languages"].values() for e in s["errors"]]
    missed = [e["text"] for e in errors if e["expected"] == "emergency"]
    assert {lang: r for lang, r in recall.items() if r < MIN_RECALL} == {}, missed


def test_false_alarms_stay_rare_in_every_language(result: dict[str, Any]) -> None:
    rates = {lang: s["false_alarm_rate"] for lang, s in result["languages"].items()}
    print("false-alarm rate:", rates)
    errors = [e for s in result["languages"].values() for e in s["errors"]]
    alarms = [e["text"] for e in errors if e["expected"] != "emergency"]
    assert {lang: r for lang, r in rates.items() if r > MAX_FALSE_ALARM_RATE} == {}, alarms
