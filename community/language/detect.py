"""Language detection of short chat messages.

Script decides first, because a script is certain evidence and statistics on three words are not:
Hangul → ko, kana → ja, Han only → Chinese (Simplified vs Traditional told apart with OpenCC), Thai → th,
Cyrillic → ru, Arabic → ar. Latin-script text goes to `community.language.latin`: `langdetect` and `lingua`
restricted to the Latin candidate languages, weighed against common words of each language ("wo", "ist",
"tandas"), because on three words either detector alone is close to a coin toss. Alone, `langdetect`
misreads about one short message in four here (short Chinese mostly as Korean); see
`scripts/language_accuracy.py`.

A message that carries no usable evidence (one ambiguous word such as "ok", "taxi" or "wifi", emoji, digits,
a URL) or whose Latin-script evidence is weak never flips the user's language: `previous` is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import opencc
from opencc import OpenCC

from community.language.latin import CONFIDENCE_THRESHOLD, hint_languages, letter_languages, single_word, vote

# Languages with hand-written answers; every other language is machine-translated.
CURATED: Final = ("zh-Hans", "zh-Hant", "en", "ja", "ko")
# Every code `detect` can return (besides a caller's own `previous`).
SUPPORTED: Final = (*CURATED, "fr", "de", "es", "it", "pt", "ru", "th", "vi", "ar", "id", "ms")
DEFAULT_LANGUAGE: Final = "en"

# Confidence reported when the text is Chinese but has no character that only one script uses (你好).
AMBIGUOUS_CHINESE_CONFIDENCE: Final = 0.5

# Method names reported in `Detection.method`.
SCRIPT: Final = "script"
OPENCC: Final = "opencc"
DIACRITICS: Final = "diacritics"
LEXICON: Final = "lexicon"
VOTE: Final = "vote"  # langdetect, lingua and the hint words together
KEPT: Final = "kept"


@dataclass(frozen=True, slots=True)
class Detection:
    language: str
    # How sure the text itself makes us, 0..1; 0.0 when the language was kept for lack of evidence.
    confidence: float
    # One of script, opencc, diacritics, lexicon, vote, kept.
    method: str


def normalise_code(code: str) -> str:
    """Map a BCP 47 tag as Telegram sends it (`zh-hans`, `zh-TW`, `en-US`, `pt_br`) to our codes.

    Chinese gets a script: Hant for an explicit `hant` subtag or a Traditional region (TW, HK, MO), Hans
    otherwise, including a bare `zh` (most users of a bare `zh` in mainland China write Simplified).
    Other tags keep their lowercase primary subtag, so a language we do not support comes back as itself
    (`nl`) and the caller decides what to do with it.
    """
    tag = code.strip().replace("_", "-").lower()
    if not tag:
        return DEFAULT_LANGUAGE
    primary, *subtags = tag.split("-")
    if primary in {"zh", "cmn", "yue"}:
        if "hant" in subtags or any(s in {"tw", "hk", "mo"} for s in subtags):
            return "zh-Hant"
        if "hans" in subtags:
            return "zh-Hans"
        # Cantonese is written in Traditional characters in Hong Kong and Macau, where most of it is typed.
        return "zh-Hant" if primary == "yue" else "zh-Hans"
    # Old ISO 639 codes still sent by some Android and Java clients.
    return {"in": "id", "iw": "he", "ji": "yi", "jw": "jv"}.get(primary, primary)


# --- script classification ------------------------------------------------------------------------------

_HANGUL: Final = "hangul"
_KANA: Final = "kana"
_HAN: Final = "han"
_THAI: Final = "thai"
_CYRILLIC: Final = "cyrillic"
_ARABIC: Final = "arabic"
_LATIN: Final = "latin"
_OTHER: Final = "other"  # a letter of a script we do not serve (Greek, Devanagari...)

_RANGES: Final[tuple[tuple[int, int, str], ...]] = (
    (0x0400, 0x052F, _CYRILLIC),
    (0x0600, 0x06FF, _ARABIC),
    (0x0750, 0x077F, _ARABIC),
    (0x0E00, 0x0E7F, _THAI),
    (0x1100, 0x11FF, _HANGUL),
    (0x3005, 0x3005, _KANA),  # 々, the iteration mark: Japanese, never used in modern Chinese
    (0x3040, 0x309F, _KANA),
    (0x30A0, 0x30FA, _KANA),  # 30FB ・ is left out: Chinese typists use it as a name separator too
    (0x30FC, 0x30FF, _KANA),
    (0x3130, 0x318F, _HANGUL),
    (0x31F0, 0x31FF, _KANA),
    (0x3400, 0x4DBF, _HAN),
    (0x4E00, 0x9FFF, _HAN),
    (0xA960, 0xA97F, _HANGUL),
    (0xAC00, 0xD7FF, _HANGUL),
    (0xF900, 0xFAFF, _HAN),
    (0xFB50, 0xFDFF, _ARABIC),
    (0xFE70, 0xFEFF, _ARABIC),
    (0xFF66, 0xFF9F, _KANA),  # half-width katakana
    (0x20000, 0x3134F, _HAN),
)


def _script(ch: str) -> str | None:
    """The script of one character, or None for what carries no language (digits, punctuation, emoji)."""
    code = ord(ch)
    for low, high, script in _RANGES:
        if low <= code <= high:
            # The ranges include a few punctuation marks (Thai ฿, Arabic comma); only letters count.
            return script if unicodedata.category(ch)[0] in "LM" or script == _KANA else None
        if code < low:
            break
    if not ch.isalpha():
        return None
    # Full-width Latin letters (ｗｉｆｉ) are Latin too; unicodedata names them all "...LATIN ...".
    return _LATIN if "LATIN" in unicodedata.name(ch, "") else _OTHER


# Things that are not words of any language: links, addresses, @mentions and bot commands.
_NOISE_RE: Final = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+\.\w+|(?<!\w)@\w+|^/\w+(@\w+)?|\b\w+\.(?:com|cn|net|org)\b",
    re.IGNORECASE,
)
# A run of letters (and combining marks, apostrophes inside words) of the Latin or any alphabetic script.
_WORD_RE: Final = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class _Profile:
    counts: dict[str, int]  # letters per script
    latin_words: tuple[str, ...]  # lowercased
    latin_text: str  # only the Latin-script words, for langdetect
    foreign_words: int  # words in a non-Latin alphabet (Cyrillic, Thai, Arabic, other)


def _profile(text: str) -> _Profile:
    counts: dict[str, int] = {}
    for ch in text:
        script = _script(ch)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    latin_words: list[str] = []
    foreign_words = 0
    for word in _WORD_RE.findall(text):
        scripts = {_script(ch) for ch in word} - {None}
        if scripts == {_LATIN}:
            latin_words.append(word.lower())
        elif scripts and not scripts & {_HAN, _KANA, _HANGUL}:
            foreign_words += 1
    return _Profile(counts, tuple(latin_words), " ".join(latin_words), foreign_words)


# --- Chinese: Simplified or Traditional -----------------------------------------------------------------


class _ChineseScripts:
    """OpenCC converters plus the characters whose conversion is no evidence.

    Some Simplified characters are also ordinary Traditional ones (台 in 台北, 里, 后, 干, 只...): s2t changes
    them, yet Taiwanese write them every day. OpenCC's own dictionaries list such a character among its own
    conversion candidates (`台	臺 檯 颱 台`); those characters count for neither script.
    """

    def __init__(self) -> None:
        self.s2t = OpenCC("s2t")
        self.t2s = OpenCC("t2s")
        dictionaries = Path(opencc.__file__).resolve().parent / "dictionary"
        self.ambiguous_simplified = _self_candidates(dictionaries / "STCharacters.txt")
        self.ambiguous_traditional = _self_candidates(dictionaries / "TSCharacters.txt")

    def evidence(self, han: str) -> tuple[int, int]:
        """(Simplified-only characters, Traditional-only characters) in `han`."""
        to_traditional = self.s2t.convert(han)
        to_simplified = self.t2s.convert(han)
        if len(to_traditional) != len(han) or len(to_simplified) != len(han):
            # A phrase mapping changed the length; compare character by character instead.
            to_traditional = "".join(self.s2t.convert(ch) for ch in han)
            to_simplified = "".join(self.t2s.convert(ch) for ch in han)
        simplified = traditional = 0
        for ch, as_t, as_s in zip(han, to_traditional, to_simplified, strict=False):
            if as_t != ch and as_s == ch and ch not in self.ambiguous_simplified:
                simplified += 1
            elif as_s != ch and as_t == ch and ch not in self.ambiguous_traditional:
                traditional += 1
        return simplified, traditional


def _self_candidates(path: Path) -> frozenset[str]:
    """Characters listed among their own conversion candidates in an OpenCC character dictionary."""
    found: set[str] = set()
    try:
        lines: Iterable[str] = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        # Without the file every changed character counts; detection is a little worse on 台北, not broken.
        return frozenset()
    for line in lines:
        source, _, targets = line.partition("\t")
        if source and source in targets.split():
            found.add(source)
    return frozenset(found)


@cache
def _chinese_scripts() -> _ChineseScripts:
    # Built on first use: loading the dictionaries takes a few tens of milliseconds.
    return _ChineseScripts()


# --- Latin script ---------------------------------------------------------------------------------------

# Words any tourist types whatever their language; alone they say nothing about the language.
# English greetings (hello, hi, thanks, bye) are not among them: someone who opens with "hello" expects
# English back, as someone who writes "bonjour" expects French.
_NEUTRAL: Final = frozenset(
    "ok okay okey k kk hallo ty tks pls plz please sorry wifi wi fi "
    "taxi uber didi bus metro hotel hostel menu app alipay wechat qr code gps ktv atm sim pizza coffee "
    "cafe café toilet wc yes no si sí ja da yeah yep nope lol haha hahaha xd omg wow ah oh hm hmm "
    "emm en um uh ciao selfie photo foto video live id vip".split()
)

# Letters no other Latin candidate uses: Vietnamese's horned and hooked vowels, đ, and its stacked tones
# (the Latin Extended Additional block U+1EA0–U+1EF9). One of them is near-certain Vietnamese.
_VIETNAMESE_RE: Final = re.compile("[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")


# --- detection ------------------------------------------------------------------------------------------


def _kept(previous: str | None) -> Detection:
    return Detection(previous or DEFAULT_LANGUAGE, 0.0, KEPT)


def detect(text: str, previous: str | None = None) -> Detection:
    """The language of a chat message; `previous` is the user's language so far, kept when in doubt."""
    cleaned = _NOISE_RE.sub(" ", unicodedata.normalize("NFC", text))
    profile = _profile(cleaned)
    counts = profile.counts
    cjk = counts.get(_HAN, 0) + counts.get(_KANA, 0) + counts.get(_HANGUL, 0)
    non_latin_units = cjk + profile.foreign_words
    latin_words = len(profile.latin_words)

    # An English sentence around a place name ("How do I get to 西津渡?") is English; a Latin word inside
    # Chinese ("wifi密码", "トイレ where") is not. Script wins unless the Latin words clearly dominate.
    if non_latin_units and not (latin_words >= 3 and latin_words > non_latin_units):
        if counts.get(_HANGUL):
            return Detection("ko", 1.0, SCRIPT)
        if counts.get(_KANA):
            return Detection("ja", 1.0, SCRIPT)
        if counts.get(_HAN):
            return _detect_chinese(cleaned, previous)
        for script, language in ((_THAI, "th"), (_CYRILLIC, "ru"), (_ARABIC, "ar")):
            if counts.get(script):
                return Detection(language, 1.0, SCRIPT)
        # Only letters of scripts we do not serve (Greek, Hebrew, Devanagari...).
        return _kept(previous)

    if not latin_words:
        return _kept(previous)  # emoji, digits, a URL, punctuation
    return _detect_latin(profile, cleaned, previous)


