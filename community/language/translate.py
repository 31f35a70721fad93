"""Machine translation behind a small port, so the bot never depends on one free, flaky web service.

googletrans scrapes Google Translate's web endpoint: no key, no SLA, rate limits without notice. Everything
here assumes it will fail: each call has a timeout, calls are capped in number, a circuit breaker stops
hammering it when most recent calls failed, and a translation that comes back identical to its input is
treated as a failure, not trusted silently (with `raise_exception=False` googletrans hands back the input on
an HTTP error; we set it to True, but an echo can still mean a soft block). Every result goes through a cache.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import googletrans
import httpx
from googletrans.constants import DEFAULT_CLIENT_SERVICE_URLS

from community.breaker import CircuitBreaker
from community.language.detect import normalise_code

# The source language of a request that did not say (a cache key, and `Translation.source` when a cached
# translation of such a request is served: the cache keeps no detected language).
AUTO: Final = "auto"

# `Translation.backend` when the text came back as it was, untranslated on purpose.
IDENTITY: Final = "identity"

# Our codes whose Google code differs; the rest are the same (en, ja, ko, fr, ...).
_GOOGLE_CODES: Final = {"zh-Hans": "zh-cn", "zh-Hant": "zh-tw"}


def google_code(code: str) -> str:
    """Google's code for one of ours (zh-Hans → zh-cn, zh-Hant → zh-tw, others unchanged)."""
    return _GOOGLE_CODES.get(code, code.lower())


@dataclass(frozen=True, slots=True)
class Translation:
    text: str
    source: str  # our code; AUTO only for a cached translation of a request without a source
    target: str
    backend: str  # "google", "null", "cache" for a cache hit, IDENTITY when nothing needed translating
    cached: bool


class TranslationUnavailable(Exception):
    """No trustworthy translation now; show the original text (and say so) instead."""


class TranslationTimeout(TranslationUnavailable):
    pass


class TranslationUnchanged(TranslationUnavailable):
    """The backend echoed the input for another language: a soft failure, not a translation."""


class UnsupportedLanguage(TranslationUnavailable, ValueError):
    """The backend has no such language. A ValueError (a bad code is a caller's bug) that is also
    TranslationUnavailable, because codes come from users' Telegram settings and callers that show the
    original on TranslationUnavailable should do the same here; it never counts against the breaker."""


class CircuitOpen(TranslationUnavailable):
    """Most recent calls failed; not calling the backend until the breaker half-opens."""


@runtime_checkable
class Translator(Protocol):
    async def translate(self, text: str, target: str, source: str | None = None) -> Translation: ...


class TranslationCache(Protocol):
    """Storage of translations keyed by (source, target, text); `source` is AUTO when the caller gave none."""

    async def get(self, source: str, target: str, text: str) -> str | None: ...

    async def put(self, source: str, target: str, text: str, translated: str, backend: str) -> None: ...


# --- backends -------------------------------------------------------------------------------------------


class NullTranslator:
    """No machine translation (offline, or switched off in settings): callers show the original."""

    name: Final = "null"

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        raise TranslationUnavailable("machine translation is switched off")


