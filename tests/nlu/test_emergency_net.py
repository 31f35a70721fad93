"""The emergency safety net (nlu/xijin_nlu/emergency_net.py) and its lexicon, run in Rasa's environment: how
a message is read (scripts, spelling, look-alikes), what the component does to the model's intent, that the
lexicon travels inside the model, and that a lexicon change changes the component's fingerprint."""

from __future__ import annotations

import pytest

from tests.nlu.conftest import rasa_probe

# Reads the committed lexicon (the `matches` part) and trains, persists and loads the component on a small
# lexicon of its own (the rest), printing one JSON object.
_PROBE = r"""
import json, sys, tempfile
from pathlib import Path
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from xijin_nlu.emergency_net import EmergencyNet, Lexicon, LexiconError, expand, lexicon_path

texts = json.loads(sys.stdin.read())
out = {}
lexicon = Lexicon.from_yaml(lexicon_path({}).read_text(encoding="utf-8"))
found = {text: lexicon.match(text) for text in texts}
out["matches"] = {t: (m.kind.name, m.kind.call, m.kind.category) if m else None for t, m in found.items()}
# Every spelling of every term, written alone, is an emergency: no look-alike swallows a whole term.
out["terms_alone_missed"] = [p.spelling for _, p in lexicon._terms if lexicon.match(p.spelling) is None]
out["expand"] = expand("{孩子|小孩}{不见了|丢了}")

SMALL = '''
kinds:
  - {name: weapon, call: police, category: first_aid}
  - {name: fire, call: fire, category: fire}
languages:
  en:
    terms: {weapon: [knife], fire: [fire]}
    look_alikes: [knife-cut noodles]
'''

def message(text, intent, confidence, second="emergency"):
    m = Message(data={"text": text})
    m.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    m.set("intent_ranking", [{"name": intent, "confidence": confidence},
                             {"name": second, "confidence": 1 - confidence}], add_to_output=True)
    return m

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "lexicon.yml"
    path.write_text(SMALL, encoding="utf-8")
    config = {**EmergencyNet.get_default_config(), "lexicon": str(path)}
    (Path(folder) / "storage").mkdir()
    storage = LocalModelStorage(Path(folder) / "storage")
    resource = Resource("emergency_net")
    context = ExecutionContext(GraphSchema({}), "probe")
    first_fingerprint = EmergencyNet.fingerprint_addon(config)
    net = EmergencyNet.create(config, storage, resource, context)
    train = [Message(data={"text": "help", "intent": "emergency"}),
             Message(data={"text": "hi", "intent": "greet"})]
    net.train(TrainingData(train))
    # The model keeps the lexicon it was trained with, whatever the file says later.
    path.write_text(SMALL.replace("[knife]", "[gun]"), encoding="utf-8")
    out["fingerprint_changes"] = EmergencyNet.fingerprint_addon(config) != first_fingerprint
    loaded = EmergencyNet.load(config, storage, resource, context)
    knife, noodles, hello = (message("A man with a KNIFE!", "greet", 0.9),
                             message("where can I eat knife-cut noodles", "faq", 0.8),
                             message("hello there", "greet", 0.95))
    payload = message('/report_issue{"issue_category": "fire"}', "report_issue", 1.0)
    unsure = message("knife-cut noodles, where?", "emergency", 0.6, second="faq")
    sure = message("knife-cut noodles, where?", "emergency", 0.95, second="faq")
    loaded.process([knife, noodles, hello, payload, unsure, sure])
    out["payload"] = payload.get("emergency_net")
    out["unsure"] = {k: unsure.get(k) for k in ("intent", "intent_ranking", "emergency_net")}
    out["sure"] = {k: sure.get(k) for k in ("intent", "emergency_net")}
    out["knife"] = {k: knife.get(k) for k in ("intent", "intent_ranking", "emergency_net")}
    out["knife_in_output"] = "emergency_net" in knife.as_dict(only_output_properties=True)
    out["noodles"] = {k: noodles.get(k) for k in ("intent", "intent_ranking", "emergency_net")}
    out["hello"] = {k: hello.get(k) for k in ("intent", "intent_ranking", "emergency_net")}
    path.write_text(SMALL.replace("weapon: [knife]", "robbery: [robbed]"), encoding="utf-8")
    try:
        EmergencyNet.create(config, storage, Resource("other"), context).train(TrainingData(train))
        out["bad_kind"] = None
    except LexiconError as error:
        out["bad_kind"] = str(error)
print(json.dumps(out, ensure_ascii=False))
"""