def _detect_chinese(text: str, previous: str | None) -> Detection:
    han = "".join(ch for ch in text if _script(ch) == _HAN)
    simplified, traditional = _chinese_scripts().evidence(han)
    if previous == "ja" and simplified == 0:
        # Japanese kanji look Traditional to OpenCC (東京, 駐車場); a Japanese user typing only kanji stays
        # Japanese unless a character exists only in Simplified Chinese.
        return Detection("ja", AMBIGUOUS_CHINESE_CONFIDENCE, KEPT)
    if simplified != traditional:
        language = "zh-Hans" if simplified > traditional else "zh-Hant"
        margin = abs(simplified - traditional) / (simplified + traditional)
        # One telling character out of one is already good evidence; more and unanimous is near-certain.
        confidence = min(1.0, 0.6 + 0.3 * margin + 0.05 * abs(simplified - traditional))
        return Detection(language, round(confidence, 3), OPENCC)
    # Only characters common to both scripts (你好, 早安): the script says Chinese, not which Chinese.
    if previous in {"zh-Hans", "zh-Hant"}:
        return Detection(previous, AMBIGUOUS_CHINESE_CONFIDENCE, KEPT)
    return Detection("zh-Hans", AMBIGUOUS_CHINESE_CONFIDENCE, SCRIPT)


