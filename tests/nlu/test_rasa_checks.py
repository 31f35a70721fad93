"""Rasa's own checks of nlu/: data validation, the test stories, and intent accuracy on our held-out split.

They run Rasa from its environment (.venv-rasa) on the model the set-up trained (nlu/models/xijin.tar.gz),
loaded once for the stories, both splits and the emergency split (the `model_checks` fixture).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from community.settings import PROJECT_ROOT
from tests.nlu.conftest import SPLITS
from tests.nlu.model_checks import ModelChecks
from tests.nlu.test_training_data import LANGUAGES, examples

NLU = PROJECT_ROOT / "nlu"
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = NLU / "models" / "xijin.tar.gz"
# Intent accuracy on the held-out split: the target of issue #5, 0.95 in every language. The model CI trains
# measured 0.961 (ko) to 0.972 (ja) when this was written, and 0.977–1.0 on the blind split
# (docs/nlu-pipelines.md, section 7; issue 16 asked for no language under 0.955 / 0.977). Training is
# deterministic on one machine; on another CPU a language may move by a line or two.
MIN_ACCURACY = 0.95
MIN_BLIND_ACCURACY = 0.95
# The model every newcomer and every CI run trains (issue 16): one DIET stored without the optimizer's state
# (xijin_nlu/weights_only.py), the linear member and the FAQ topic's linear model, measured 44 MB; the
# ensemble of three DIETs with the optimizer's state was 314 MB.
MAX_MODEL_MB = 100
# Rasa 3.6 warns about any retrieval intent listed in the domain ("duplicated across domain files") because it
# merges the NLU data's retrieval intents into the domain; leaving `faq` out makes the rules invalid instead.
KNOWN_RASA_WARNINGS = (re.compile(r"duplicated intents have been found across multiple domain files: faq$"),)

pytestmark = pytest.mark.rasa


def rasa(*args: str) -> subprocess.CompletedProcess[str]:
    if not RASA.exists():
        pytest.fail(f"{RASA} is missing: the test command sets it up (scripts/test.sh)", pytrace=False)
    env = dict(
        os.environ,
        RASA_TELEMETRY_ENABLED="false",
        PYTHONPATH=str(NLU),
        ACTION_SERVER_URL="http://127.0.0.1:5055/webhook",
    )
    return subprocess.run([str(RASA), *args], cwd=NLU, env=env, capture_output=True, text=True, timeout=900)


def user_warnings(output: str) -> list[str]:
    """The text of each UserWarning Rasa printed (the line after the warning's location)."""
    lines = output.splitlines()
    found = []
    for index, line in enumerate(lines):
        if "UserWarning:" in line:
            message = line.split("UserWarning:", 1)[1].strip()
            if not message and index + 1 < len(lines):
                message = lines[index + 1].strip()
            found.append(message)
    return found


@pytest.mark.usefixtures("trained_model")
def test_the_model_file_is_at_most_100_mb() -> None:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: the test command trains it (scripts/setup.sh)", pytrace=False)
    assert MODEL.stat().st_size <= MAX_MODEL_MB * 1_000_000, f"{MODEL.stat().st_size / 1e6:.0f} MB"


def test_rasa_data_validate_passes_without_warnings() -> None:
    result = rasa(
        "data",
        "validate",
        "--fail-on-warnings",
        "--data",
        "data",
        "--domain",
        "domain.yml",
        "--config",
        "config.yml",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    unexpected = [w for w in user_warnings(output) if not any(p.search(w) for p in KNOWN_RASA_WARNINGS)]
    assert unexpected == []


def test_the_main_flows_are_predicted_without_errors(model_checks: ModelChecks) -> None:
    """`rasa test core --fail-on-prediction-errors` on tests/test_stories.yml."""
    failed = model_checks.out / "stories" / "failed_test_stories.yml"
    assert model_checks.stories == "passed", failed.read_text()[-3000:] if failed.exists() else ""
    assert not failed.exists() or "story:" not in failed.read_text()


def intent_accuracy_by_language(model_checks: ModelChecks, split: str) -> dict[str, float]:
    """Intent accuracy of each language file of a split, as `rasa test nlu` scores it."""
    accuracy = {}
    for language in LANGUAGES:
        total = len(examples(SPLITS[split] / f"{language}.yml"))
        assert total >= 100, (split, language, total)
        errors = model_checks.intent_errors(f"{split}-{language}")
        accuracy[language] = 1 - len(errors) / total
    return accuracy


def test_held_out_intent_accuracy_in_each_language(model_checks: ModelChecks) -> None:
    accuracy = intent_accuracy_by_language(model_checks, "held_out")
    print("held-out intent accuracy:", {k: round(v, 3) for k, v in accuracy.items()}, "target", MIN_ACCURACY)
    assert {k: v for k, v in accuracy.items() if v < MIN_ACCURACY} == {}


def test_blind_intent_accuracy_in_each_language(model_checks: ModelChecks) -> None:
    """The blind split (docs/nlu-data-guide.md) is never used to choose; this guards against regressions."""
    accuracy = intent_accuracy_by_language(model_checks, "blind")
    print(
        "blind intent accuracy:", {k: round(v, 3) for k, v in accuracy.items()}, "floor", MIN_BLIND_ACCURACY
    )
    assert {k: v for k, v in accuracy.items() if v < MIN_BLIND_ACCURACY} == {}
