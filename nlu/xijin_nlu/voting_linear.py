"""A linear member of the intent ensemble: logistic regression on the message's bag of features.

The DIET members differ only in their seed, so they tend to err on the same messages. A linear model over the
same n-grams and word vectors errs differently (it weighs every n-gram the message has, where DIET learns a
few hidden features), which is what averaging needs; and it trains in seconds, where a DIET takes minutes.

Input: the sentence features of the featurizers before it (xijin_nlu/features.py).

Config: `weight`, how many votes its ranking counts as; `C`, the inverse regularisation strength: one value,
or a list to choose from by stratified cross-validation on the training data (the scores are printed;
config.yml then carries the chosen value, so that CI does not refit the grid on every training).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from xijin_nlu.features import sentence_matrix
from xijin_nlu.voting import cast_vote, take_earlier_vote


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class VotingLogisticRegression(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "C": 1.0,
            "max_iter": 1000,
            "cv_folds": 5,
            # How many votes its ranking counts as: 3 after three DIETs makes the two kinds of classifier
            # weigh the same.
            "weight": 1.0,
            "ranking_length": 0,
        }

    def __init__(
        self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        first_c = self.config["C"][0] if isinstance(self.config["C"], list) else self.config["C"]
        self.clf.set_params(C=float(first_c))

    def _create_X(self, messages: list[Message]) -> scipy.sparse.csr_matrix:
        return sentence_matrix(messages)

    def train(self, training_data: TrainingData) -> Resource:
        X, y = self._create_training_matrix(training_data)
        if X.shape[0] == 0:
            return self._resource
        if isinstance(self.config["C"], list):
            self.clf.set_params(C=self._choose_c(X, y, [float(c) for c in self.config["C"]]))
        self.clf.fit(X, y)
        self.persist()
        return self._resource

    def _choose_c(self, X: scipy.sparse.csr_matrix, y: list[str], grid: list[float]) -> float:
        folds = StratifiedKFold(n_splits=int(self.config["cv_folds"]), shuffle=True, random_state=42)
        scores = {}
        for c in grid:
            model = LogisticRegression(**{**self.clf.get_params(), "C": c})
            scores[c] = float(np.mean(cross_val_score(model, X, y, cv=folds, scoring="accuracy")))
            # Printed, not logged: `rasa train --quiet` hides the log, and these scores are the grid's point.
            print(f"{self.__class__.__name__}: C={c} cross-validated accuracy {scores[c]:.4f}", flush=True)
        return max(grid, key=lambda c: (scores[c], -c))

    def process(self, messages: list[Message]) -> list[Message]:
        if not messages:
            return messages
        probabilities = self.clf.predict_proba(self._create_X(messages))
        for message, row in zip(messages, probabilities, strict=True):
            take_earlier_vote(message)
            own = sorted(
                (
                    {"name": str(name), "confidence": float(p)}
                    for name, p in zip(self.clf.classes_, row, strict=True)
                ),
                key=lambda entry: (-entry["confidence"], entry["name"]),
            )
            cast_vote(message, own, weight=float(self.config["weight"]))
        return messages
