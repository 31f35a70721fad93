"""Recall and false alarms of the emergency intent on the emergency split, per language.

Run with the project's Python from the repository root (the model is run in the Rasa env, .venv-rasa):

    python3 scripts/nlu_emergency_eval.py                         # nlu/models/xijin.tar.gz
    python3 scripts/nlu_emergency_eval.py --model /tmp/m.tar.gz --errors

The split (nlu/tests/emergency/emergency.tsv: language, expected, kind, text) was written without sight of the
training data: in each language, emergencies of every kind and as many non-emergencies that look like one.
Each line is parsed by the trained model as Rasa's server parses a message (`Agent.parse_message`, what
`POST /model/parse` calls), fallback included: a line counts as an emergency when the intent that comes out is
`emergency`. Reported per language: recall (emergencies recognised / emergencies), the false-alarm rate
(non-emergencies read as emergencies / non-emergencies), and how many emergencies the classifiers alone had
recognised (the intent before the emergency net, which the net keeps in its output).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = ROOT / "nlu"
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
MODEL = NLU_DIR / "models" / "xijin.tar.gz"
SPLIT = NLU_DIR / "tests" / "emergency" / "emergency.tsv"
LANGUAGES = ("zh-Hans", "zh-Hant", "en", "ja", "ko")
EMERGENCY = "emergency"

# Runs inside the Rasa env: one loaded model, every text parsed; prints a JSON list.
_PARSE = r"""
import asyncio, json, logging, sys
from rasa.core.agent import Agent

logging.disable(logging.WARNING)
model, texts = sys.argv[1], json.loads(sys.stdin.read())

async def main():
    agent = Agent.load(model_path=model)
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        out.append({"intent": parsed.get("intent") or {}, "emergency_net": parsed.get("emergency_net")})
    print(json.dumps(out, ensure_ascii=False))

asyncio.run(main())
"""


def read_split(path: Path = SPLIT) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def run_in_rasa(script: str, payload: Any, *args: str, timeout: int = 900) -> Any:
    """Runs `script` with Rasa's Python (cwd nlu/), `payload` as JSON on its stdin; returns the JSON of the
    last line it printed."""
    env = dict(
        os.environ,
        PYTHONPATH=str(NLU_DIR),
        RASA_TELEMETRY_ENABLED="false",
        ACTION_SERVER_URL=os.environ.get("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook"),
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONWARNINGS="ignore",
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script, *args],
        input=json.dumps(payload, ensure_ascii=False),
        cwd=NLU_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"Rasa's Python failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def parse(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    """The parse result of each text by `model`, in Rasa's environment."""
    return run_in_rasa(_PARSE, texts, str(model))


def score(rows: list[dict[str, str]], parsed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per language: counts, recall, false-alarm rate, the classifiers' own recall, the lines that erred."""
    languages: dict[str, dict[str, Any]] = {}
    for row, result in zip(rows, parsed, strict=True):
        stats = languages.setdefault(
            row["language"],
            {"emergencies": 0, "recognised": 0, "by_model": 0, "others": 0, "false_alarms": 0, "errors": []},
        )
        said = (result.get("intent") or {}).get("name")
        net = result.get("emergency_net") or {}
        model_said = (net.get("model_intent") or {}).get("name") if net else said
        if row["expected"] == EMERGENCY:
            stats["emergencies"] += 1
            stats["recognised"] += said == EMERGENCY
            stats["by_model"] += model_said == EMERGENCY
            wrong = said != EMERGENCY
        else:
            stats["others"] += 1
            stats["false_alarms"] += said == EMERGENCY
            wrong = said == EMERGENCY
        if wrong:
            stats["errors"].append(
                {**row, "predicted": said, "net": net.get("kind"), "terms": net.get("terms")}
            )
    for stats in languages.values():
        stats["recall"] = stats["recognised"] / stats["emergencies"] if stats["emergencies"] else 0.0
        stats["model_recall"] = stats["by_model"] / stats["emergencies"] if stats["emergencies"] else 0.0
        stats["false_alarm_rate"] = stats["false_alarms"] / stats["others"] if stats["others"] else 0.0
    return {"languages": languages, "net_in_model": any(r.get("emergency_net") for r in parsed)}


def measure(model: Path = MODEL, split: Path = SPLIT) -> dict[str, Any]:
    rows = read_split(split)
    return score(rows, parse(model, [row["text"] for row in rows]))


def table(result: dict[str, Any]) -> str:
    lines = [
        "| language | emergencies | recall | classifiers alone | non-emergencies | false alarms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for language in LANGUAGES:
        s = result["languages"].get(language)
        if s is None:
            continue
        lines.append(
            f"| {language} | {s['emergencies']} | {s['recall']:.2f} | {s['model_recall']:.2f} | "
            f"{s['others']} | {s['false_alarms']} ({s['false_alarm_rate']:.1%}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--split", type=Path, default=SPLIT)
    parser.add_argument("--errors", action="store_true", help="print the lines that erred")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args(argv)
    result = measure(args.model, args.split)
    if not result["net_in_model"]:
        print("[nlu_emergency_eval] the model has no emergency net (trained before it?)", file=sys.stderr)
    print(table(result))
    if args.errors:
        for language in LANGUAGES:
            for e in result["languages"].get(language, {}).get("errors", []):
                said = f"{e['expected']:>9} -> {e['predicted']:<14}"
                print(f"  {language:8} {said} {e['kind']:<14} {e['text']}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
