"""Accuracy of our language detector against plain `langdetect.detect` on tests/language/messages.tsv.

A line's language may list alternatives (`zh-Hant|zh-Hans	早安`) when the text is the same in both: either
answer is right, and the line counts under the first, the writer's language. The strict figure, where only
the writer's language is right, is printed too.

Run: .venv/bin/python scripts/language_accuracy.py [path/to/messages.tsv] [--errors] [--timing]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from langdetect import DetectorFactory
from langdetect import detect as plain_langdetect
from langdetect.lang_detect_exception import LangDetectException

from community.language import detect, normalise_code

MESSAGES = Path(__file__).resolve().parent.parent / "tests" / "language" / "messages.tsv"


@dataclass(frozen=True, slots=True)
class Message:
    accepted: tuple[str, ...]  # the writer's language first, then any other the same text is in
    text: str

    @property
    def expected(self) -> str:
        return self.accepted[0]


def load_messages(path: Path = MESSAGES) -> list[Message]:
    """The messages of a `language[|language...]<TAB>text` file; lines starting with # are comments."""
    messages: list[Message] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        languages, sep, text = line.partition("\t")
        if not sep or not text or not languages:
            raise ValueError(f"{path.name}:{number}: expected 'language<TAB>text', got {line!r}")
        messages.append(Message(tuple(languages.split("|")), text))
    return messages


def ours(text: str) -> str:
    return detect(text).language


def plain(text: str) -> str:
    """langdetect alone, seeded, its codes mapped to ours (zh-cn → zh-Hans, zh-tw → zh-Hant)."""
    DetectorFactory.seed = 0  # the documented way to make langdetect deterministic
    try:
        return normalise_code(plain_langdetect(text))
    except LangDetectException:
        return "unknown"  # no features: emoji, digits


@dataclass(frozen=True, slots=True)
class Accuracy:
    overall: float
    strict: float  # only the writer's language counts as right
    per_language: dict[str, float]
    misses: list[tuple[str, str, str]]  # (accepted, got, text)


def accuracy(detector: Callable[[str], str], messages: Sequence[Message]) -> Accuracy:
    """Overall accuracy, accuracy per writer's language, and the misses."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    strict = 0
    misses: list[tuple[str, str, str]] = []
    for message in messages:
        got = detector(message.text)
        total[message.expected] += 1
        strict += got == message.expected
        if got in message.accepted:
            right[message.expected] += 1
        else:
            misses.append(("|".join(message.accepted), got, message.text))
    count = max(1, len(messages))
    return Accuracy(
        overall=sum(right.values()) / count,
        strict=strict / count,
        per_language={language: right[language] / total[language] for language in total},
        misses=misses,
    )


def detection_times(messages: Sequence[Message], rounds: int = 5) -> list[float]:
    """Seconds per detect() call, each message `rounds` times, after one warm-up pass (models loaded)."""
    for message in messages:
        detect(message.text)
    times: list[float] = []
    for _ in range(rounds):
        for message in messages:
            start = time.perf_counter()
            detect(message.text)
            times.append(time.perf_counter() - start)
    return times


def compare(path: Path = MESSAGES, show_errors: bool = False) -> dict[str, Accuracy]:
    """Print both detectors' accuracy, overall and per language; return them by detector name."""
    messages = load_messages(path)
    detectors = (("ours", ours), ("langdetect", plain))
    results = {name: accuracy(detector, messages) for name, detector in detectors}
    counts = Counter(message.expected for message in messages)
    print(f"{len(messages)} messages from {path}")
    print(f"{'language':<10}{'n':>5}{'ours':>9}{'langdetect':>12}")
    for language in sorted(counts, key=lambda lang: (-counts[lang], lang)):
        ours_, plain_ = (results[name].per_language[language] for name, _ in detectors)
        print(f"{language:<10}{counts[language]:>5}{ours_:>9.3f}{plain_:>12.3f}")
    print(f"{'all':<10}{len(messages):>5}{results['ours'].overall:>9.3f}{results['langdetect'].overall:>12.3f}")
    print(f"{'strict':<10}{len(messages):>5}{results['ours'].strict:>9.3f}{results['langdetect'].strict:>12.3f}")
    if show_errors:
        for name, result in results.items():
            print(f"\nmisses of {name} ({len(result.misses)}):")
            for accepted, got, text in result.misses:
                print(f"  expected {accepted:<14} got {got:<8} {text}")
    return results


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    path = Path(arguments[0]) if arguments else MESSAGES
    compare(path, show_errors="--errors" in sys.argv)
    if "--timing" in sys.argv:
        times = sorted(detection_times(load_messages(path)))
        print(
            f"\ndetect(): median {statistics.median(times) * 1e3:.3f} ms, "
            f"90th percentile {times[int(len(times) * 0.9)] * 1e3:.3f} ms, max {times[-1] * 1e3:.3f} ms"
        )
