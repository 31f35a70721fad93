"""A script-aware tokenizer for one model that reads Chinese, Japanese, Korean and Latin text.

- Han, kana and Hangul become one token per character: short chat messages have no spaces, and a
  character split makes every character boundary a valid entity boundary.
- Latin letters and digits become words.
- Emoji are kept as tokens (🚽, 🔥 carry meaning); other punctuation is dropped.
- Each token's lemma is its Simplified-Chinese, lower-case form, so that Traditional and Simplified
  examples share features (the featurizers use lemmas by default).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

# One character of a CJK script: Han (incl. extension A and compatibility), kana, Hangul syllables/jamo.
_CJK_CHAR = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # hiragana, katakana, half-width katakana
    "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"  # Hangul
)
_TOKEN = re.compile(rf"[{_CJK_CHAR}]|[^\W{_CJK_CHAR}_]+(?:['’][^\W{_CJK_CHAR}_]+)*", re.UNICODE)


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So"


def _simplifier():  # type: ignore[no-untyped-def]
    try:
        import opencc

        return opencc.OpenCC("t2s")
    except Exception:
        return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ScriptAwareTokenizer(Tokenizer):
    """Tokenizes mixed CJK and Latin chat messages (see module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "simplify_han": True,
        }

    @staticmethod
    def supported_languages() -> list[str] | None:
        return None

    @staticmethod
    def required_packages() -> list[str]:
        # OpenCC is optional (see _simplifier); the installed distribution is opencc-python-reimplemented,
        # whose name Rasa's package check would not recognise.
        return []

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._converter = _simplifier() if config.get("simplify_han", True) else None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ScriptAwareTokenizer:
        return cls(config)

    def _lemma(self, text: str) -> str:
        if self._converter is not None and len(text) == 1 and "\u3400" <= text <= "\ufaff":
            text = self._converter.convert(text)
        return text.lower()

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens: list[Token] = []
        for match in _TOKEN.finditer(text):
            word = match.group(0)
            tokens.append(Token(word, match.start(), lemma=self._lemma(word)))
        for index, char in enumerate(text):
            if _is_emoji(char):
                tokens.append(Token(char, index, lemma=char))
        tokens.sort(key=lambda t: t.start)
        if not tokens:
            # Rasa needs at least one token; a message of punctuation only becomes itself.
            tokens = [Token(text, 0, lemma=text)]
        return self._apply_token_pattern(tokens)
