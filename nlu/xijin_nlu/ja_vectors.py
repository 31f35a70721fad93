"""Dense features from pretrained Japanese word vectors (japanese.py), next to the sparse character features.

Sequence: each token gets the vector of the word it lies in (開 and い of 開いて both get 開く's).
Sentence: the mean of the message's word vectors. Messages without kana, and words without a vector, get
zeros. Nothing is trained: the vectors are fixed, so the component needs nothing in the model archive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xijin_nlu.japanese import JapaneseAnalyser, WordVectors, chive_vocab


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class JapaneseWordVectors(DenseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        # Not ja_ginza: Rasa's check imports it, which needs spaCy; chive_vocab() says when it is missing.
        return ["sudachipy", "msgpack"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._analyser = JapaneseAnalyser()
        self._vectors = WordVectors(chive_vocab())

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> JapaneseWordVectors:
        return cls(config, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if tokens:
                sequence, sentence = self.features(message.get(TEXT) or "", [t.start for t in tokens])
                self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    def features(self, text: str, token_starts: list[int]) -> tuple[np.ndarray, np.ndarray]:
        size = self._vectors.dimensions
        sequence = np.zeros((len(token_starts), size), dtype=np.float32)
        found = []
        for word in self._analyser.words(text):
            vector = self._vectors.get(word.forms)
            if vector is None:
                continue
            found.append(vector)
            for row, start in enumerate(token_starts):
                if word.start <= start < word.end:
                    sequence[row] = vector
        sentence = np.mean(found, axis=0, keepdims=True) if found else np.zeros((1, size), np.float32)
        return sequence, sentence.astype(np.float32)
