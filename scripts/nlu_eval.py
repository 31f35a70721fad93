"""Train NLU pipelines and score them on the held-out split, one language at a time.

Run with the system Python from the repository root (it shells out to the Rasa env in .venv-rasa):

    python3 scripts/nlu_eval.py                                   # nlu/config.yml
    python3 scripts/nlu_eval.py --config nlu/pipelines/*.yml      # compare; prints a Markdown table
    python3 scripts/nlu_eval.py --config nlu/pipelines/*.yml --write   # ... into docs/nlu-pipelines.md

For each config: `rasa train nlu` into a temporary directory (NLU only, with a fresh Rasa cache so the
training time is a cold one), then the evaluation that `rasa test nlu --nlu tests/nlu/<lang>.yml` runs, for
each of the five held-out files separately, in one Rasa process (the model is loaded once; the reports are the
same `intent_report.json` etc. that `rasa test nlu` writes). Reported: intent accuracy per language and pooled
over all held-out examples; the share that is right and at or above the FallbackClassifier threshold (`rasa
test nlu` undoes fallback predictions, so it never counts `nlu_fallback` as an error); response-selection
accuracy on the `faq` topics; entity micro-F1; and training time (wall clock of `rasa train nlu`, Python
start-up included).

`--keep DIR` keeps the models and the per-language reports (intent_errors.json shows what went wrong).
`--json FILE` writes the results as JSON. Results are cached in --cache-dir keyed by the config text and the
contents of the NLU data and held-out files, so re-running a comparison only trains what changed
(`--no-cache` to retrain anyway).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = ROOT / "nlu"
RASA_BIN = ROOT / ".venv-rasa" / "bin"
DOC = ROOT / "docs" / "nlu-pipelines.md"
LANGUAGES = ["zh_hans", "zh_hant", "en", "ja", "ko"]
LANGUAGE_LABELS = {"zh_hans": "zh-Hans", "zh_hant": "zh-Hant", "en": "en", "ja": "ja", "ko": "ko"}
TABLE_START = "<!-- nlu_eval:table:start -->"
TABLE_END = "<!-- nlu_eval:table:end -->"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "xijin_nlu_eval_cache"
# A second test split, written after the held-out split had been used to make choices, by writers who saw
# neither it nor the training data (docs/nlu-pipelines.md). It is reported, never used to choose.
BLIND_DIR = NLU_DIR / "tests" / "blind"

# Runs inside the Rasa env: what `rasa test nlu` does (rasa.model_testing.test_nlu), for several files with
# one loaded model.
_EVALUATE = r"""
import asyncio, json, logging, sys
from rasa.core.agent import Agent
from rasa.nlu.test import run_evaluation

logging.disable(logging.WARNING)
model, out_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]

async def main():
    agent = Agent.load(model_path=model)
    for item in files:
        lang, path = item.split("=", 1)
        await run_evaluation(path, agent.processor, output_directory=f"{out_dir}/{lang}",
                             successes=True, errors=True, disable_plotting=True, domain_path="domain.yml")

