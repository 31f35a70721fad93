"""Jieba with two fixes, kept for the pipeline comparison (docs/nlu-pipelines.md).

Rasa 3.6's JiebaTokenizer returns whitespace as tokens, which breaks entity alignment in mixed text, and
Jieba's dictionary is Simplified: Traditional text is converted for segmentation (OpenCC t2s keeps the length,
so offsets still point into the original text).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from xijin_nlu.segment import _simplifier


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class CleanJiebaTokenizer(JiebaTokenizer):
    @staticmethod
    def supported_languages() -> None:  # type: ignore[override]
        return None

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        text = message.get(attribute) or ""
        simplify = _simplifier()
        simplified = simplify(text) if simplify is not None else text
        if len(simplified) != len(text):
            simplified = text
        tokens = [
            Token(text[start:end], start, lemma=word.lower())
            for word, start, end in jieba.tokenize(simplified)
            if word.strip()
        ]
        if not tokens:
            tokens = [Token(text, 0)]
        return self._apply_token_pattern(tokens)
