"""Accuracy of our language detector against plain `langdetect.detect` on tests/language/messages.tsv.

Run: .venv/bin/python scripts/language_accuracy.py [path/to/messages.tsv] [--errors]
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from langdetect import DetectorFactory
from langdetect import detect as plain_langdetect
from langdetect.lang_detect_exception import LangDetectException

from community.language import detect, normalise_code

MESSAGES = Path(__file__).resolve().parent.parent / "tests" / "language" / "messages.tsv"


def load_messages(path: Path = MESSAGES) -> list[tuple[str, str]]:
    """(expected language, text) pairs; lines starting with # are comments."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        expected, sep, text = line.partition("\t")
        if not sep or not text:
            raise ValueError(f"{path.name}:{number}: expected 'language<TAB>text', got {line!r}")
        pairs.append((expected, text))
    return pairs


def ours(text: str) -> str:
    return detect(text).language


def plain(text: str) -> str:
    """langdetect alone, seeded, its codes mapped to ours (zh-cn → zh-Hans, zh-tw → zh-Hant)."""
    DetectorFactory.seed = 0  # the documented way to make langdetect deterministic
    try:
        return normalise_code(plain_langdetect(text))
    except LangDetectException:
        return "unknown"  # no features: emoji, digits


def accuracy(
    detector: Callable[[str], str], pairs: Sequence[tuple[str, str]]
) -> tuple[float, dict[str, float], list[tuple[str, str, str]]]:
    """Overall accuracy, accuracy per expected language, and the misses (expected, got, text)."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: list[tuple[str, str, str]] = []
    for expected, text in pairs:
        got = detector(text)
        total[expected] += 1
        if got == expected:
            right[expected] += 1
        else:
            misses.append((expected, got, text))
    overall = sum(right.values()) / max(1, sum(total.values()))
    return overall, {lang: right[lang] / total[lang] for lang in total}, misses


def compare(path: Path = MESSAGES, show_errors: bool = False) -> dict[str, dict[str, float]]:
    """Print both detectors' accuracy, overall and per language; return {detector: {language|all: acc}}."""
    pairs = load_messages(path)
    results: dict[str, dict[str, float]] = {}
    all_misses: dict[str, list[tuple[str, str, str]]] = {}
    for name, detector in (("ours", ours), ("langdetect", plain)):
        overall, per_language, misses = accuracy(detector, pairs)
        results[name] = {"all": overall, **per_language}
        all_misses[name] = misses

    counts = Counter(expected for expected, _ in pairs)
    print(f"{len(pairs)} messages from {path}")
    print(f"{'language':<10}{'n':>5}{'ours':>9}{'langdetect':>12}")
    for language in sorted(counts, key=lambda lang: (-counts[lang], lang)):
        print(
            f"{language:<10}{counts[language]:>5}"
            f"{results['ours'][language]:>9.3f}{results['langdetect'][language]:>12.3f}"
        )
    print(f"{'all':<10}{len(pairs):>5}{results['ours']['all']:>9.3f}{results['langdetect']['all']:>12.3f}")
    if show_errors:
        for name, misses in all_misses.items():
            print(f"\nmisses of {name} ({len(misses)}):")
            for expected, got, text in misses:
                print(f"  expected {expected:<8} got {got:<8} {text}")
    return results


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    compare(Path(arguments[0]) if arguments else MESSAGES, show_errors="--errors" in sys.argv)
