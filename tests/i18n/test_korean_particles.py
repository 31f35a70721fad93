"""Korean particles chosen by the word they follow (community/i18n: "{type}을(를)" in a template)."""

from __future__ import annotations

import pytest

from community.i18n import korean_particles, t


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("화장실을(를) 찾아요", "화장실을 찾아요"),  # 실 ends in ㄹ: a final consonant
        ("충전소을(를) 찾아요", "충전소를 찾아요"),  # 소: none
        ("응급처치소이(가) 있어요", "응급처치소가 있어요"),
        ("경찰서은(는) 여기", "경찰서는 여기"),
        ("안내소과(와) 화장실", "안내소와 화장실"),
        ("지하철으로(로) 가요", "지하철로 가요"),  # ㄹ takes 로
        ("버스으로(로) 가요", "버스로 가요"),
        ("입구으로(로) 가요", "입구로 가요"),
        ("역앞으로(로) 가요", "역앞으로 가요"),
    ],
)
def test_the_particle_follows_the_last_syllable(text: str, expected: str) -> None:
    assert korean_particles(text) == expected


def test_after_a_latin_word_both_forms_stay() -> None:
    assert korean_particles("ATM을(를) 찾지 못했어요") == "ATM을(를) 찾지 못했어요"


def test_catalogue_texts_in_korean_read_naturally() -> None:
    assert "화장실을 찾아" in t("service.ask_location", "ko", type="화장실")
    assert "충전소를 찾지" in t("service.none", "ko", type="충전소")
