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
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from xijin_nlu.votes import average_rankings

# Where each member leaves its own ranking for the members after it; not part of the parse result.
VOTES = "xijin_intent_votes"


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
            # The classifier before the first member is a plain DIETClassifier: its ranking is the first vote.
            if message.get(VOTES) is None and message.get(INTENT_RANKING_KEY):
                message.set(VOTES, [message.get(INTENT_RANKING_KEY)])
        messages = super().process(messages)
        for message in messages:
            own = message.get(INTENT_RANKING_KEY) or []
            if not own:
                continue
            votes = [*(message.get(VOTES) or []), own]
            message.set(VOTES, votes)
            ranking = average_rankings(votes)
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
