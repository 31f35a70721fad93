"""The NLU data files themselves: labels, entity values, counts, and a held-out split that stays held out.

Runs without Rasa (plain YAML), so a data mistake is named by file, intent and example before any training.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import opencc
import pytest
import yaml

from community.settings import PROJECT_ROOT

NLU = PROJECT_ROOT / "nlu"
LANGUAGES = ("zh_hans", "zh_hant", "en", "ja", "ko")
INTENTS = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_help", "set_language", "find_service",
    "report_issue", "emergency", "check_ticket", "talk_to_human", "out_of_scope", "book_service",
}  # fmt: skip
FAQ_TOPICS = {
    "opening_hours", "entry_fee", "history", "attractions", "getting_there", "parking", "food",
    "guide_service", "luggage", "wifi", "accessibility", "volunteer", "consultation",
}  # fmt: skip
ENTITY_VALUES = {
    "service_type": {
        "toilet", "first_aid", "charging", "luggage", "drinking_water", "guide", "volunteer_station",
        "police", "atm", "lost_and_found", "service_point",
    },
    "issue_category": {
        "lighting", "sanitation", "water_leak", "road_damage", "noise", "safety_hazard", "lost_item",
        "elderly_help", "vendor_dispute", "other", "first_aid", "missing_person", "fire",
    },
    "language": {"zh-Hans", "zh-Hant", "en", "ja", "ko", "fr", "de", "es", "ru", "th", "vi"},
}  # fmt: skip
MIN_TRAINING, MIN_HELD_OUT = 15, 6
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\{(?P<json>[^}]*)\}|\((?P<short>[^)]+)\))")


@cache
def landmark_ids() -> frozenset[str]:
    grids = yaml.safe_load((PROJECT_ROOT / "knowledge" / "grids.yml").read_text(encoding="utf-8"))
    return frozenset(landmark["id"] for landmark in grids["landmarks"])


def examples(path: Path) -> list[tuple[str, str]]:
    """(label, example) pairs of one Rasa NLU file; the label is the intent or `faq/<topic>`."""
    return parse_examples(path.read_text(encoding="utf-8"), path.name)


def parse_examples(source: str, name: str) -> list[tuple[str, str]]:
    """(label, example) pairs of the text of a Rasa NLU file called `name` (for messages)."""
    pairs = []
    for block in yaml.safe_load(source)["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip():
                assert line.startswith("- "), f"{name}: {block['intent']}: not a list item: {line!r}"
                pairs.append((block["intent"], line[2:].strip()))
    return pairs


def example_text(example: str) -> str:
    """The message text of an example: entity annotations replaced by the words they annotate."""
    return ANNOTATION.sub(lambda match: match["text"], example)


_to_simplified = opencc.OpenCC("t2s")


def plain_text(example: str) -> str:
    """What a reader sees: no annotations, Simplified, lower case, no punctuation or spaces (emoji kept)."""
    text = _to_simplified.convert(unicodedata.normalize("NFKC", example_text(example))).casefold()
    return "".join(char for char in text if unicodedata.category(char)[0] in "LNS")


TRAINING, HELD_OUT, BLIND = NLU / "data" / "nlu", NLU / "tests" / "nlu", NLU / "tests" / "blind"


def files(directory: Path) -> list[Path]:
    return [directory / f"{language}.yml" for language in LANGUAGES]


def file_id(path: Path) -> str:
    return str(path.relative_to(NLU))


@pytest.mark.parametrize("path", files(TRAINING) + files(HELD_OUT) + files(BLIND), ids=file_id)
def test_every_label_and_entity_value_is_one_the_assistant_knows(path: Path) -> None:
    problems = []
    for label, example in examples(path):
        intent, _, topic = label.partition("/")
        if (
            (intent not in INTENTS and intent != "faq")
            or (intent == "faq") != bool(topic)
            or (topic and topic not in FAQ_TOPICS)
        ):
            problems.append(f"{label}: unknown label")
        for match in ANNOTATION.finditer(example):
            if match["short"]:
                problems.append(f"{label}: {example!r}: give the entity as JSON with its value")
                continue
            entity = yaml.safe_load("{" + match["json"] + "}")
            name = entity.get("entity")
            known = landmark_ids() if name == "landmark" else ENTITY_VALUES.get(name)
            if known is None or entity.get("value") not in known:
                problems.append(f"{label}: {example!r}: entity {entity} is not a known entity value")
    assert not problems, f"{path}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_has_enough_training_and_held_out_examples(language: str) -> None:
    labels = sorted(INTENTS | {f"faq/{topic}" for topic in FAQ_TOPICS})
    training = Counter(label for label, _ in examples(TRAINING / f"{language}.yml"))
    held_out = Counter(label for label, _ in examples(HELD_OUT / f"{language}.yml"))
    short = [f"{label}: {training[label]} training" for label in labels if training[label] < MIN_TRAINING]
    short += [f"{label}: {held_out[label]} held out" for label in labels if held_out[label] < MIN_HELD_OUT]
    assert not short, f"{language}: too few examples:\n" + "\n".join(short)


def test_no_held_out_sentence_is_in_the_training_data() -> None:
    """Test scores mean something only if no test sentence was trained on, in any language file.

    The message names the training line only: whoever writes training data should not read the test lines.
    """
    training: dict[str, str] = {}
    for path in files(TRAINING):
        for label, example in examples(path):
            training.setdefault(plain_text(example), f"{file_id(path)} {label}: {example!r}")
    leaked = sorted(
        f"{training[plain_text(example)]} equals a line of {file_id(path)}"
        for path in files(HELD_OUT) + files(BLIND)
        for _, example in examples(path)
        if plain_text(example) in training
    )
    assert not leaked, "\n".join(leaked)


def test_no_training_sentence_is_given_twice_with_different_labels() -> None:
    """Across all files: one model learns them all, and `rasa data validate` rejects such a conflict."""
    labels: dict[str, set[str]] = {}
    for path in files(TRAINING):
        for label, example in examples(path):
            labels.setdefault(plain_text(example), set()).add(f"{label} ({file_id(path)})")
    conflicting = {
        text: sorted(found) for text, found in labels.items() if len({f.split()[0] for f in found}) > 1
    }
    assert not conflicting, f"the same sentence under different labels: {conflicting}"


def test_each_annotated_text_has_one_value_in_all_training_files() -> None:
    """Rasa makes every annotation whose text differs from its value a synonym for all entities; one text with
    two values ("充电宝" a service and a lost item) makes `rasa data validate` warn and one of them wrong."""
    values: dict[str, dict[str, str]] = {}
    for path in files(TRAINING):
        for label, example in examples(path):
            for match in ANNOTATION.finditer(example):
                if match["json"] is None:
                    continue
                value = str(yaml.safe_load("{" + match["json"] + "}").get("value"))
                where = f"{file_id(path)} {label}: {example}"
                if match["text"] != value:
                    values.setdefault(match["text"], {}).setdefault(value, where)
    conflicting = {text: found for text, found in values.items() if len(found) > 1}
    assert not conflicting, "\n".join(
        f"{text!r}: " + "; ".join(f"{value} in {where}" for value, where in found.items())
        for text, found in conflicting.items()
    )
