"""Message catalogue: every fixed text the assistant says, in the five curated languages.

Each `*.yml` beside this file maps a key to its texts: `{zh-Hans, zh-Hant, en, ja, ko}`.
Languages without curated texts get English here; callers that can translate do so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CURATED_LANGUAGES = ("zh-Hans", "zh-Hant", "en", "ja", "ko")
FALLBACK_LANGUAGE = "en"
_DIR = Path(__file__).resolve().parent
# Each language by its own name (a language switcher, the desk choosing which translation to write).
LANGUAGE_NAMES: dict[str, str] = {
    "zh-Hans": "简体中文",
    "zh-Hant": "繁體中文",
    "en": "English",
    "ja": "日本語",
    "ko": "한국어",
    "fr": "Français",
    "de": "Deutsch",
    "es": "Español",
    "it": "Italiano",
    "pt": "Português",
    "ru": "Русский",
    "th": "ไทย",
    "vi": "Tiếng Việt",
    "id": "Bahasa Indonesia",
    "ms": "Bahasa Melayu",
    "ar": "العربية",
}


class CatalogueError(ValueError):
    pass


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    messages: dict[str, dict[str, str]] = {}
    for path in sorted(_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, texts in data.items():
            if key in messages:
                raise CatalogueError(f"{path.name}: message {key!r} is defined twice")
            missing = [lang for lang in CURATED_LANGUAGES if not (texts or {}).get(lang)]
            if missing:
                raise CatalogueError(f"{path.name}: message {key!r}: no text for {', '.join(missing)}")
            messages[key] = texts
    return messages


def is_curated(language: str) -> bool:
    return language in CURATED_LANGUAGES


def t(key: str, language: str, /, **params: Any) -> str:
    """The text of `key` in `language` (English for a language without curated texts).

    `key` and `language` are positional-only so that a text may have placeholders of those names
    (`chat.language_other` has `{language}`)."""
    texts = catalogue()[key]
    template = texts.get(language) or texts[FALLBACK_LANGUAGE]
    text = template.format(**params) if params else template
    return korean_particles(text) if language == "ko" else text


# A Korean particle depends on the sound before it: 화장실을 but 화장대를. Templates write both forms,
# "{type}을(를)"; once the placeholder is filled, the one that fits the word is kept.
_KOREAN_PAIRS = {
    "을(를)": ("을", "를"),
    "이(가)": ("이", "가"),
    "은(는)": ("은", "는"),
    "과(와)": ("과", "와"),
    "으로(로)": ("으로", "로"),
}
_KOREAN_PAIR = re.compile(r"([\uac00-\ud7a3])(" + "|".join(re.escape(p) for p in _KOREAN_PAIRS) + ")")
_RIEUL = 8  # the final consonant ㄹ takes 로, not 으로 (지하철로)


def korean_particles(text: str) -> str:
    """Resolves "을(를)"-style pairs after a Hangul syllable by its final consonant; after anything else
    (a Latin name, a digit) the pair stays, which is still correct Korean."""

    def choose(match: re.Match[str]) -> str:
        syllable, pair = match.group(1), match.group(2)
        final = (ord(syllable) - 0xAC00) % 28
        with_final, without_final = _KOREAN_PAIRS[pair]
        if pair == "으로(로)" and final == _RIEUL:
            return syllable + without_final
        return syllable + (with_final if final else without_final)

    return _KOREAN_PAIR.sub(choose, text)


def pick(texts: dict[str, str], language: str) -> str:
    """One language out of a {lang: text} mapping from the knowledge base, with a sensible fallback."""
    if texts.get(language):
        return texts[language]
    if language == "zh-Hant" and texts.get("zh-Hans"):
        return texts["zh-Hans"]
    return texts.get(FALLBACK_LANGUAGE) or next(iter(texts.values()), "")
