"""Estimate what averaging several trained NLU models would score, before building the ensemble into a config.

Run inside Rasa's env from nlu/ (models from `scripts/nlu_eval.py --keep DIR`, or nlu/models/xijin.tar.gz):

    cd nlu && PYTHONPATH=. ../.venv-rasa/bin/python ../scripts/nlu_ensemble_estimate.py A.tar.gz B.tar.gz ...
    ... --weights 1,1 --weights 3,1 A.tar.gz B.tar.gz     # the mean weighted per model, one row per --weights

For each held-out and blind file it prints, per language, the intent accuracy of each model alone and of the
(weighted) mean of their intent rankings, with the FallbackClassifier undone as `rasa test nlu` does; and how
many answers are right and also clear the FallbackClassifier (confidence ≥ 0.5, lead ≥ 0.1 over the second),
which is what the live bot acts on without asking again. A label missing from a model's ranking counts 0 for
it (our configs rank every label: `ranking_length: 0`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

LANGUAGES = ("zh_hans", "zh_hant", "en", "ja", "ko")
TESTS = Path(__file__).resolve().parent.parent / "nlu" / "tests"
FALLBACK_THRESHOLD, AMBIGUITY_THRESHOLD = 0.5, 0.1

Ranking = dict[str, float]


async def rankings(models: list[str]) -> dict[tuple[str, str], list[tuple[str, list[Ranking]]]]:
    """For each (split, language): every example's gold intent and each model's ranking of it."""
    agents = [Agent.load(model_path=model) for model in models]
    found: dict[tuple[str, str], list[tuple[str, list[Ranking]]]] = {}
    for split in ("nlu", "blind"):
        for language in LANGUAGES:
            rows = found.setdefault((split, language), [])
            for example in load_data(str(TESTS / split / f"{language}.yml")).intent_examples:
                per_model = []
                for agent in agents:
                    parsed = await agent.parse_message(example.get("text"))
                    per_model.append(
                        {
                            r["name"]: r["confidence"]
                            for r in parsed.get("intent_ranking") or []
                            if r["name"] != "nlu_fallback"
                        }
                    )
                rows.append((example.get("intent").split("/")[0], per_model))
    return found


def score(rows: list[tuple[str, list[Ranking]]], weights: list[float]) -> tuple[int, int]:
    """(right, right and confident) of the weighted mean of the rankings."""
    right = confident = 0
    for gold, per_model in rows:
        mean: Ranking = {}
        for weight, ranking in zip(weights, per_model, strict=True):
            for name, confidence in ranking.items():
                mean[name] = mean.get(name, 0.0) + weight * confidence / sum(weights)
        if not mean:
            continue
        best = max(mean, key=lambda name: mean[name])
        top = [*sorted(mean.values(), reverse=True), 0.0]
        right += best == gold
        confident += best == gold and top[0] >= FALLBACK_THRESHOLD and top[0] - top[1] >= AMBIGUITY_THRESHOLD
    return right, confident


def report(found: dict, models: list[str], weightings: list[list[float]]) -> None:
    rows = [[1.0 if i == j else 0.0 for j in range(len(models))] for i in range(len(models))]
    names = [Path(model).name for model in models]
    names += ["mean " + "/".join(f"{weight:g}" for weight in weights) for weights in weightings]
    for split in ("nlu", "blind"):
        print(f"\n{split}: " + " | ".join(LANGUAGES) + " | right | right and confident | of")
        for name, weights in zip(names, rows + weightings, strict=True):
            cells, right, confident, total = [], 0, 0, 0
            for language in LANGUAGES:
                data = found[(split, language)]
                r, c = score(data, weights)
                cells.append(f"{r / len(data):.3f}")
                right, confident, total = right + r, confident + c, total + len(data)
            print(f"  {name}: " + " | ".join(cells) + f" | {right} | {confident} | {total}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+")
    parser.add_argument("--weights", action="append", default=[], help="comma-separated, one per model")
    args = parser.parse_args()
    weightings = [[float(w) for w in text.split(",")] for text in args.weights] or [[1.0] * len(args.models)]
    if any(len(w) != len(args.models) for w in weightings):
        parser.error("--weights needs one weight per model")
    logging.disable(logging.WARNING)
    report(asyncio.run(rankings(args.models)), args.models, weightings)


if __name__ == "__main__":
    main()