# (message, the kind the net finds or None). Written for these tests, not taken from the emergency split.
CASES = [
    ("有人在打架，還拿刀", "weapon"),  # Traditional, a weapon and violence: the weapon decides
    ("有人在打架", "violence"),
    ("我想吃刀削面", None),
    ("火锅店里着火了！", "fire"),  # the look-alike hides 火锅, not the message
    ("今晚有烟花表演吗", None),
    ("厨房冒烟了", "smoke"),
    ("煤氣味好重", "gas"),
    ("ＦＩＲＥ in the lane!", "fire"),  # full width, upper case
    ("Is the fireworks show tonight?", None),  # whole words: fire is not in fireworks
    ("I am a bit lost, where is the pagoda?", None),
    ("Where is the nearest gas station?", None),
    ("Stir-fry over a high fire for two minutes", None),
    ("my little boy wandered off, I can't find my son", "lost_child"),
    ("A man fell into the river", "water"),
    ("My phone fell into the river", None),
    ("ナイフを持った男がいる", "weapon"),
    ("ないふを持った男がいる", "weapon"),  # katakana and hiragana read alike
    ("燃えるゴミはどこですか", None),
    ("불이 났어요", "fire"),
    ("불이났어요", "fire"),  # Korean spacing varies
    ("칼국수 맛집 추천해 주세요", None),
    ("지갑 분실 신고하려고요", None),  # 분실 신고 must not read as 실신 (fainting)
    ("사람이 쓰러졌어요", "medical"),
]


@pytest.fixture(scope="module")
def probe() -> dict:
    return rasa_probe(_PROBE, [text for text, _ in CASES])


@pytest.mark.parametrize(("text", "kind"), CASES)
def test_the_lexicon_reads_each_script_and_spelling(probe: dict, text: str, kind: str | None) -> None:
    found = probe["matches"][text]
    assert (found[0] if found else None) == kind


def test_violence_and_weapons_call_the_police_first(probe: dict) -> None:
    assert probe["matches"]["有人在打架，還拿刀"][1] == "police"
    assert probe["matches"]["有人在打架"][1] == "police"
    assert probe["matches"]["火锅店里着火了！"][1:] == ["fire", "fire"]
    assert probe["matches"]["사람이 쓰러졌어요"][1] == "ambulance"


def test_no_look_alike_hides_a_whole_term(probe: dict) -> None:
    assert probe["terms_alone_missed"] == []
    assert probe["expand"] == ["孩子不见了", "孩子丢了", "小孩不见了", "小孩丢了"]


def test_a_match_makes_the_intent_emergency_and_says_what_the_model_said(probe: dict) -> None:
    knife = probe["knife"]
    assert knife["intent"] == {"name": "emergency", "confidence": 1.0}
    # The model's other intents keep their order at 0, so the fallback sees no ambiguity.
    assert knife["intent_ranking"] == [
        {"name": "emergency", "confidence": 1.0},
        {"name": "greet", "confidence": 0.0},
    ]
    assert knife["emergency_net"] == {
        "kind": "weapon",
        "call": "police",
        "category": "first_aid",
        "terms": ["knife"],
        "model_intent": {"name": "greet", "confidence": 0.9},
    }
    assert probe["knife_in_output"] is True


def test_without_a_match_the_model_decides(probe: dict) -> None:
    assert probe["hello"]["intent"] == {"name": "greet", "confidence": 0.95}
    assert probe["hello"]["emergency_net"] is None
    # A look-alike: the words are hidden, the ranking stays the model's.
    assert probe["noodles"]["intent"] == {"name": "faq", "confidence": 0.8}
    assert probe["noodles"]["intent_ranking"][1] == {"name": "emergency", "confidence": pytest.approx(0.2)}


def test_a_look_alike_overrules_classifiers_unsure_of_an_emergency(probe: dict) -> None:
    unsure = probe["unsure"]
    assert unsure["intent"] == {"name": "faq", "confidence": pytest.approx(0.4)}
    assert unsure["intent_ranking"][-1] == {"name": "emergency", "confidence": 0.0}
    assert unsure["emergency_net"] == {
        "vetoed": True,
        "look_alikes": ["knife-cut noodles"],
        "model_intent": {"name": "emergency", "confidence": 0.6},
    }
    # Sure classifiers (0.95, above veto_below) keep their emergency.
    assert probe["sure"] == {"intent": {"name": "emergency", "confidence": 0.95}, "emergency_net": None}


def test_a_button_payload_is_left_to_rasa(probe: dict) -> None:
    # '/report_issue{"issue_category": "fire"}' has the word fire, but its intent is given.
    assert probe["payload"] is None


def test_the_model_keeps_its_lexicon_and_a_change_retrains(probe: dict) -> None:
    # The file said `gun` when the model was loaded; the stored lexicon (knife) still decided.
    assert probe["knife"]["emergency_net"]["terms"] == ["knife"]
    assert probe["fingerprint_changes"] is True


def test_an_unknown_kind_fails_the_training_by_name(probe: dict) -> None:
    assert probe["bad_kind"] is not None
    assert "robbery" in probe["bad_kind"]
