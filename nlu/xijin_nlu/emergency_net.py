"""The emergency safety net: a message that names an emergency is `emergency`, whatever the model says.

The classifiers learn emergencies from examples, and a message unlike every example ("有人在打架，還拿刀") can
land anywhere, even on `greet`. The net runs after them (before FallbackClassifier): when the message contains
a term of the lexicon that no look-alike covers, the intent becomes `emergency` with confidence 1.0. The other
way round, when the classifiers say `emergency` without being sure (below `veto_below`) and the message has a
look-alike but no term ("今晚放煙火嗎", "is there a fire drill tomorrow"), their next intent takes its place.
Otherwise the model's intent and ranking stay as they are. Its findings (the kind of emergency, the number
to call first and the ticket category, all from the lexicon) go into the parse result under
`emergency_net`, where the emergency action reads them.

The lexicon is data (`emergency_lexicon.yml` beside this file, or the `lexicon` path of the config): terms per
language and kind, and look-alikes (刀削面, fireworks, "a bit lost") whose words do not count. It is read at
training time and stored in the model, so a model never depends on the working tree; its text is part of the
component's fingerprint, so Rasa retrains this component (and only it) when the lexicon changes.

Matching reads the message as the tokenizer does (NFKC, Han in Simplified, katakana as hiragana, lower case):
- a term with Han, kana or Hangul is a substring of the message with spaces and punctuation removed (Chinese
  and Japanese have no word boundaries; Korean spacing varies: 불이 났어요 / 불이났어요);
- any other term is a sequence of whole words (`fire` is not in `fireworks`); a trailing `*` allows any word
  ending (`stab*`);
- `{a|b}` in a term or look-alike is a choice (`{孩子|小孩}不见了`).
A look-alike hides the words it covers, not the message: "火锅店着火了" still has 着火.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from xijin_nlu.segment import KANA, Segmenter

NLU_DIR = Path(__file__).resolve().parent.parent
DEFAULT_LEXICON = "xijin_nlu/emergency_lexicon.yml"
# Where the net's findings go in the parse result (and so in the tracker's latest message).
OUTPUT_KEY = "emergency_net"
CALLS = ("police", "fire", "ambulance")
_CJK = re.compile(rf"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff{KANA}\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CHOICE = re.compile(r"\{([^{}]*)\}")
_NOT_WORD = re.compile(r"[\W_]+")
# Stands for a look-alike's words once they are hidden: neither a word nor a CJK character.
_HIDDEN = "\x00"


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the language, kind and entry."""


@dataclass(frozen=True)
class Kind:
    name: str
    call: str  # the number given first: police 110, fire 119, ambulance 120
    category: str  # the ticket's issue category


@dataclass(frozen=True)
class Match:
    kind: Kind
    terms: tuple[str, ...]  # the spellings found (one choice of each lexicon entry)

    def as_output(self) -> dict[str, Any]:
        return {
            "kind": self.kind.name,
            "call": self.kind.call,
            "category": self.kind.category,
            "terms": list(self.terms),
        }


_segmenter = Segmenter()


def fold(text: str) -> str:
    """The tokenizer's lemma of every character (NFKC, Simplified, hiragana, lower case), apostrophes dropped
    (can't = cant)."""
    folded = "".join(_segmenter.lemma(char) for char in unicodedata.normalize("NFKC", text))
    return folded.replace("'", "").replace("\u2019", "")


def words_form(folded: str) -> str:
    """Words separated by single spaces, each CJK character a word of its own, with a space at both ends."""
    spaced = _CJK.sub(lambda m: f" {m.group(0)} ", folded)
    return " " + " ".join(part for part in _NOT_WORD.split(spaced) if part) + " "


def compact_form(folded: str) -> str:
    """No spaces and no punctuation: how CJK terms are looked for."""
    return _NOT_WORD.sub("", folded)


def expand(entry: str) -> list[str]:
    """Every spelling an entry stands for: `{a|b}c` is `ac` and `bc`."""
    pieces = _CHOICE.split(entry)
    options = [piece.split("|") if index % 2 else [piece] for index, piece in enumerate(pieces)]
    return ["".join(choice) for choice in itertools.product(*options)]


