"""The translation port. GoogleTranslator runs the real googletrans 4.0.2 code (token, URL and parameters,
response parsing); only the HTTP transport is fake: an `httpx.MockTransport` that answers like Google's
`/translate_a/single` endpoint."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs

import httpx
import pytest
from googletrans.gtoken import TokenAcquirer

from community.language import (
    AUTO,
    CURATED,
    SUPPORTED,
    CachedTranslator,
    CircuitBreaker,
    CircuitOpen,
    GoogleTranslator,
    MemoryTranslationCache,
    NullTranslator,
    Translation,
    TranslationCache,
    TranslationTimeout,
    TranslationUnavailable,
    TranslationUnchanged,
    Translator,
    UnsupportedLanguage,
    build_translator,
)


class FakeGoogle:
    """Google Translate as googletrans sees it: an HTML page holding the `tkk` seed for the web-app client,
    and `/translate_a/single` answering with the nested JSON array googletrans parses: `[[[translation,
    original, null, null, 10]], null, detected_source, ..., [[source], null, [1.0], [source]]]`.
    """

    def __init__(self, translations: dict[str, tuple[str, str]] | None = None) -> None:
        # original text → (translation, the source language code Google reports)
        self.translations = translations or {"厕所在哪里": ("Where is the toilet", "zh-CN")}
        self.requests: list[httpx.Request] = []
        self.status = 200
        self.delay = 0.0
        self.echo = False
        self.in_flight = 0
        self.max_in_flight = 0
        # The token seed's hour is the current one, so googletrans fetches the page once, not per call.
        self.tkk = f"{math.floor(int(time.time() * 1000) / 3600000.0)}.2087396381"

    @property
    def translate_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/translate_a/single"]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if request.url.path != "/translate_a/single":
                return httpx.Response(
                    200, text=f"<html><script>window.x={{tkk:'{self.tkk}'}}</script></html>"
                )
            if self.status != 200:
                return httpx.Response(self.status, text="<html>Too many requests</html>")
            params = parse_qs(request.url.query.decode())
            text = params["q"][0]
            source = params["sl"][0]
            translated, detected = self.translations.get(text, (f"[{params['tl'][0]}] {text}", "en"))
            if self.echo:
                translated = text
            if source != "auto":
                detected = source
            body = [
                [[translated, text, None, None, 10]],
                None,
                detected,
                None,
                None,
                None,
                1.0,
                [],
                [[detected], None, [1.0], [detected]],
            ]
            return httpx.Response(200, text=json.dumps(body, ensure_ascii=False))
        finally:
            self.in_flight -= 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(calls: int, open_seconds: float = 60.0, clock: FakeClock | None = None) -> CircuitBreaker:
    """The project's breaker, opening once `calls` calls were made and half of them failed."""
    return CircuitBreaker(minimum_calls=calls, open_seconds=open_seconds, clock=clock or FakeClock())


@pytest.fixture
def google() -> FakeGoogle:
    return FakeGoogle()


@pytest.fixture
async def make(google: FakeGoogle) -> AsyncIterator[Callable[..., GoogleTranslator]]:
    """A factory of GoogleTranslators on the fake transport, closed after the test."""
    made: list[GoogleTranslator] = []

    def factory(**kwargs: object) -> GoogleTranslator:
        translator = GoogleTranslator(transport=google.transport(), **kwargs)  # type: ignore[arg-type]
        made.append(translator)
        return translator

    yield factory
    for translator in made:
        await translator.aclose()


# --- success ---------------------------------------------------------------------------------------------


