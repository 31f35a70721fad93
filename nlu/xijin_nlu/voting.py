"""How the members of the intent ensemble hand their rankings on (Rasa side of votes.py).

Each member leaves its own ranking on the message; the intent and ranking it sets are the mean of its own and
those of the members before it, so the last member's intent is the ensemble's. The first classifier of the
pipeline is a plain DIETClassifier (Rasa's recipe looks for it by name): its ranking is the first vote.
"""

from __future__ import annotations

from typing import Any

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from xijin_nlu import weights_only
from xijin_nlu.votes import average_rankings

# Every config with an ensemble member imports this module before training: the trained DIETs (and a
# ResponseSelector, in the configs of nlu/pipelines/ that have one) are then stored without the optimizer's
# state (a third of the size, same predictions).
weights_only.install()

# Where each member leaves its own ranking (and its weight) for the members after it; not part of the parse
# result.
VOTES = "xijin_intent_votes"
WEIGHTS = "xijin_intent_vote_weights"


def take_earlier_vote(message: Message) -> None:
    """Before a member classifies: keep the plain classifier's ranking as the first vote."""
    if message.get(VOTES) is None and message.get(INTENT_RANKING_KEY):
        message.set(VOTES, [message.get(INTENT_RANKING_KEY)])
        message.set(WEIGHTS, [1.0])


def cast_vote(message: Message, own: list[dict[str, Any]], weight: float = 1.0) -> None:
    """After a member classified: add its ranking, counted `weight` times, and set the weighted mean of all
    votes so far as the intent."""
    if not own:
        return
    votes = [*(message.get(VOTES) or []), own]
    weights = [*(message.get(WEIGHTS) or []), float(weight)]
    message.set(VOTES, votes)
    message.set(WEIGHTS, weights)
    ranking = average_rankings(votes, weights)
    message.set(INTENT, dict(ranking[0]), add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
