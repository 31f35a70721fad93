"""Training lines added since a commit that nearly equal a test line (held-out or blind split).

Run from the repository root with the project's environment:

    .venv/bin/python scripts/nlu_near_duplicates.py 34938f8            # list them
    .venv/bin/python scripts/nlu_near_duplicates.py 34938f8 --remove   # and delete them

tests/nlu/test_training_data.py refuses a training line that *equals* a test line. A writer told of such a
collision tends to write a variant of it ("ノー" → "ノーノー"), which teaches the model the test line all the
same. "Nearly equal" here means, after the test's normalisation (no annotations, Simplified, lower case, no
punctuation): one contains the other and the shorter is at least half as long, or difflib similarity ≥ 0.8.
Only lines added since the given commit are checked: older lines were written together with the split.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.nlu.test_training_data import (  # noqa: E402
    BLIND,
    HELD_OUT,
    TRAINING,
    examples,
    file_id,
    files,
    parse_examples,
    plain_text,
)

SIMILARITY = 0.8


def lines_at(revision: str, path: Path) -> set[str]:
    source = subprocess.run(
        ["git", "show", f"{revision}:{path.relative_to(ROOT)}"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    return {line for _, line in parse_examples(source, path.name)} if source else set()


def nearly_equal(a: str, b: str) -> bool:
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    if short in long and len(short) >= max(2, len(long) / 2):
        return True
    matcher = difflib.SequenceMatcher(None, a, b)
    return (
        matcher.real_quick_ratio() >= SIMILARITY
        and matcher.quick_ratio() >= SIMILARITY
        and matcher.ratio() >= SIMILARITY
    )


def near_duplicates(revision: str) -> list[tuple[Path, str, str, str]]:
    """(training file, label, training line, test file) for each new training line near a test line."""
    tests = [
        (file_id(path), plain_text(line))
        for path in files(HELD_OUT) + files(BLIND)
        for _, line in examples(path)
    ]
    found = []
    for path in files(TRAINING):
        old = lines_at(revision, path)
        for label, line in examples(path):
            if line in old:
                continue
            text = plain_text(line)
            hit = next((test_file for test_file, test in tests if nearly_equal(text, test)), None)
            if hit is not None:
                found.append((path, label, line, hit))
    return found


def remove(found: list[tuple[Path, str, str, str]]) -> None:
    by_file: dict[Path, set[str]] = {}
    for path, _, line, _ in found:
        by_file.setdefault(path, set()).add(line)
    for path, lines in by_file.items():
        kept = [
            row
            for row in path.read_text(encoding="utf-8").split("\n")
            if not (row.strip().startswith("- ") and row.strip()[2:].strip() in lines)
        ]
        path.write_text("\n".join(kept), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="commit after which training lines count as new")
    parser.add_argument(
        "--remove", action="store_true", help="delete the lines found from the training files"
    )
    args = parser.parse_args()
    found = near_duplicates(args.revision)
    for path, label, line, test_file in found:
        print(f"{file_id(path)} {label}: {line}   (near a line of {test_file})")
    print(f"{len(found)} new training lines nearly equal a test line", file=sys.stderr)
    if args.remove:
        remove(found)


if __name__ == "__main__":
    main()