def _unanimous_language(words: list[str]) -> str | None:
    """The one candidate language every word belongs to, when each word belongs to that one only."""
    languages = {language for word in words for language in hint_languages(word) or ("?", "??")}
    return languages.pop() if len(languages) == 1 else None


def _detect_latin(profile: _Profile, cleaned: str, previous: str | None) -> Detection:
    text = profile.latin_text
    if _VIETNAMESE_RE.search(text):
        return Detection("vi", 0.95, DIACRITICS)

    content = [w for w in profile.latin_words if w not in _NEUTRAL]
    if not content:
        return _kept(previous)
    lowered = cleaned.lower()
    if len(content) == 1:
        # One word: n-grams of a single word are mostly noise ("taxi" comes out Italian). A word that
        # belongs to exactly one candidate language ("merci", "danke") is evidence; so is a long word both
        # statistical voters are sure of ("Kinderpreis").
        languages = {*hint_languages(content[0])} | letter_languages(lowered)
        if len(languages) == 1:
            return Detection(languages.pop(), 0.85, LEXICON)
        sure = single_word(content[0]) if not languages else None
        return Detection(sure.language, round(sure.probability, 3), VOTE) if sure else _kept(previous)

    # Every Latin word, neutral ones too: "thank" in "thank you so much" is English n-grams.
    best = vote(profile.latin_words, text, lowered, previous)
    if best.probability < CONFIDENCE_THRESHOLD:
        unanimous = _unanimous_language(content)
        if unanimous is not None:
            # Every word is a chat word of one language and of no other ("someone collapsed"), but too few
            # n-grams for the statistics: the words decide.
            return Detection(unanimous, 0.85, LEXICON)
        return _kept(previous)
    return Detection(best.language, round(best.probability, 3), VOTE)
