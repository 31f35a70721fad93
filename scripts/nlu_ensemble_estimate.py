"""Estimate what averaging several trained NLU models would score, before building the ensemble into a config.

Run inside Rasa's env from nlu/ (models from `scripts/nlu_eval.py --keep DIR`):

    cd nlu && PYTHONPATH=. ../.venv-rasa/bin/python ../scripts/nlu_ensemble_estimate.py A.tar.gz B.tar.gz ...

For each held-out and blind file it prints, per language, the intent accuracy of each model alone and of the
mean of their intent rankings (the FallbackClassifier undone, as `rasa test nlu` does). Rankings are DIET's
top 10, so a label outside a model's top 10 counts 0 for it: a slight underestimate of the real ensemble
(xijin_nlu/voting_diet.py ranks every label).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

LANGUAGES = ("zh_hans", "zh_hant", "en", "ja", "ko")
TESTS = Path(__file__).resolve().parent.parent / "nlu" / "tests"


async def estimate(models: list[str]) -> None:
    agents = [Agent.load(model_path=model) for model in models]
    for split in ("nlu", "blind"):
        row = []
        for language in LANGUAGES:
            right = [0] * (len(agents) + 1)
            examples = load_data(str(TESTS / split / f"{language}.yml")).intent_examples
            for example in examples:
                gold = example.get("intent").split("/")[0]
                totals: dict[str, float] = {}
                for index, agent in enumerate(agents):
                    parsed = await agent.parse_message(example.get("text"))
                    ranking = [r for r in parsed.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
                    right[index] += bool(ranking) and ranking[0]["name"] == gold
                    for entry in ranking:
                        totals[entry["name"]] = totals.get(entry["name"], 0.0) + entry["confidence"]
                right[-1] += bool(totals) and max(totals, key=lambda name: totals[name]) == gold
            row.append(f"{language} " + "/".join(f"{count / len(examples):.3f}" for count in right))
        print(split, " | ".join(row), "(each model alone / mean)", flush=True)


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    asyncio.run(estimate(sys.argv[1:]))
