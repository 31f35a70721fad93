"""How one model reads Chinese, Japanese, Korean and Latin chat text: pieces and their lemmas.

Pure Python (no Rasa), so that the rules can be tested in the project's own environment;
`tokenizer.ScriptAwareTokenizer` turns the pieces into Rasa tokens.

- Han, kana and Hangul become one piece per character: short chat messages have no spaces, and a character
  split makes every character boundary a valid entity boundary.
- Runs of Latin letters and digits become words (with inner apostrophes: don't, xi'an).
- Emoji are kept (🚽, 🔥 carry meaning); other punctuation is dropped.
- A piece's lemma — what the featurizers count — is its NFKC, lower-case form, with Han in Simplified and
  katakana as hiragana: Traditional and Simplified examples share features, and so do the katakana and
  hiragana spellings of one Japanese word (オッケー / おっけー), which chat users mix freely; half-width
  katakana and full-width letters become their usual forms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

# One character of a CJK script: Han (incl. extension A and compatibility), kana, Hangul syllables/jamo.
KANA = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # hiragana, katakana, half-width katakana
_CJK_CHAR = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    + KANA
    + "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"  # Hangul
)
_PIECE = re.compile(rf"[{_CJK_CHAR}]|[^\W{_CJK_CHAR}_]+(?:['’][^\W{_CJK_CHAR}_]+)*", re.UNICODE)
_HAN_FIRST, _HAN_LAST = "\u3400", "\ufaff"
# Katakana ァ..ヶ have hiragana twins ぁ..ゖ exactly 0x60 code points lower.
_KATAKANA_FIRST, _KATAKANA_LAST, _KATAKANA_TO_HIRAGANA = "\u30a1", "\u30f6", 0x60


class Piece(NamedTuple):
    text: str
    start: int
    lemma: str


def _simplifier() -> Callable[[str], str] | None:
    """OpenCC's Traditional→Simplified converter, or None where OpenCC is not installed."""
    try:
        import opencc
    except ImportError:
        return None
    return opencc.OpenCC("t2s").convert


def is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So"


class Segmenter:
    def __init__(self, simplify_han: bool = True, fold_kana: bool = True) -> None:
        self._simplify = _simplifier() if simplify_han else None
        self._fold_kana = fold_kana

    def lemma(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        if len(text) == 1:
            if self._simplify is not None and _HAN_FIRST <= text <= _HAN_LAST:
                text = self._simplify(text)
            elif self._fold_kana and _KATAKANA_FIRST <= text <= _KATAKANA_LAST:
                text = chr(ord(text) - _KATAKANA_TO_HIRAGANA)
        return text.lower()

    def segment(self, text: str) -> list[Piece]:
        pieces = [Piece(m.group(0), m.start(), self.lemma(m.group(0))) for m in _PIECE.finditer(text)]
        pieces += [Piece(char, index, char) for index, char in enumerate(text) if is_emoji(char)]
        pieces.sort(key=lambda piece: piece.start)
        return pieces
