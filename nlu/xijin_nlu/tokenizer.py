"""A script-aware Rasa tokenizer for one model that reads Chinese, Japanese, Korean and Latin text.

The rules (one token per CJK character, Latin words, emoji kept, lemmas in Simplified / hiragana / lower
case) live in `segment.py`, which does not need Rasa.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from xijin_nlu.segment import Segmenter


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ScriptAwareTokenizer(Tokenizer):
    """Tokenizes mixed CJK and Latin chat messages (see segment.py)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "simplify_han": True,
            "fold_kana": True,
        }

    @staticmethod
    def supported_languages() -> list[str] | None:
        return None

    @staticmethod
    def required_packages() -> list[str]:
        # OpenCC is optional (see segment._simplifier); the installed distribution is
        # opencc-python-reimplemented, whose name Rasa's package check would not recognise.
        return []

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._segmenter = Segmenter(
            simplify_han=config.get("simplify_han", True), fold_kana=config.get("fold_kana", True)
        )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ScriptAwareTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = [
            Token(piece.text, piece.start, lemma=piece.lemma) for piece in self._segmenter.segment(text)
        ]
        if not tokens:
            # Rasa needs at least one token; a message of punctuation only becomes itself.
            tokens = [Token(text, 0, lemma=text)]
        return self._apply_token_pattern(tokens)