class GoogleTranslator:
    """googletrans 4.0.2 with a timeout, a concurrency cap, a circuit breaker and an echo check.

    googletrans builds its own `httpx.AsyncClient` inside `Translator.__init__` and takes no transport. To
    let tests run the real googletrans code (token, URL and parameters, response parsing) against a fake
    Google, `transport` replaces that client with one of ours on the given transport; googletrans keeps the
    client in two places, `Translator.client` and `TokenAcquirer.client`, and both are swapped.
    """

    name: Final = "google"

    def __init__(
        self,
        *,
        timeout_seconds: float = 5.0,
        max_concurrency: int = 4,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        service_urls: Sequence[str] = DEFAULT_CLIENT_SERVICE_URLS,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        # Errors must raise: with the default raise_exception=False googletrans returns the input as the
        # "translation" of an HTTP 429 or 500, indistinguishable from a real answer.
        self._google = googletrans.Translator(
            service_urls=service_urls,
            raise_exception=True,
            # httpx's own timeout a little above ours, so a stalled socket is closed even if nobody awaits.
            timeout=httpx.Timeout(timeout_seconds + 1.0),
        )
        if transport is not None:
            client = httpx.AsyncClient(
                transport=transport,
                headers=self._google.client.headers,
                timeout=self._google.client.timeout,
            )
            # The client googletrans made never opened a connection, so dropping it leaks nothing.
            self._google.client = client
            self._google.token_acquirer.client = client
        self._semaphore = asyncio.Semaphore(max_concurrency)
        # The project's one breaker: opens on a high failure rate, half-opens with one trial after a minute.
        self.breaker = breaker or CircuitBreaker(open_seconds=60.0)

    async def aclose(self) -> None:
        await self._google.client.aclose()

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        if (unchanged := _nothing_to_translate(text, target, source)) is not None:
            return unchanged
        dest = google_code(target)
        src = google_code(source) if source is not None else "auto"
        for code in (dest, src):
            # Checked here, before the breaker: an unknown code says nothing about the service's health.
            if code != "auto" and code not in googletrans.LANGUAGES:
                raise UnsupportedLanguage(f"no Google Translate language for {code!r}")

        if not self.breaker.allow():  # fail fast while open, before queueing for the semaphore
            raise CircuitOpen("translation backend failing; circuit open")
        try:
            async with self._semaphore:
                result = await asyncio.wait_for(
                    self._google.translate(text, dest=dest, src=src), timeout=self.timeout_seconds
                )
            detected = normalise_code(str(result.src)) if result.src else (source or AUTO)
            translated = str(result.text)
            # An echo is fine when the text already was in the target language (source auto-detected as
            # it); otherwise it is a soft failure.
            if _same(translated, text) and detected != target:
                raise TranslationUnchanged(f"backend returned the input unchanged for {target}")
            if not translated.strip():
                raise TranslationUnavailable("backend returned an empty translation")
        except asyncio.CancelledError:
            self.breaker.record_cancelled()
            raise
        except (TimeoutError, httpx.TimeoutException) as exc:
            self.breaker.record_failure()
            raise TranslationTimeout(f"no answer within {self.timeout_seconds} s") from exc
        except TranslationUnavailable:
            self.breaker.record_failure()
            raise
        except Exception as exc:
            # googletrans raises a bare Exception for an unexpected status code, and json/Index/Type
            # errors when Google changes its response format; httpx raises its own transport errors.
            self.breaker.record_failure()
            raise TranslationUnavailable(f"translation failed: {exc!s:.200}") from exc
        self.breaker.record_success()
        return Translation(translated, source or detected, target, self.name, cached=False)


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _nothing_to_translate(text: str, target: str, source: str | None) -> Translation | None:
    """The text itself when there is nothing to translate: same language, or no letters ("12:30", "👍").

    Saves a call to a rate-limited service, and keeps such texts from counting as echo failures.
    """
    if (source is not None and source == target) or not any(ch.isalpha() for ch in text):
        return Translation(text, source or AUTO, target, IDENTITY, cached=False)
    return None


# --- cache ----------------------------------------------------------------------------------------------


class MemoryTranslationCache:
    """TranslationCache in a dict, for tests and a bot without a database; the least recently used entry
    goes when `max_entries` is reached, so a long-running process cannot grow without bound."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        # (source, target, text) → (translated, backend)
        self.entries: OrderedDict[tuple[str, str, str], tuple[str, str]] = OrderedDict()

    async def get(self, source: str, target: str, text: str) -> str | None:
        key = (source, target, text)
        entry = self.entries.get(key)
        if entry is None:
            return None
        self.entries.move_to_end(key)
        return entry[0]

    async def put(self, source: str, target: str, text: str, translated: str, backend: str) -> None:
        key = (source, target, text)
        self.entries[key] = (translated, backend)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


class CachedTranslator:
    """Any Translator with a cache in front: a translation is asked of the backend once, then reused.

    A request without a source is cached under AUTO, and also under the source the backend detected, so a
    later request that names the source finds it too. Failures are not cached: the next call tries again.
    """

    def __init__(self, inner: Translator, cache: TranslationCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name: str = getattr(inner, "name", type(inner).__name__)

    async def translate(self, text: str, target: str, source: str | None = None) -> Translation:
        if (unchanged := _nothing_to_translate(text, target, source)) is not None:
            return unchanged
        key_source = source or AUTO
        hit = await self.cache.get(key_source, target, text)
        if hit is not None:
            return Translation(hit, key_source, target, "cache", cached=True)
        result = await self.inner.translate(text, target, source)
        if result.backend != IDENTITY:
            await self.cache.put(key_source, target, text, result.text, result.backend)
            if source is None and result.source not in (AUTO, target):
                await self.cache.put(result.source, target, text, result.text, result.backend)
        return result


def build_translator(
    backend: str, cache: TranslationCache | None = None, *, timeout_seconds: float = 5.0
) -> Translator:
    """The translator for the `translation_backend` setting (`google` or `null`), behind `cache` if given.

    `null` is cached too: with translation switched off, translations made earlier are still served.
    """
    inner: Translator
    if backend == "google":
        inner = GoogleTranslator(timeout_seconds=timeout_seconds)
    elif backend == "null":
        inner = NullTranslator()
    else:
        raise ValueError(f"unknown translation backend {backend!r} (expected 'google' or 'null')")
    return CachedTranslator(inner, cache) if cache is not None else inner
