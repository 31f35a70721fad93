"""community/bookings/matching.py: items, weekdays and a walk's language named in chat messages."""

from __future__ import annotations

from datetime import date

import pytest

from community.bookings.matching import understand
from community.bookings.models import ServiceItem

MONDAY = date(2026, 12, 7)


def _item(code: str, keywords: dict[str, list[str]], languages: list[str] | None = None) -> ServiceItem:
    return ServiceItem(code=code, names={"en": code}, keywords=keywords, languages=languages or [])


ITEMS = [
    _item("haircut", {"zh-Hans": ["理发"], "en": ["haircut"], "ja": ["散髪"], "ko": ["이발"]}),
    _item(
        "walk",
        {"zh-Hans": ["讲解"], "en": ["guide", "tour"], "ja": ["ガイド"], "ko": ["가이드"]},
        ["en", "ja"],
    ),
    _item("tea", {"zh-Hans": ["茶艺"], "en": ["tea"], "ja": ["茶道"], "ko": ["다도"]}),
]


@pytest.mark.parametrize(
    ("text", "items", "weekday", "language"),
    [
        ("有没有免费理发？", ["haircut"], None, None),
        ("Can I book an English guide on Saturday?", ["walk"], 5, "en"),
        ("土曜日に英語のガイドを予約できますか", ["walk"], 5, "en"),
        ("토요일에 영어 가이드 예약할 수 있을까요?", ["walk"], 5, "en"),
        ("週日有日語講解嗎", ["walk"], 6, "ja"),
        ("any japanese tours tomorrow", ["walk"], 1, "ja"),
        ("I'd like to learn to teach", [], None, None),  # "tea" only as a whole word
    ],
)
def test_a_message_names_items_a_weekday_and_a_language(
    text: str, items: list[str], weekday: int | None, language: str | None
) -> None:
    found = understand(text, ITEMS, MONDAY, None)
    assert (found.items, found.weekday, found.language) == (items, weekday, language)


def test_a_language_alone_means_the_items_offered_in_it() -> None:
    assert understand("something in English?", ITEMS, MONDAY, None).items == ["walk"]
