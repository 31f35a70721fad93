"""DIETClassifier members of an ensemble: each one's intent is the mean of its own ranking and those of the
intent classifiers before it in the pipeline (votes.average_rankings), so the last member's intent is the
ensemble's.

In config.yml: a plain DIETClassifier first (it also recognises entities; Rasa's recipe checks for that class
by name, and warns that no entity extractor is trained if it is missing), with `ranking_length: 0`, then
`xijin_nlu.voting_diet.VotingDIETClassifier`s with other `random_seed`s and `entity_recognition: false`
(they would overwrite its entities).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.constants import INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from xijin_nlu.voting import cast_vote, take_earlier_vote


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class VotingDIETClassifier(DIETClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Every label's confidence, not the top 10: a label missing from one member's ranking would count 0.
        return {**DIETClassifier.get_default_config(), "ranking_length": 0}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            take_earlier_vote(message)
        messages = super().process(messages)
        for message in messages:
            cast_vote(message, message.get(INTENT_RANKING_KEY) or [])
        return messages
