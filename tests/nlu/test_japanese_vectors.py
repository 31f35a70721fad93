"""The Japanese word features (nlu/xijin_nlu/japanese.py, ja_vectors.py), run in Rasa's environment where
Sudachi and the ja_ginza vectors are installed."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from community.settings import PROJECT_ROOT

PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"

# Prints, for each message: the words Sudachi found, whether each has a vector, and the features' shape and
# which token rows are non-zero. The featurizer is built without Rasa's graph (its __init__ needs no storage).
_PROBE = r"""
import json, sys
import numpy as np
from xijin_nlu.japanese import JapaneseAnalyser, WordVectors, chive_vocab
from xijin_nlu.ja_vectors import JapaneseWordVectors

vectors = WordVectors(chive_vocab())
featurizer = JapaneseWordVectors({"alias": None}, "probe")
analyser = JapaneseAnalyser()
out = {"dimensions": vectors.dimensions, "messages": {}}
for text in json.loads(sys.argv[1]):
    words = analyser.words(text)
    sequence, sentence = featurizer.features(text, list(range(len(text))))
    out["messages"][text] = {
        "words": [w.forms[0] for w in words],
        "with_vector": [vectors.get(w.forms) is not None for w in words],
        "shape": [list(sequence.shape), list(sentence.shape)],
        "rows": [bool(row.any()) for row in sequence],
        "sentence": bool(sentence.any()),
        "same_word_same_row": bool(np.array_equal(sequence[0], sequence[1])) if len(text) > 1 else None,
    }
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: the test command sets it up (scripts/test.sh)", pytrace=False)
    texts = ["トイレどこ？", "わかった", "飲料水どこで手に入る", "厕所在哪", "hello"]
    result = subprocess.run(
        [str(PYTHON), "-c", _PROBE, json.dumps(texts)],
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT / "nlu")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_japanese_words_get_their_normalised_form_and_a_vector(probe: dict) -> None:
    toilet = probe["messages"]["トイレどこ？"]
    assert toilet["words"] == ["トイレ", "どこ"]  # the question mark is dropped
    # Found by spaCy's string hash of the word: a wrong hash would find no vector at all.
    assert toilet["with_vector"] == [True, True]
    # わかった: the verb's normalised form is 分かる (kanji, dictionary form).
    assert probe["messages"]["わかった"]["words"][0] == "分かる"
    # A word the training data never had still has a vector.
    assert "飲料水" in probe["messages"]["飲料水どこで手に入る"]["words"]


def test_each_token_gets_the_vector_of_its_word(probe: dict) -> None:
    toilet = probe["messages"]["トイレどこ？"]
    assert toilet["shape"] == [[6, probe["dimensions"]], [1, probe["dimensions"]]]
    # ト and イ lie in one word (トイレ), so they share its vector; ？ lies in no word.
    assert toilet["same_word_same_row"] is True
    assert toilet["rows"] == [True, True, True, True, True, False]
    assert toilet["sentence"] is True


@pytest.mark.parametrize("text", ["厕所在哪", "hello"])
def test_messages_without_kana_get_zeros(probe: dict, text: str) -> None:
    # Chinese is Han only; reading it as Japanese words would mix the languages' features.
    message = probe["messages"][text]
    assert message["words"] == []
    assert not any(message["rows"])
    assert message["sentence"] is False
