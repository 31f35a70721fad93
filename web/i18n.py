"""The language of a page: `?lang=` (the switcher's links), then the cookie it leaves, then the browser's
Accept-Language, among the five curated languages; English otherwise.

Chinese needs care: browsers send region tags (zh-CN, zh-TW, zh-HK) far more often than script tags
(zh-Hans, zh-Hant), and the script is what decides which texts a reader can read.
"""

from __future__ import annotations

from fastapi import Request, Response

from community.i18n import CURATED_LANGUAGES, FALLBACK_LANGUAGE

LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
# Regions whose Chinese is written in Traditional characters.
_TRADITIONAL_REGIONS = {"tw", "hk", "mo"}


def curated(tag: str | None) -> str | None:
    """A language tag (any case, `_` or `-`) as one of the curated languages, or None."""
    if not tag:
        return None
    parts = tag.strip().replace("_", "-").lower().split("-")
    primary = parts[0]
    if primary == "zh":
        rest = set(parts[1:])
        if "hant" in rest or (rest & _TRADITIONAL_REGIONS and "hans" not in rest):
            return "zh-Hant"
        return "zh-Hans"
    return primary if primary in CURATED_LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The curated language the browser prefers most (by q-value, then order), or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:32]):  # a header of thousands of items is not a reader's
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = curated(tag)
        if language and quality > 0:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None


def page_language(request: Request) -> str:
    """The language to render `request` in."""
    return (
        curated(request.query_params.get("lang"))
        or curated(request.cookies.get(LANGUAGE_COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
        or FALLBACK_LANGUAGE
    )


def remember_language(request: Request, response: Response, language: str) -> None:
    """A language picked with `?lang=` stays for the next pages (a cookie, not personal data)."""
    chosen = curated(request.query_params.get("lang"))
    if chosen == language and request.cookies.get(LANGUAGE_COOKIE) != language:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_MAX_AGE, samesite="lax", httponly=True
        )