asyncio.run(main())
"""


def _rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        ACTION_SERVER_URL=env.get("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook"),
        PYTHONPATH=str(NLU_DIR),
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONWARNINGS="ignore",
    )
    return env


def _fingerprint(config: Path) -> str:
    digest = hashlib.sha256(config.read_bytes())
    for folder in (NLU_DIR / "data" / "nlu", NLU_DIR / "tests" / "nlu", BLIND_DIR, NLU_DIR / "xijin_nlu"):
        for path in sorted(folder.glob("*.*")):
            if path.suffix in {".yml", ".py"}:
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _run(cmd: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("w") as handle:
        proc = subprocess.run(cmd, cwd=NLU_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}); log {log}:\n{tail}")


def _fallback_threshold(config: Path) -> float:
    """The FallbackClassifier threshold of a config (0 without one). `rasa test nlu` undoes fallback
    predictions (it scores the intent underneath), so this is only used for the confident-accuracy column."""
    import yaml

    for component in (yaml.safe_load(config.read_text()) or {}).get("pipeline", []):
        if str(component.get("name", "")).endswith("FallbackClassifier"):
            return float(component.get("threshold", 0.3))
    return 0.0


def evaluate(config: Path, work: Path) -> dict:
    """Train `config` (NLU only) into `work` and score every held-out file; returns the results."""
    config = config.resolve()
    name = config.stem
    work.mkdir(parents=True, exist_ok=True)
    env = _rasa_env()
    env["RASA_CACHE_DIRECTORY"] = str(work / "rasa-cache")  # cold cache: honest training time
    models = work / "models"
    start = time.monotonic()
    _run(
        [
            str(RASA_BIN / "rasa"),
            "train",
            "nlu",
            "--nlu",
            "data",
            "--config",
            str(config),
            "--out",
            str(models),
            "--fixed-model-name",
            name,
        ],
        work / "train.log",
        env,
    )
    train_seconds = time.monotonic() - start
    model = models / f"{name}.tar.gz"
    files = [f"{lang}={NLU_DIR / 'tests' / 'nlu' / f'{lang}.yml'}" for lang in LANGUAGES]
    files += [
        f"blind_{lang}={BLIND_DIR / f'{lang}.yml'}"
        for lang in LANGUAGES
        if (BLIND_DIR / f"{lang}.yml").exists()
    ]
    _run(
        [str(RASA_BIN / "python"), "-c", _EVALUATE, str(model), str(work / "results"), *files],
        work / "test.log",
        env,
    )
    return collect(config, work / "results", train_seconds)


def collect(config: Path, results_dir: Path, train_seconds: float) -> dict:
    """Read the per-language reports under `results_dir` (one folder per language)."""
    name = config.stem
    result: dict = {
        "config": name,
        "path": str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else str(config),
        "train_seconds": round(train_seconds, 1),
        "languages": {},
    }
    threshold = _fallback_threshold(config)
    result["fallback_threshold"] = threshold
    correct = total = rs_correct = rs_total = confident_total = 0
    entity_tp = entity_support = entity_predicted = 0.0
    for lang in LANGUAGES:
        out = results_dir / lang
        report = json.loads((out / "intent_report.json").read_text())
        support = report["weighted avg"]["support"]
        errors_path = out / "intent_errors.json"
        errors = json.loads(errors_path.read_text()) if errors_path.exists() else []
        successes_path = out / "intent_successes.json"
        successes = json.loads(successes_path.read_text()) if successes_path.exists() else []
        confident = sum(1 for e in successes if e["intent_prediction"]["confidence"] >= threshold)
        rs_path = out / "response_selection_report.json"
        rs = json.loads(rs_path.read_text()) if rs_path.exists() else None
        lang_result = {
            "accuracy": report["accuracy"],
            "support": support,
            # correct AND at or above the FallbackClassifier threshold: what the live bot would act on
            "confident_accuracy": confident / support if support else 0.0,
            "errors": [
                {
                    "text": e["text"],
                    "intent": e["intent"],
                    "predicted": e["intent_prediction"]["name"],
                    "confidence": round(e["intent_prediction"]["confidence"], 3),
                }
                for e in errors
            ],
            "f1": {
                k: v["f1-score"]
                for k, v in report.items()
                if isinstance(v, dict)
                and "f1-score" in v
                and k not in {"macro avg", "weighted avg", "micro avg"}
            },
        }
        confident_total += confident
        correct += round(report["accuracy"] * support)
        total += support
        if rs is not None:
            rs_support = rs["weighted avg"]["support"]
            lang_result["response_selection_accuracy"] = rs["accuracy"]
            rs_correct += round(rs["accuracy"] * rs_support)
            rs_total += rs_support
        entity_reports = sorted(out.glob("*_report.json"))
        entity_reports = [
            p
            for p in entity_reports
            if p.name not in {"intent_report.json", "response_selection_report.json"}
        ]
        if entity_reports:  # DIETClassifier_report.json: entity extraction on the held-out annotations
            entity = json.loads(entity_reports[0].read_text())
            micro = entity.get("micro avg", {})
            lang_result["entity_f1"] = micro.get("f1-score")
            entity_tp += micro.get("recall", 0.0) * micro.get("support", 0)
            entity_support += micro.get("support", 0)
            entity_predicted += (
                micro.get("recall", 0.0) * micro.get("support", 0) / micro["precision"]
                if micro.get("precision")
                else 0
            )
        result["languages"][lang] = lang_result
    result["overall"] = correct / total if total else 0.0
    precision = entity_tp / entity_predicted if entity_predicted else 0.0
    recall = entity_tp / entity_support if entity_support else 0.0
    result["entity_f1"] = 2 * precision * recall / (precision + recall) if precision + recall else None
    result["confident_overall"] = confident_total / total if total else 0.0
    result["min_language"] = min(v["accuracy"] for v in result["languages"].values())
    result["response_selection"] = rs_correct / rs_total if rs_total else None
    blind = {}
    for lang in LANGUAGES:
        report_path = results_dir / f"blind_{lang}" / "intent_report.json"
        if report_path.exists():
            report = json.loads(report_path.read_text())
            blind[lang] = (report["accuracy"], report["weighted avg"]["support"])
    if blind:
        result["blind"] = {lang: accuracy for lang, (accuracy, _) in blind.items()}
        result["blind_overall"] = sum(a * n for a, n in blind.values()) / sum(n for _, n in blind.values())
    return result


def evaluate_cached(config: Path, cache_dir: Path | None, keep: Path | None) -> dict:
    key = _fingerprint(config)
    cached = cache_dir / f"{config.stem}-{key}.json" if cache_dir else None
    if cached is not None and cached.exists():
        print(f"[nlu_eval] {config.stem}: cached result ({cached})", file=sys.stderr)
        return json.loads(cached.read_text())
    print(f"[nlu_eval] {config.stem}: training and testing ...", file=sys.stderr, flush=True)
    if keep is not None:
        result = evaluate(config, keep / config.stem)
    else:
        with tempfile.TemporaryDirectory(prefix=f"nlu_eval_{config.stem}_") as tmp:
            result = evaluate(config, Path(tmp))
    result["fingerprint"] = key
    if cached is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return result


def summary(result: dict) -> str:
    langs = "  ".join(f"{LANGUAGE_LABELS[k]} {v['accuracy']:.3f}" for k, v in result["languages"].items())
    rs = result["response_selection"]
    rs_text = f"  | faq topics {rs:.3f}" if rs is not None else ""
    if result.get("entity_f1") is not None:
        rs_text += f"  entities {result['entity_f1']:.3f}"
    if result.get("blind"):
        blind = "  ".join(f"{LANGUAGE_LABELS[k]} {v:.3f}" for k, v in result["blind"].items())
        rs_text += f"\n    blind: {blind}  | overall {result['blind_overall']:.3f}"
    return (
        f"{result['config']}: {langs}  | overall {result['overall']:.3f}  min {result['min_language']:.3f}"
        f"  confident {result.get('confident_overall', float('nan')):.3f}{rs_text}"
        f"  | train {result['train_seconds']:.0f}s"
    )


def table(results: list[dict]) -> str:
    head = [
        "pipeline",
        *(LANGUAGE_LABELS[k] for k in LANGUAGES),
        "overall",
        "worst lang",
        "overall ≥ fallback thr.",
        "faq topic (RS)",
        "entity F1",
        "blind: overall / worst",
        "train NLU (s)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    best = max(results, key=lambda r: (r["min_language"], r["overall"]))
    for r in results:
        name = f"**{r['config']}**" if r is best and len(results) > 1 else r["config"]
        cells = [f"[{name}]({Path('..') / r['path']})" if not r["path"].startswith("/") else name]
        cells += [f"{r['languages'][k]['accuracy']:.3f}" for k in LANGUAGES]
        conf = r.get("confident_overall")
        cells += [
            f"{r['overall']:.3f}",
            f"{r['min_language']:.3f}",
            f"{conf:.3f} (≥{r['fallback_threshold']:g})" if conf is not None else "–",
            f"{r['response_selection']:.3f}" if r["response_selection"] is not None else "–",
            f"{r['entity_f1']:.3f}" if r.get("entity_f1") is not None else "–",
            f"{r['blind_overall']:.3f} / {min(r['blind'].values()):.3f}" if r.get("blind") else "–",
            f"{r['train_seconds']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_doc(markdown: str) -> None:
    block = f"{TABLE_START}\n{markdown}\n{TABLE_END}"
    if DOC.exists() and TABLE_START in DOC.read_text() and TABLE_END in DOC.read_text():
        text = DOC.read_text()
        before, rest = text.split(TABLE_START, 1)
        after = rest.split(TABLE_END, 1)[1]
        DOC.write_text(before + block + after)
    else:
        DOC.write_text(
            "# NLU pipelines compared\n\nGenerated by `python3 scripts/nlu_eval.py --config "
            "nlu/pipelines/*.yml --write`.\n\n" + block + "\n"
        )
    print(f"[nlu_eval] table written to {DOC}", file=sys.stderr)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", nargs="+", type=Path, default=[NLU_DIR / "config.yml"])
    parser.add_argument("--write", action="store_true", help=f"put the table into {DOC.relative_to(ROOT)}")
    parser.add_argument("--keep", type=Path, help="keep models and reports under this directory")
    parser.add_argument("--json", type=Path, help="write all results (errors included) to this file")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--errors", action="store_true", help="print the misclassified held-out examples")
    args = parser.parse_args(argv)

    results = []
    for config in args.config:
        result = evaluate_cached(config, None if args.no_cache else args.cache_dir, args.keep)
        results.append(result)
        print(summary(result), flush=True)
        if args.errors:
            for lang, v in result["languages"].items():
                for e in v["errors"]:
                    line = f"{e['intent']:>14} -> {e['predicted']:<14} {e['confidence']:.2f}  {e['text']}"
                    print(f"   {lang:8} {line}")
    markdown = table(results)
    print("\n" + markdown)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    if args.write:
        write_doc(markdown)
    return results


if __name__ == "__main__":
    main()
