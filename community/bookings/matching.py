"""What a chat message asks for: which service items (their keywords and names in any curated language),
which weekday ("Saturday", "周六", "土曜日", "토요일", "tomorrow") and which language of a guided walk
("English guide").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from community.bookings.models import ServiceItem

# Weekday words per language (Monday 0). Longer words are tried first, so "星期六" is not read as "星期".
WEEKDAY_WORDS: dict[int, tuple[str, ...]] = {
    0: ("monday", "mon", "周一", "星期一", "礼拜一", "週一", "禮拜一", "月曜", "월요일"),
    1: ("tuesday", "tue", "tues", "周二", "星期二", "礼拜二", "週二", "禮拜二", "火曜", "화요일"),
    2: ("wednesday", "wed", "周三", "星期三", "礼拜三", "週三", "禮拜三", "水曜", "수요일"),
    3: ("thursday", "thu", "thurs", "周四", "星期四", "礼拜四", "週四", "禮拜四", "木曜", "목요일"),
    4: ("friday", "fri", "周五", "星期五", "礼拜五", "週五", "禮拜五", "金曜", "금요일"),
    5: ("saturday", "sat", "周六", "星期六", "礼拜六", "週六", "禮拜六", "土曜", "토요일"),
    6: ("sunday", "sun", "周日", "星期日", "星期天", "礼拜天", "週日", "禮拜天", "日曜", "일요일"),
}
RELATIVE_DAYS: dict[int, tuple[str, ...]] = {
    0: ("today", "今天", "今日", "오늘"),
    1: ("tomorrow", "明天", "明日", "내일"),
}
LANGUAGE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("english", "英语", "英文", "英語", "영어"),
    "ja": ("japanese", "日语", "日文", "日語", "日本語", "일본어"),
    "ko": ("korean", "韩语", "韩文", "韓語", "韓文", "韓国語", "한국어"),
    "zh-Hans": ("chinese", "mandarin", "中文", "汉语", "普通话", "中国語", "중국어"),
}


def mentions(text: str, word: str) -> bool:
    """`word` in `text`, ignoring case; a Latin word only as a whole word (plural allowed)."""
    word = word.strip().lower()
    if not word:
        return False
    latin = re.compile(r"[a-z0-9]")
    before = r"(?<![a-z0-9])" if latin.match(word[0]) else ""
    after = r"(?:e?s)?(?![a-z0-9])" if latin.match(word[-1]) else ""
    return re.search(before + re.escape(word) + after, text.lower()) is not None


@dataclass(frozen=True)
class Request:
    items: list[str]  # item codes named, most specific first; empty when none is named
    weekday: int | None  # Monday 0, in the community's zone
    language: str | None  # a language of a guided walk


def weekday_in(text: str, today: date) -> int | None:
    for offset, words in RELATIVE_DAYS.items():
        if any(mentions(text, w) for w in words):
            return (today + timedelta(days=offset)).weekday()
    for day, words in WEEKDAY_WORDS.items():
        if any(mentions(text, w) for w in words):
            return day
    return None


def language_in(text: str, entity: str | None = None) -> str | None:
    if entity in LANGUAGE_WORDS:
        return entity
    for code, words in LANGUAGE_WORDS.items():
        if any(mentions(text, w) for w in words):
            return code
    return None


def items_in(text: str, items: list[ServiceItem]) -> list[str]:
    """Items named by a keyword or their name in any language, the longest matching word first."""
    scored: list[tuple[int, str]] = []
    for item in items:
        words = [w for ws in item.keywords.values() for w in ws] + list(item.names.values())
        best = max((len(w) for w in words if mentions(text, w)), default=0)
        if best:
            scored.append((-best, item.code))
    return [code for _, code in sorted(scored)]


def understand(text: str, items: list[ServiceItem], today: date, language_entity: str | None) -> Request:
    codes = items_in(text, items)
    language = language_in(text, language_entity)
    if language is not None and not codes:
        # "Can I book an English guide?" names the language, and the walk is the item offered in languages.
        codes = [item.code for item in items if language in item.languages]
    return Request(codes, weekday_in(text, today), language)