async def test_translation_through_googletrans(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    result = await make().translate("厕所在哪里", target="en")
    assert result == Translation("Where is the toilet", "zh-Hans", "en", "google", cached=False)
    (request,) = google.requests
    # The request googletrans built for the default (gtx) client.
    assert str(request.url).startswith("https://translate.googleapis.com/translate_a/single?")
    params = parse_qs(request.url.query.decode())
    assert params["client"] == ["gtx"]
    assert params["sl"] == ["auto"] and params["tl"] == ["en"]
    assert params["q"] == ["厕所在哪里"]
    assert "t" in params["dt"]


async def test_our_codes_are_mapped_to_googles(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    result = await make().translate("Where is the toilet?", target="zh-Hant", source="zh-Hans")
    params = parse_qs(google.requests[0].url.query.decode())
    assert (params["sl"], params["tl"]) == (["zh-cn"], ["zh-tw"])
    assert (result.source, result.target) == ("zh-Hans", "zh-Hant")


@pytest.mark.parametrize("language", [code for code in SUPPORTED if code not in CURATED])
async def test_every_detected_language_is_one_google_translates_to(
    make: Callable[..., GoogleTranslator], google: FakeGoogle, language: str
) -> None:
    # detect() may answer any of these (ms since Malay joined the Latin candidates); the answer to such a
    # user is English translated into it, so a code googletrans does not know would leave them in English.
    result = await make().translate("When does it open?", target=language, source="en")
    params = parse_qs(google.requests[-1].url.query.decode())
    assert params["tl"] == [language]
    assert (result.target, result.text) == (language, f"[{language}] When does it open?")


async def test_web_app_client_fetches_the_token_seed_and_signs_requests(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    translator = make(service_urls=("translate.google.com",))
    await translator.translate("厕所在哪里", target="en")
    await translator.translate("厕所在哪里", target="ja")
    page, first, second = google.requests
    assert str(page.url) == "https://translate.google.com"
    params = parse_qs(first.url.query.decode())
    assert params["client"] == ["webapp"]
    # The token googletrans derived from the seed on our fake page, not its dummy "xxxx".
    assert params["tk"] == [TokenAcquirer(client=None, tkk=google.tkk).acquire("厕所在哪里")]  # type: ignore[arg-type]
    assert second.url.path == "/translate_a/single"  # the seed is reused within its hour


async def test_nothing_to_translate_makes_no_call(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    translator = make()
    same = await translator.translate("Hello", target="en", source="en")
    emoji = await translator.translate("👍 12:30", target="fr")
    assert (same.text, same.backend) == ("Hello", "identity")
    assert (emoji.text, emoji.backend) == ("👍 12:30", "identity")
    assert google.requests == []


async def test_echo_is_fine_when_the_text_already_is_in_the_target_language(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    google.translations = {"Hello": ("Hello", "en")}
    result = await make().translate("Hello", target="en")
    assert (result.text, result.source) == ("Hello", "en")


# --- failures --------------------------------------------------------------------------------------------


async def test_output_equal_to_input_is_a_failure(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    google.echo = True
    translator = make()
    with pytest.raises(TranslationUnchanged):
        await translator.translate("厕所在哪里", target="en")
    with pytest.raises(TranslationUnavailable):  # TranslationUnchanged is one
        await translator.translate("Where is the toilet?", target="ko", source="en")


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_http_errors_are_unavailable(
    make: Callable[..., GoogleTranslator], google: FakeGoogle, status: int
) -> None:
    google.status = status
    with pytest.raises(TranslationUnavailable, match=str(status)):
        await make().translate("厕所在哪里", target="en")


async def test_transport_errors_and_garbage_are_unavailable(make: Callable[..., GoogleTranslator]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    translator = GoogleTranslator(transport=httpx.MockTransport(refuse))
    garbage = GoogleTranslator(transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")))
    try:
        with pytest.raises(TranslationUnavailable, match="refused"):
            await translator.translate("厕所在哪里", target="en")
        with pytest.raises(TranslationUnavailable):
            await garbage.translate("厕所在哪里", target="en")
    finally:
        await translator.aclose()
        await garbage.aclose()


async def test_timeout(make: Callable[..., GoogleTranslator], google: FakeGoogle) -> None:
    google.delay = 10.0
    started = time.monotonic()
    with pytest.raises(TranslationTimeout):
        await make(timeout_seconds=0.05).translate("厕所在哪里", target="en")
    assert time.monotonic() - started < 2.0


async def test_unknown_language(make: Callable[..., GoogleTranslator], google: FakeGoogle) -> None:
    translator = make(breaker=breaker(1))
    with pytest.raises(UnsupportedLanguage) as raised:
        await translator.translate("hello", target="tlh")
    # Both a caller's error and "show the original instead"; never the service's fault.
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, TranslationUnavailable)
    assert translator.breaker.state == "closed"
    assert google.requests == []


# --- concurrency cap -------------------------------------------------------------------------------------


async def test_concurrent_calls_are_capped(make: Callable[..., GoogleTranslator], google: FakeGoogle) -> None:
    google.delay = 0.02
    translator = make(max_concurrency=3)
    results = await asyncio.gather(*(translator.translate(f"message {i}", target="ja") for i in range(10)))
    assert len(google.requests) == 10
    assert google.max_in_flight == 3
    assert [r.text for r in results] == [f"[ja] message {i}" for i in range(10)]


# --- circuit breaker -------------------------------------------------------------------------------------


async def _fails(call: Awaitable[Translation], exception: type[Exception] = TranslationUnavailable) -> None:
    with pytest.raises(exception):
        await call


async def test_breaker_opens_when_most_calls_fail_and_fails_fast(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    clock = FakeClock()
    translator = make(breaker=breaker(3, open_seconds=30, clock=clock))
    google.status = 500
    for _ in range(3):
        await _fails(translator.translate("厕所在哪里", target="en"))
    assert translator.breaker.state == "open"
    calls = len(google.requests)
    google.status = 200  # Google has recovered, but the breaker does not know yet
    await _fails(translator.translate("厕所在哪里", target="en"), CircuitOpen)
    clock.now += 29.9
    await _fails(translator.translate("厕所在哪里", target="en"), CircuitOpen)
    assert len(google.requests) == calls  # failing fast: no request at all


async def test_a_failure_among_successes_keeps_the_breaker_closed(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    translator = make(breaker=breaker(4))
    for _ in range(3):
        await translator.translate("厕所在哪里", target="en")
    google.status = 500
    await _fails(translator.translate("厕所在哪里", target="en"))
    assert translator.breaker.state == "closed"  # one failure in four calls is not a failing service
    google.status = 200
    assert (await translator.translate("厕所在哪里", target="en")).backend == "google"


async def test_breaker_half_opens_and_closes_on_a_successful_trial(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    clock = FakeClock()
    translator = make(breaker=breaker(2, open_seconds=30, clock=clock))
    google.status = 500
    for _ in range(2):
        await _fails(translator.translate("厕所在哪里", target="en"))
    clock.now += 30
    assert translator.breaker.state == "half-open"

    # One trial goes through; while it is in flight everyone else still fails fast.
    google.status = 200
    google.delay = 0.05
    trial = asyncio.create_task(translator.translate("厕所在哪里", target="en"))
    await asyncio.sleep(0.01)
    await _fails(translator.translate("厕所在哪里", target="ko"), CircuitOpen)
    assert (await trial).text == "Where is the toilet"
    assert translator.breaker.state == "closed"
    google.delay = 0.0
    assert (await translator.translate("厕所在哪里", target="ko")).backend == "google"


async def test_failed_trial_opens_the_breaker_again(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    clock = FakeClock()
    translator = make(breaker=breaker(2, open_seconds=30, clock=clock))
    google.status = 429
    for _ in range(2):
        await _fails(translator.translate("厕所在哪里", target="en"))
    clock.now += 30
    await _fails(translator.translate("厕所在哪里", target="en"))  # the trial: one request, fails
    assert translator.breaker.state == "open"
    calls = len(google.requests)
    await _fails(translator.translate("厕所在哪里", target="en"), CircuitOpen)
    assert len(google.requests) == calls
    clock.now += 30
    google.status = 200
    assert (await translator.translate("厕所在哪里", target="en")).text == "Where is the toilet"


async def test_timeouts_count_as_failures(make: Callable[..., GoogleTranslator], google: FakeGoogle) -> None:
    google.delay = 10.0
    translator = make(timeout_seconds=0.02, breaker=breaker(2))
    for _ in range(2):
        await _fails(translator.translate("厕所在哪里", target="en"), TranslationTimeout)
    await _fails(translator.translate("厕所在哪里", target="en"), CircuitOpen)


async def test_a_cancelled_trial_frees_the_half_open_slot(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    clock = FakeClock()
    translator = make(breaker=breaker(1, open_seconds=30, clock=clock))
    google.status = 500
    await _fails(translator.translate("厕所在哪里", target="en"))
    clock.now += 30
    google.status, google.delay = 200, 10.0
    trial = asyncio.create_task(translator.translate("厕所在哪里", target="en"))
    await asyncio.sleep(0.01)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    google.delay = 0.0
    assert (await translator.translate("厕所在哪里", target="en")).backend == "google"


# --- cache -----------------------------------------------------------------------------------------------


class MustNotBeCalled:
    name = "must-not-be-called"

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        raise AssertionError("the backend was called despite a cache hit")


async def test_cache_hit_does_not_call_the_backend() -> None:
    cache = MemoryTranslationCache()
    await cache.put("zh-Hans", "en", "厕所在哪里", "Where is the toilet", "google")
    translator = CachedTranslator(MustNotBeCalled(), cache)
    result = await translator.translate("厕所在哪里", target="en", source="zh-Hans")
    assert result == Translation("Where is the toilet", "zh-Hans", "en", "cache", cached=True)


async def test_cached_google_calls_google_once(
    make: Callable[..., GoogleTranslator], google: FakeGoogle
) -> None:
    translator = CachedTranslator(make(), MemoryTranslationCache())
    first = await translator.translate("厕所在哪里", target="en")
    second = await translator.translate("厕所在哪里", target="en")
    named = await translator.translate("厕所在哪里", target="en", source="zh-Hans")
    assert (first.cached, first.backend) == (False, "google")
    assert (second.cached, second.backend, second.text, second.source) == (True, "cache", first.text, AUTO)
    # Stored under the detected source as well, so a request that names it hits too.
    assert (named.cached, named.source) == (True, "zh-Hans")
    assert len(google.requests) == 1


async def test_failures_are_not_cached(make: Callable[..., GoogleTranslator], google: FakeGoogle) -> None:
    cache = MemoryTranslationCache()
    translator = CachedTranslator(make(), cache)
    google.status = 500
    await _fails(translator.translate("厕所在哪里", target="en"))
    assert cache.entries == {}
    google.status = 200
    assert (await translator.translate("厕所在哪里", target="en")).text == "Where is the toilet"


async def test_memory_cache_evicts_the_least_recently_used() -> None:
    cache = MemoryTranslationCache(max_entries=2)
    await cache.put("en", "ja", "a", "A", "google")
    await cache.put("en", "ja", "b", "B", "google")
    assert await cache.get("en", "ja", "a") == "A"  # a is now the most recent
    await cache.put("en", "ja", "c", "C", "google")
    assert await cache.get("en", "ja", "b") is None
    assert await cache.get("en", "ja", "a") == "A"
    assert await cache.get("en", "ko", "a") is None  # the target is part of the key


# --- null backend and settings ---------------------------------------------------------------------------


async def test_null_translator_always_raises() -> None:
    with pytest.raises(TranslationUnavailable):
        await NullTranslator().translate("厕所在哪里", target="en")


async def test_build_translator() -> None:
    google = build_translator("google")
    assert isinstance(google, GoogleTranslator)
    await google.aclose()
    assert isinstance(build_translator("null"), NullTranslator)
    with pytest.raises(ValueError):
        build_translator("deepl")


async def test_cached_null_translator_still_serves_earlier_translations() -> None:
    cache = MemoryTranslationCache()
    await cache.put("zh-Hans", "en", "厕所在哪里", "Where is the toilet", "google")
    translator = build_translator("null", cache)
    assert (await translator.translate("厕所在哪里", target="en", source="zh-Hans")).cached
    with pytest.raises(TranslationUnavailable):
        await translator.translate("停车场在哪里", target="en", source="zh-Hans")


def test_backends_satisfy_the_protocols() -> None:
    cache: TranslationCache = MemoryTranslationCache()
    null: Translator = NullTranslator()
    assert isinstance(null, Translator)
    assert isinstance(CachedTranslator(null, cache), Translator)
