"""How a volunteer is named to the people who reported: the community chooses (VOLUNTEER_NAME_TO_REPORTERS).

- `surname` (default): the surname with a polite form of address in the reader's language ("周师傅");
- `first_name`: the given name only ("建华", "Emily");
- `full`: the name as the roster spells it.

Names come in two orders. Chinese, Korean and Japanese names are written surname first without a
space ("周建华", "김민지", "佐藤由美"); Latin names given name first ("Emily Zhou") unless the person writes
Chinese, Japanese or Korean, whose romanised names keep the surname first ("Wang Fang"). A Japanese
surname is usually two characters, and nothing in the characters tells a Japanese name from a Chinese one,
so the volunteer's own language decides.
"""

from __future__ import annotations

import re

from community.i18n import t
from community.people.models import Person

# The common two-character Chinese surnames: the rest are one character.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 南宫 西门".split()
    + "歐陽 司馬 諸葛 東方 長孫 尉遲 慕容 令狐 南宮".split()
)
SURNAME_FIRST_LANGUAGES = frozenset({"zh-Hans", "zh-Hant", "ja", "ko"})
_LATIN = re.compile(r"[A-Za-z]")


def split_name(display_name: str, own_language: str = "zh-Hans") -> tuple[str, str]:
    """(surname, given name) of a display name; ("", name) when it cannot be told apart."""
    name = " ".join((display_name or "").split())
    if not name:
        return "", ""
    words = name.split(" ")
    if _LATIN.search(name):
        if len(words) < 2:
            return "", name
        if own_language in SURNAME_FIRST_LANGUAGES:
            # Pinyin, romaji or a romanised Korean name keeps the surname first ("Wang Fang").
            return words[0], " ".join(words[1:])
        # Otherwise given name first, surname last ("Emily Zhou").
        return words[-1], " ".join(words[:-1])
    if len(words) > 1:
        # East Asian names written with a space ("佐藤 由美") keep the surname first.
        return words[0], " ".join(words[1:])
    if len(name) < 2:
        return "", name
    if own_language == "ja" and len(name) >= 3:
        return name[:2], name[2:]
    if name[:2] in COMPOUND_SURNAMES and len(name) > 2:
        return name[:2], name[2:]
    return name[0], name[1:]


def name_for_reporters(person: Person, language: str, mode: str | None = None) -> str:
    """The staff member's name as a reporter reading `language` sees it, by the community's setting."""
    if mode is None:
        from community.settings import get_settings

        mode = get_settings().volunteer_name_to_reporters
    full = " ".join((person.display_name or "").split())
    if mode == "full" or not full:
        return full
    surname, given = split_name(full, person.preferred_language)
    if mode == "first_name":
        return given or full
    return t("ticket.name.honorific", language, surname=surname or full)