def is_cjk(term: str) -> bool:
    return bool(_CJK.search(term))


@dataclass(frozen=True)
class _Pattern:
    spelling: str  # one choice of a lexicon entry, as written there
    text: str  # folded: compact for CJK, words for the rest (without the spaces around)
    cjk: bool
    prefix: bool  # Latin words only: `stab*`

    def found_in(self, compact: str, words: str) -> bool:
        if self.cjk:
            return self.text in compact
        return f" {self.text}{'' if self.prefix else ' '}" in words

    def hide_in(self, compact: str, words: str) -> tuple[str, str]:
        if self.cjk:
            return compact.replace(self.text, _HIDDEN), words
        needle = f" {self.text} "
        while needle in words:
            words = words.replace(needle, f" {_HIDDEN} ")
        return compact, words


def _patterns(entry: str, where: str) -> list[_Pattern]:
    if not isinstance(entry, str) or not entry.strip():
        raise LexiconError(f"{where}: an entry must be non-empty text, not {entry!r}")
    found = []
    for spelling in expand(entry.strip()):
        prefix = spelling.endswith("*")
        folded = fold(spelling.rstrip("*"))
        cjk = is_cjk(folded)
        text = compact_form(folded) if cjk else words_form(folded).strip()
        if not text:
            raise LexiconError(f"{where}: {entry!r} has no letters")
        found.append(_Pattern(spelling, text, cjk, prefix and not cjk))
    return found


class Lexicon:
    """Terms per language and kind, look-alikes per language, and the kinds in the order that decides."""

    def __init__(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("kinds"), list):
            raise LexiconError("the lexicon needs a list `kinds` and a mapping `languages`")
        self.kinds: dict[str, Kind] = {}
        for item in data["kinds"]:
            kind = Kind(str(item.get("name")), str(item.get("call")), str(item.get("category")))
            if kind.call not in CALLS:
                raise LexiconError(f"kind {kind.name}: call must be one of {CALLS}, not {kind.call!r}")
            self.kinds[kind.name] = kind
        self._terms: list[tuple[Kind, _Pattern]] = []
        self._look_alikes: list[_Pattern] = []
        for language, sections in (data.get("languages") or {}).items():
            for kind_name, entries in (sections.get("terms") or {}).items():
                if kind_name not in self.kinds:
                    raise LexiconError(f"{language}: unknown kind {kind_name!r}")
                for entry in entries:
                    for pattern in _patterns(entry, f"{language}/{kind_name}"):
                        self._terms.append((self.kinds[kind_name], pattern))
            for entry in sections.get("look_alikes") or []:
                self._look_alikes.extend(_patterns(entry, f"{language}/look_alikes"))
        # Longer look-alikes first, so that one inside another does not cut it in two.
        self._look_alikes.sort(key=lambda pattern: -len(pattern.text))
        self._rank = {name: index for index, name in enumerate(self.kinds)}

    @classmethod
    def from_yaml(cls, text: str) -> Lexicon:
        return cls(yaml.safe_load(text))

    def look_alikes_in(self, text: str) -> tuple[str, ...]:
        """The look-alikes the text contains (their spellings)."""
        folded = fold(text)
        compact, words = compact_form(folded), words_form(folded)
        return tuple(dict.fromkeys(p.spelling for p in self._look_alikes if p.found_in(compact, words)))

    def match(self, text: str) -> Match | None:
        """The emergency the text names (the first kind of the lexicon's order among those found), or None."""
        folded = fold(text)
        compact, words = compact_form(folded), words_form(folded)
        for look_alike in self._look_alikes:
            compact, words = look_alike.hide_in(compact, words)
        found = [(kind, p.spelling) for kind, p in self._terms if p.found_in(compact, words)]
        if not found:
            return None
        first = min((kind for kind, _ in found), key=lambda kind: self._rank[kind.name])
        return Match(first, tuple(dict.fromkeys(spelling for kind, spelling in found if kind == first)))


