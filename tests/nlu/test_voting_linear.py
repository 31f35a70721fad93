"""The linear member of the intent ensemble (nlu/xijin_nlu/voting_linear.py), trained and run in Rasa's
environment on a tiny data set with hand-made features: its own ranking, its weighted vote after earlier
members, the choice of C by cross-validation, and persistence."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.nlu.conftest import rasa_probe

_PROBE = r"""
import contextlib, io, json, sys, tempfile
from pathlib import Path
import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from xijin_nlu.voting_linear import VotingLogisticRegression

VOCAB = ["toilet", "where", "yes", "sure", "no", "nope"]

def message(words, intent=None, dense=None):
    counts = np.array([[words.count(w) for w in VOCAB]], dtype=float)
    m = Message(data={"text": " ".join(words), **({"intent": intent} if intent else {})})
    m.add_features(Features(scipy.sparse.coo_matrix(counts), "sentence", "text", "cvf"))
    if dense is not None:
        m.add_features(Features(np.array([dense], dtype=float), "sentence", "text", "vectors"))
    return m

train = [message(["toilet", "where"], "find_service"), message(["where", "toilet", "toilet"], "find_service"),
         message(["toilet"], "find_service"), message(["yes"], "affirm"), message(["sure"], "affirm"),
         message(["yes", "sure"], "affirm"), message(["no"], "deny"), message(["nope"], "deny"),
         message(["no", "nope"], "deny")] * 3
def probe(config_text):
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalModelStorage(Path(folder))
        resource = Resource("linear")
        context = ExecutionContext(GraphSchema({}), "probe")
        config = {**VotingLogisticRegression.get_default_config(), **json.loads(config_text)}
        member = VotingLogisticRegression.create(config, storage, resource, context)
        member.train(TrainingData(train))
        alone = message(["yes"])
        member.process([alone])
        out["alone"] = alone.get("intent")["name"]
        out["alone_ranking"] = [e["name"] for e in alone.get("intent_ranking")]
        out["sums_to_one"] = round(sum(e["confidence"] for e in alone.get("intent_ranking")), 6)
        own = message(["yes", "sure"])
        member.process([own])
        out["own_affirm"] = next(e["confidence"] for e in own.get("intent_ranking") if e["name"] == "affirm")
        # Three earlier DIET votes, all sure of deny, on a message the linear member calls affirm.
        voted = message(["yes", "sure"])
        earlier = [{"name": "deny", "confidence": 0.9}, {"name": "affirm", "confidence": 0.1}]
        voted.set("intent_ranking", earlier)
        voted.set("xijin_intent_votes", [voted.get("intent_ranking")] * 3)
        voted.set("xijin_intent_vote_weights", [1.0, 1.0, 1.0])
        member.process([voted])
        out["voted"] = voted.get("intent")["name"]
        ranking = voted.get("intent_ranking")
        out["voted_affirm"] = next(e["confidence"] for e in ranking if e["name"] == "affirm")
        out["votes"] = len(voted.get("xijin_intent_votes"))
        out["weights"] = voted.get("xijin_intent_vote_weights")
        out["C"] = member.clf.C
        loaded = VotingLogisticRegression.load(config, storage, resource, context)
        again = message(["yes"])
        loaded.process([again])
        out["loaded_same"] = again.get("intent_ranking") == alone.get("intent_ranking")
    return out

# One interpreter for every config: importing Rasa takes most of a probe's time.
results = {}
for config_text in json.loads(sys.stdin.read()):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        out = probe(config_text)
    out["printed"] = printed.getvalue()
    results[config_text] = out
print(json.dumps(results))
"""


# Every config the tests below ask about, probed in one interpreter (the module's fixture).
CONFIGS = {
    "lbfgs": {"C": 10},
    "liblinear": {"C": 10, "solver": "liblinear"},
    "heavy": {"C": 10, "weight": 3},
    "grid": {"C": [0.001, 10], "cv_folds": 3},
}


@pytest.fixture(scope="module")
def probes() -> dict[str, dict[str, Any]]:
    texts = {name: json.dumps(config) for name, config in CONFIGS.items()}
    answers = rasa_probe(_PROBE, list(texts.values()))
    return {name: answers[text] for name, text in texts.items()}


@pytest.mark.parametrize("solver", ["lbfgs", "liblinear"])
def test_alone_it_ranks_every_intent_it_was_trained_on(
    probes: dict[str, dict[str, Any]], solver: str
) -> None:
    out = probes[solver]

    assert out["alone"] == "affirm"
    assert sorted(out["alone_ranking"]) == ["affirm", "deny", "find_service"]
    assert out["sums_to_one"] == pytest.approx(1.0)
    assert out["loaded_same"] is True


def test_its_weight_decides_how_much_it_counts_against_earlier_members(
    probes: dict[str, dict[str, Any]],
) -> None:
    # Three earlier members say deny (0.9); the linear member says affirm.
    equal, heavy = probes["lbfgs"], probes["heavy"]

    assert equal["votes"] == heavy["votes"] == 4
    assert equal["weights"] == [1.0, 1.0, 1.0, 1.0]
    assert equal["voted"] == "deny"
    assert equal["voted_affirm"] == pytest.approx((3 * 0.1 + equal["own_affirm"]) / 4)
    assert heavy["weights"] == [1.0, 1.0, 1.0, 3.0]
    assert heavy["voted"] == "affirm"
    assert heavy["voted_affirm"] == pytest.approx((3 * 0.1 + 3 * heavy["own_affirm"]) / 6)


def test_a_list_of_c_is_chosen_from_by_cross_validation(probes: dict[str, dict[str, Any]]) -> None:
    out = probes["grid"]

    scores = {
        float(line.split("C=")[1].split()[0]): float(line.rsplit(" ", 1)[1])
        for line in out["printed"].splitlines()
        if "cross-validated accuracy" in line
    }
    assert set(scores) == {0.001, 10.0}
    assert out["C"] == max(scores, key=lambda c: (scores[c], -c))
