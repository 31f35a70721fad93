"""How the NLU model reads mixed-script chat text (nlu/xijin_nlu/segment.py, used by the Rasa tokenizer)."""

from __future__ import annotations

import sys

import pytest

from community.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "nlu"))

from xijin_nlu.segment import Segmenter


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter()


def lemmas(segmenter: Segmenter, text: str) -> list[str]:
    return [piece.lemma for piece in segmenter.segment(text)]


def test_cjk_text_becomes_one_piece_per_character_and_latin_text_words(segmenter: Segmenter) -> None:
    pieces = segmenter.segment("wifi密码是多少? don't know")
    assert [piece.text for piece in pieces] == ["wifi", "密", "码", "是", "多", "少", "don't", "know"]
    assert [piece.start for piece in pieces[:2]] == [0, 4]


def test_emoji_are_kept_and_punctuation_dropped(segmenter: Segmenter) -> None:
    assert lemmas(segmenter, "🚽在哪！！") == ["🚽", "在", "哪"]


def test_traditional_and_simplified_han_share_lemmas(segmenter: Segmenter) -> None:
    assert lemmas(segmenter, "廁所在哪裡") == lemmas(segmenter, "厕所在哪里")


def test_katakana_hiragana_and_half_width_spellings_share_lemmas(segmenter: Segmenter) -> None:
    assert lemmas(segmenter, "オッケー") == lemmas(segmenter, "おっけー") == lemmas(segmenter, "ｵｯｹｰ")
    assert [piece.text for piece in segmenter.segment("イエス")] == ["イ", "エ", "ス"]  # text is untouched


def test_full_width_and_upper_case_latin_become_plain_lower_case(segmenter: Segmenter) -> None:
    assert lemmas(segmenter, "ＯＫ Thanks") == ["ok", "thanks"]


def test_hangul_is_split_into_syllables_not_folded(segmenter: Segmenter) -> None:
    assert lemmas(segmenter, "화장실 어디") == ["화", "장", "실", "어", "디"]


def test_folding_can_be_switched_off() -> None:
    plain = Segmenter(simplify_han=False, fold_kana=False)
    assert lemmas(plain, "廁所 トイレ") == ["廁", "所", "ト", "イ", "レ"]