def lexicon_path(config: dict[str, Any]) -> Path:
    path = Path(config.get("lexicon") or DEFAULT_LEXICON)
    return path if path.is_absolute() else NLU_DIR / path


def raise_emergency(message: Message, intent: str, match: Match) -> None:
    """The intent becomes `intent` at 1.0, the model's other intents keep their order at 0 (so that the
    FallbackClassifier sees no ambiguity); what the model said stays in the net's output."""
    said = message.get(INTENT) or {}
    ranking = [e for e in message.get(INTENT_RANKING_KEY) or [] if e.get("name") != intent]
    top = {"name": intent, "confidence": 1.0}
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top, *({**e, "confidence": 0.0} for e in ranking)], add_to_output=True)
    output = match.as_output()
    output["model_intent"] = {"name": said.get("name"), "confidence": said.get("confidence")}
    message.set(OUTPUT_KEY, output, add_to_output=True)


def lower_emergency(message: Message, intent: str, look_alikes: tuple[str, ...]) -> None:
    """The classifiers' next intent replaces `intent`, which goes last at 0; the net's output says why."""
    said = message.get(INTENT) or {}
    others = [e for e in message.get(INTENT_RANKING_KEY) or [] if e.get("name") != intent]
    if not others:
        return
    message.set(INTENT, dict(others[0]), add_to_output=True)
    message.set(INTENT_RANKING_KEY, [*others, {"name": intent, "confidence": 0.0}], add_to_output=True)
    output = {
        "vetoed": True,
        "look_alikes": list(look_alikes),
        "model_intent": {"name": said.get("name"), "confidence": said.get("confidence")},
    }
    message.set(OUTPUT_KEY, output, add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmergencyNet(GraphComponent):
    _FILE = "emergency_lexicon.yml"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # `lexicon`: relative to nlu/; `intent`: what a matched message becomes; `veto_below`: how sure the
        # classifiers must be of `intent` for a look-alike without a term not to overrule them. On the
        # emergency split and the held-out and blind splits, no line with a look-alike is an emergency, and
        # the classifiers' false alarms on them were at 0.45-0.82 ("오늘 밤에 불꽃놀이 해요?", fireworks
        # tonight, 0.82 with the ensemble of docs/nlu-pipelines.md section 9).
        return {"lexicon": DEFAULT_LEXICON, "intent": "emergency", "veto_below": 0.9}

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        # The lexicon is not graph input: its bytes make a lexicon change retrain this component.
        path = lexicon_path(config)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        lexicon_text: str | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._text = lexicon_text
        self._lexicon = Lexicon.from_yaml(lexicon_text) if lexicon_text is not None else None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyNet:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        intent = self._config["intent"]
        if training_data.training_examples and intent not in training_data.intents:
            raise LexiconError(f"the emergency net's intent {intent!r} is not in the training data")
        text = lexicon_path(self._config).read_text(encoding="utf-8")
        Lexicon.from_yaml(text)  # a malformed lexicon fails the training, not the first emergency
        with self._storage.write_to(self._resource) as folder:
            (folder / self._FILE).write_text(text, encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmergencyNet:
        with model_storage.read_from(resource) as folder:
            text = (folder / cls._FILE).read_text(encoding="utf-8")
        return cls(config, model_storage, resource, text)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._lexicon is None:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            # "/emergency{...}" is a button's payload: its intent is given, and its words are JSON keys.
            match = None if text.startswith(INTENT_MESSAGE_PREFIX) else self._lexicon.match(text)
            if match is not None:
                raise_emergency(message, self._config["intent"], match)
            elif self._unsure_of_intent(message) and (calm := self._lexicon.look_alikes_in(text)):
                lower_emergency(message, self._config["intent"], calm)
        return messages

    def _unsure_of_intent(self, message: Message) -> bool:
        said = message.get(INTENT) or {}
        return (
            said.get("name") == self._config["intent"]
            and float(said.get("confidence") or 0.0) < float(self._config["veto_below"])
            and not (message.get(TEXT) or "").startswith(INTENT_MESSAGE_PREFIX)
        )
