"""The FAQ topic selector (nlu/xijin_nlu/faq_selector.py), trained and run in Rasa's environment on a tiny
data set with hand-made features: it learns only from the `faq` examples, writes its choice where Rasa's
ResponseSelector writes it (so Rasa's retrieval action finds the topic's response), and loads as it was
stored. The trained model's topic accuracy is checked on the held-out split (tests/nlu/test_rasa_checks.py)
and the answer through the running stack in tests/integration/test_telegram_flows.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.nlu.conftest import rasa_probe

_PROBE = r"""
import json, tempfile
from pathlib import Path
import numpy as np
import scipy.sparse
from rasa.core.actions.action import ActionRetrieveResponse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from xijin_nlu.faq_selector import LinearResponseSelector

VOCAB = ["open", "when", "hours", "park", "car", "where", "hello", "hi"]

def message(words, intent=None, topic=None):
    counts = np.array([[words.count(w) for w in VOCAB]], dtype=float)
    data = {"text": " ".join(words)}
    if intent:
        data["intent"] = intent
    if topic:
        data["intent_response_key"] = f"{intent}/{topic}"
    m = Message(data=data)
    m.add_features(Features(scipy.sparse.coo_matrix(counts), "sentence", "text", "cvf"))
    return m

train = [message(["when", "open"], "faq", "opening_hours"),
         message(["open", "hours"], "faq", "opening_hours"), message(["hours"], "faq", "opening_hours"),
         message(["where", "park"], "faq", "parking"),
         message(["park", "car"], "faq", "parking"), message(["car"], "faq", "parking"),
         # Not FAQ lines: the topic model never learns from them (it knows the two topics only).
         message(["hello"], "greet"), message(["hi"], "greet"), message(["hello", "hi"], "greet")] * 3
responses = {"utter_faq/opening_hours": [{"custom": {"type": "faq", "topic": "opening_hours"}}],
             "utter_faq/parking": [{"custom": {"type": "faq", "topic": "parking"}}]}
out = {}
with tempfile.TemporaryDirectory() as folder:
    storage = LocalModelStorage(Path(folder))
    resource = Resource("faq_topics")
    context = ExecutionContext(GraphSchema({}), "probe")
    config = LinearResponseSelector.get_default_config()
    selector = LinearResponseSelector.create(config, storage, resource, context)
    selector.train(TrainingData(train, responses=responses))
    asked = message(["where", "car"])
    selector.process([asked])
    out["parsed"] = asked.as_dict()
    tracker = DialogueStateTracker.from_events(
        "probe", [UserUttered("where car", {"name": "faq", "confidence": 1.0}, parse_data=asked.as_dict())]
    )
    out["retrieved"] = ActionRetrieveResponse("utter_faq").get_full_retrieval_name(tracker)
    loaded = LinearResponseSelector.load(config, storage, resource, context)
    again = message(["where", "car"])
    loaded.process([again])
    out["loaded_same"] = again.as_dict() == asked.as_dict()
    untrained = LinearResponseSelector.load(config, storage, Resource("never_trained"), context)
    nothing = message(["when", "open"])
    untrained.process([nothing])
    out["untrained"] = nothing.as_dict()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    return rasa_probe(_PROBE, None)


def test_the_topic_is_written_where_rasas_retrieval_action_reads_it(probe: dict[str, Any]) -> None:
    selected = probe["parsed"]["response_selector"]
    assert selected["all_retrieval_intents"] == ["faq"]
    best = selected["faq"]["response"]
    assert best["intent_response_key"] == "faq/parking"
    assert best["utter_action"] == "utter_faq/parking"
    assert best["responses"] == [{"custom": {"type": "faq", "topic": "parking"}}]
    assert probe["retrieved"] == "utter_faq/parking"


def test_only_the_faq_examples_are_topics_and_the_ranking_is_a_distribution(probe: dict[str, Any]) -> None:
    ranking = probe["parsed"]["response_selector"]["faq"]["ranking"]
    assert [r["intent_response_key"] for r in ranking] == ["faq/parking", "faq/opening_hours"]
    assert ranking[0]["confidence"] == probe["parsed"]["response_selector"]["faq"]["response"]["confidence"]
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    assert ranking[0]["confidence"] > 0.5


def test_a_loaded_selector_chooses_as_the_trained_one(probe: dict[str, Any]) -> None:
    assert probe["loaded_same"] is True


def test_a_selector_that_never_trained_leaves_the_message_alone(probe: dict[str, Any]) -> None:
    assert "response_selector" not in probe["untrained"]
