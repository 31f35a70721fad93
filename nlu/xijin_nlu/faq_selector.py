"""The FAQ topic of a message (`faq/opening_hours`, `faq/parking`, ...): logistic regression on the `faq`
examples' sentence features (xijin_nlu/features.py), written where Rasa's ResponseSelector writes its choice,
so the retrieval action `utter_faq`, `rasa test nlu` and `rasa test core` read it unchanged.

It replaces the ResponseSelector because it is as accurate on the topic and trains in about a second where
the ResponseSelector took a fifth of the whole training (docs/nlu-pipelines.md, section 9). Like the
ResponseSelector it always names a topic; whether the message is an FAQ at all is the intent classifiers'
call.

Config: `retrieval_intent` (the intent whose sub-intents are the topics), `C` and `solver` of the regression.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data import util
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xijin_nlu.features import sentence_matrix

# Rasa's recipe validator looks for its own ResponseSelector class by name and warns that the response
# examples go unused; this component is what uses them.
warnings.filterwarnings(
    "ignore", message="You have defined training data with examples for training a response"
)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearResponseSelector(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "retrieval_intent": "faq",
            "C": 1000.0,
            # One binary regression per topic: seconds to fit, where the multinomial lbfgs fit takes half a
            # minute for no better topic (section 9).
            "solver": "liblinear",
        }

    def __init__(
        self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]))
        self.retrieval_intent = str(self.config["retrieval_intent"])
        self.all_retrieval_intents: list[str] = []
        self.responses: dict[str, list[dict[str, Any]]] = {}

    def _create_X(self, messages: list[Message]) -> scipy.sparse.csr_matrix:
        return sentence_matrix(messages)

    def _create_training_matrix(
        self, training_data: TrainingData
    ) -> tuple[scipy.sparse.csr_matrix, list[str]]:
        examples = [
            e
            for e in training_data.intent_examples
            if e.get(INTENT) == self.retrieval_intent and e.get(INTENT_RESPONSE_KEY) and e.get(TEXT)
        ]
        if not examples:
            return scipy.sparse.csr_matrix((0, 0)), []
        return self._create_X(examples), [str(e.get(INTENT_RESPONSE_KEY)) for e in examples]

    def train(self, training_data: TrainingData) -> Resource:
        self.all_retrieval_intents = sorted(training_data.retrieval_intents)
        self.responses = dict(training_data.responses)
        return super().train(training_data)

    def persist(self) -> None:
        super().persist()
        with self._model_storage.write_to(self._resource) as model_dir:
            (model_dir / "responses.json").write_text(
                json.dumps({"retrieval_intents": self.all_retrieval_intents, "responses": self.responses}),
                encoding="utf-8",
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearResponseSelector:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        try:
            with model_storage.read_from(resource) as model_dir:
                stored = json.loads((model_dir / "responses.json").read_text(encoding="utf-8"))
        except ValueError:  # nothing was trained (no FAQ examples): it selects nothing
            return component
        component.all_retrieval_intents = stored["retrieval_intents"]
        component.responses = stored["responses"]
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        if not messages or not hasattr(self.clf, "classes_"):
            return messages
        probabilities = self.clf.predict_proba(self._create_X(messages))
        for message, row in zip(messages, probabilities, strict=True):
            ranking = sorted(
                (
                    {PREDICTED_CONFIDENCE_KEY: float(p), INTENT_RESPONSE_KEY: str(key)}
                    for key, p in zip(self.clf.classes_, row, strict=True)
                ),
                key=lambda entry: (-entry[PREDICTED_CONFIDENCE_KEY], entry[INTENT_RESPONSE_KEY]),
            )
            self._select(message, ranking)
        return messages

    def _select(self, message: Message, ranking: list[dict[str, Any]]) -> None:
        """Sets the message's `response_selector` property as Rasa's ResponseSelector sets it."""
        best = ranking[0]
        utter_action = util.intent_response_key_to_template_key(best[INTENT_RESPONSE_KEY])
        properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
        properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.all_retrieval_intents
        properties[self.retrieval_intent] = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: self.responses.get(utter_action, []),
                PREDICTED_CONFIDENCE_KEY: best[PREDICTED_CONFIDENCE_KEY],
                INTENT_RESPONSE_KEY: best[INTENT_RESPONSE_KEY],
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: utter_action,
            },
            RESPONSE_SELECTOR_RANKING_KEY: ranking,
        }
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
