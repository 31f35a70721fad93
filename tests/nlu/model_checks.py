"""Every check of the trained model in one Rasa process: the model is loaded once (30–60 s each time), not
once per check.

What runs is what Rasa's own commands run: `rasa test nlu` is `rasa.nlu.test.run_evaluation` on the loaded
model's processor, `rasa test core` is `rasa.core.test.test` with the loaded agent, and the emergency split is
parsed with `Agent.parse_message`, what the server's `POST /model/parse` calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.nlu_emergency_eval import run_in_rasa

# Runs inside the Rasa env (cwd nlu/): a JSON request on stdin, a JSON answer as the last line of stdout.
_CHECKS = r"""
import asyncio, json, logging, os, sys
from rasa.core.agent import Agent
from rasa.core.test import test as test_stories
from rasa.nlu.test import run_evaluation

logging.disable(logging.WARNING)
request = json.loads(sys.stdin.read())

async def main():
    agent = Agent.load(model_path=request["model"])
    answer = {"parsed": [], "stories": None}
    for name, path in request["nlu_files"].items():
        await run_evaluation(path, agent.processor, output_directory=f"{request['out']}/{name}",
                             successes=False, errors=True, disable_plotting=True, domain_path="domain.yml")
    for text in request["texts"]:
        parsed = await agent.parse_message(text)
        answer["parsed"].append({"text": text, "intent": parsed.get("intent") or {},
                                 "emergency_net": parsed.get("emergency_net")})
    os.makedirs(f"{request['out']}/stories", exist_ok=True)  # the command makes it, the function not
    try:
        await test_stories(request["stories"], agent, out_directory=f"{request['out']}/stories",
                           fail_on_prediction_errors=True, disable_plotting=True)
        answer["stories"] = "passed"
    except Exception as exc:
        answer["stories"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(answer, ensure_ascii=False))

asyncio.run(main())
"""


@dataclass(frozen=True)
class ModelChecks:
    out: Path  # <name>/intent_errors.json per NLU file, stories/failed_test_stories.yml
    parsed: dict[str, dict[str, Any]]  # text -> {"intent", "emergency_net"}
    stories: str  # "passed", or the error the story test raised

    def intent_errors(self, name: str) -> list[dict[str, Any]]:
        path = self.out / name / "intent_errors.json"
        return json.loads(path.read_text()) if path.exists() else []


def run_model_checks(
    model: Path, nlu_files: dict[str, Path], texts: list[str], stories: Path, out: Path
) -> ModelChecks:
    """Loads `model` once in Rasa's environment and runs the NLU evaluation of each file, the parse of each
    text and the test stories."""
    request = {
        "model": str(model),
        "nlu_files": {name: str(path) for name, path in nlu_files.items()},
        "texts": texts,
        "stories": str(stories),
        "out": str(out),
    }
    answer = run_in_rasa(_CHECKS, request, timeout=1200)
    return ModelChecks(out, {p["text"]: p for p in answer["parsed"]}, answer["stories"])
