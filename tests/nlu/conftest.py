"""The trained model's checks, run once per test session (tests/nlu/model_checks.py)."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.nlu_emergency_eval import NLU_DIR as NLU
from scripts.nlu_emergency_eval import RASA_PYTHON, SPLIT, read_split, run_in_rasa
from tests.conftest import wait_for_the_trained_model
from tests.nlu.model_checks import ModelChecks, run_model_checks
from tests.nlu.test_book_service_intent import BOOKING_ASKS
from tests.nlu.test_training_data import LANGUAGES

MODEL = NLU / "models" / "xijin.tar.gz"
SPLITS = {"held_out": NLU / "tests" / "nlu", "blind": NLU / "tests" / "blind"}
STORIES = NLU / "tests" / "test_stories.yml"


def rasa_probe(script: str, payload: Any) -> Any:
    """Runs a probe of our components in Rasa's environment (`payload` as JSON on its stdin) and returns the
    JSON it printed last."""
    if not RASA_PYTHON.exists():
        pytest.fail(f"{RASA_PYTHON} is missing: the test command sets it up (scripts/test.sh)", pytrace=False)
    return run_in_rasa(script, payload, timeout=300)


@pytest.fixture(scope="session")
def model_checks(tmp_path_factory: pytest.TempPathFactory) -> ModelChecks:
    """The held-out and blind splits (one evaluation per language file), the emergency split's lines, the
    booking asks and the test stories, on the model the set-up trained."""
    wait_for_the_trained_model()
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: the test command trains it (setup.sh)", pytrace=False)
    files = {
        f"{split}-{language}": folder / f"{language}.yml"
        for split, folder in SPLITS.items()
        for language in LANGUAGES
    }
    texts = [row["text"] for row in read_split(SPLIT)] + list(BOOKING_ASKS)
    return run_model_checks(MODEL, files, texts, STORIES, tmp_path_factory.mktemp("model-checks"))
