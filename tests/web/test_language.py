"""The page language: `?lang=`, then the cookie it leaves, then Accept-Language, among the five curated
languages; English otherwise."""

from __future__ import annotations

import httpx
import pytest

from web.i18n import LANGUAGE_COOKIE, curated, from_accept_language


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh-CN", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh_SG", "zh-Hans"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh-Hans-HK", "zh-Hans"),  # the script decides over the region
        ("ZH-HANT", "zh-Hant"),
        ("ja-JP", "ja"),
        ("ko-KR", "ko"),
        ("en-GB", "en"),
        ("fr-FR", None),
        ("", None),
        ("*", None),
    ],
)
def test_a_language_tag_becomes_a_curated_language(tag: str, language: str | None) -> None:
    assert curated(tag) == language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-FR,fr;q=0.9,ja;q=0.8,en;q=0.7", "ja"),  # French is not curated: the next one the reader reads
        ("en;q=0.5, ko;q=0.9", "ko"),  # by quality, not by order
        ("ko;q=0, en", "en"),  # q=0 means "not this one"
        ("zh-TW,zh;q=0.9", "zh-Hant"),
        ("de, fr", None),
        ("ja;q=abc, ko;q=0.5", "ko"),  # a broken quality counts as 0
        ("", None),
    ],
)
def test_accept_language_picks_the_readers_best_curated_language(header: str, language: str | None) -> None:
    assert from_accept_language(header) == language


def test_a_header_of_thousands_of_languages_is_read_only_in_part() -> None:
    header = ",".join(["xx"] * 50_000 + ["ja"])
    assert from_accept_language(header) is None


def test_lang_beats_the_cookie_which_beats_the_browser(client: httpx.Client) -> None:
    first = client.get("/map", params={"lang": "ko"}, headers={"Accept-Language": "ja"})
    assert first.status_code == 200 and first.headers["content-language"] == "ko"
    cookie = first.headers["set-cookie"]
    assert f"{LANGUAGE_COOKIE}=ko" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.cookies.get(LANGUAGE_COOKIE) == "ko"
    assert client.get("/map", headers={"Accept-Language": "ja"}).headers["content-language"] == "ko"
    # An unknown ?lang= is ignored, not stored: the cookie still decides.
    unknown = client.get("/map", params={"lang": "xx"}, headers={"Accept-Language": "ja"})
    assert unknown.headers["content-language"] == "ko" and "set-cookie" not in unknown.headers
    client.cookies.clear()
    assert client.get("/map", headers={"Accept-Language": "zh-TW"}).headers["content-language"] == "zh-Hant"
    assert client.get("/map", headers={"Accept-Language": "de"}).headers["content-language"] == "en"
    # A hostile cookie is not a language.
    client.cookies.set(LANGUAGE_COOKIE, "<script>")
    page = client.get("/map", headers={"Accept-Language": "ja"})
    assert page.headers["content-language"] == "ja" and "<script>" not in page.text
