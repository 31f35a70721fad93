"""Averaging the intent rankings of several classifiers, without Rasa (so the project env can test it).

DIET trained twice with different random seeds makes different mistakes on the messages near a decision
border (docs/nlu-pipelines.md, section 5): the per-language accuracy of one model moves by 1–2 points with the
seed. The mean of the members' confidences is right more often than either member alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Ranking = list[dict[str, Any]]


def average_rankings(rankings: Sequence[Ranking], weights: Sequence[float] | None = None) -> Ranking:
    """The mean confidence of each label over all rankings (a label a ranking lacks counts 0 there), each
    ranking counted `weights[i]` times (once without weights), best first; ties go to the label name, so the
    order never depends on the members' order."""
    if not rankings:
        return []
    weights = [1.0] * len(rankings) if weights is None else [float(w) for w in weights]
    if len(weights) != len(rankings) or any(w <= 0 for w in weights):
        raise ValueError(f"one positive weight per ranking, got {weights} for {len(rankings)} rankings")
    totals: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for entry in ranking:
            name = str(entry["name"])
            totals[name] = totals.get(name, 0.0) + weight * float(entry["confidence"])
    mean = [{"name": name, "confidence": total / sum(weights)} for name, total in totals.items()]
    return sorted(mean, key=lambda entry: (-entry["confidence"], entry["name"]))
