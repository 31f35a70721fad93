"""Japanese words and their pretrained vectors, for features the character tokens cannot give.

The tokenizer cuts Japanese into characters, so the model knows only words it saw in our training data.
Two published resources give it more:

- Sudachi (`sudachipy`, dictionary `sudachidict_core`) splits a message into words and gives each its
  normalised form: conjugations become the dictionary form (開いて → 開く), spelling variants one spelling
  (わかった → 分かる).
- chiVe word vectors (300 dimensions, trained by Works Applications on the NINJAL Web Japanese Corpus with
  Sudachi's normalised forms) as shipped inside the `ja_ginza` package on PyPI: 飲料水 lies near 水, 株価 near
  価格, so words never seen in training still land near words that were.

Only messages with kana are analysed: kana is what marks a message as Japanese (a Chinese message is Han only,
and Sudachi would read it as Japanese words). No Rasa here; `ja_vectors.JapaneseWordVectors` makes features.
"""

from __future__ import annotations

import importlib.util
import re
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

from xijin_nlu.segment import KANA

_KANA = re.compile(f"[{KANA}]")
_MASK = 0xFFFFFFFFFFFFFFFF


class Word(NamedTuple):
    start: int
    end: int
    forms: tuple[str, ...]  # normalised form, dictionary form, surface: the first one with a vector wins


def has_kana(text: str) -> bool:
    return _KANA.search(text) is not None


class JapaneseAnalyser:
    def __init__(self) -> None:
        # Imported here: Sudachi lives only in Rasa's environment.
        from sudachipy import Dictionary, SplitMode

        self._tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)

    def words(self, text: str) -> list[Word]:
        if not has_kana(text):
            return []
        return [
            Word(m.begin(), m.end(), (m.normalized_form(), m.dictionary_form(), m.surface()))
            for m in self._tokenizer.tokenize(text)
            if m.part_of_speech()[0] not in ("補助記号", "空白")  # punctuation and spaces
        ]


def spacy_hash(text: str) -> int:
    """spaCy's string hash (MurmurHash64A, seed 1, of the UTF-8 bytes): the keys of a spaCy vectors table.

    Written out so that reading the vectors does not need spaCy and its pinned dependencies in Rasa's env."""
    data = text.encode("utf-8")
    m, r = 0xC6A4A7935BD1E995, 47
    h = (1 ^ (len(data) * m)) & _MASK
    whole = len(data) // 8
    for (k,) in struct.iter_unpack("<Q", data[: whole * 8]):
        k = (k * m) & _MASK
        k ^= k >> r
        k = (k * m) & _MASK
        h ^= k
        h = (h * m) & _MASK
    tail = data[whole * 8 :]
    if tail:
        for index, byte in enumerate(tail):
            h ^= byte << (8 * index)
        h = (h * m) & _MASK
    h ^= h >> r
    h = (h * m) & _MASK
    h ^= h >> r
    return h


class WordVectors:
    """A spaCy vectors table on disk: `vocab/vectors` a .npy matrix, `vocab/key2row` msgpack key → row."""

    def __init__(self, vocab: Path) -> None:
        import msgpack

        self.matrix: np.ndarray = np.load(vocab / "vectors", allow_pickle=False)
        self._rows: dict[int, int] = msgpack.unpackb((vocab / "key2row").read_bytes(), strict_map_key=False)

    @property
    def dimensions(self) -> int:
        return int(self.matrix.shape[1])

    def get(self, forms: tuple[str, ...]) -> np.ndarray | None:
        for form in forms:
            row = self._rows.get(spacy_hash(form))
            if row is not None and row >= 0:
                return self.matrix[row]
        return None


def chive_vocab() -> Path:
    """The vocab folder of the installed ja_ginza model package (found, not imported: importing it needs
    spaCy, which the package is installed without)."""
    spec = importlib.util.find_spec("ja_ginza")
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(vocab for folder in folders for vocab in Path(folder).glob("ja_ginza-*/vocab"))
    if not found:
        raise FileNotFoundError("the ja_ginza package (with ja_ginza-*/vocab) is not installed")
    return found[-1]
