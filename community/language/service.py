"""The translator the assistant uses, with its cache in the database, and the two things it is used for:
answers in languages without curated texts, and reporters' free text for staff."""

from __future__ import annotations

import asyncio
import hashlib
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from community.database import Database, get_database
from community.i18n import is_curated, t
from community.language.models import TranslationCacheEntry
from community.language.translate import TranslationUnavailable, Translator, build_translator

logger = logging.getLogger(__name__)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DatabaseTranslationCache:
    """TranslationCache over the translation_cache table (shared by the bot and the action server)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _get(self, source: str, target: str, text: str) -> str | None:
        with self.database.session() as session:
            return session.scalar(
                select(TranslationCacheEntry.translated).where(
                    TranslationCacheEntry.source == source,
                    TranslationCacheEntry.target == target,
                    TranslationCacheEntry.text_hash == _hash(text),
                )
            )

    def _put(self, source: str, target: str, text: str, translated: str, backend: str) -> None:
        try:
            with self.database.session() as session:
                session.add(
                    TranslationCacheEntry(
                        source=source,
                        target=target,
                        text_hash=_hash(text),
                        text=text,
                        translated=translated,
                        backend=backend,
                    )
                )
        except IntegrityError:
            pass  # another process cached the same text first; its translation is as good

    async def get(self, source: str, target: str, text: str) -> str | None:
        return await asyncio.to_thread(self._get, source, target, text)

    async def put(self, source: str, target: str, text: str, translated: str, backend: str) -> None:
        await asyncio.to_thread(self._put, source, target, text, translated, backend)


_translator: Translator | None = None


def get_translator() -> Translator:
    """The process-wide translator chosen by the settings, cached in the database."""
    global _translator
    if _translator is None:
        from community.settings import get_settings

        settings = get_settings()
        _translator = build_translator(
            settings.translation_backend,
            DatabaseTranslationCache(get_database()),
            timeout_seconds=settings.translation_timeout_seconds,
        )
    return _translator


def set_translator(translator: Translator | None) -> None:
    """Tests and the CLI choose a translator explicitly."""
    global _translator
    _translator = translator


async def localise(english: str, language: str) -> str:
    """`english` in `language`: translated when that works, else English with a note saying so."""
    if is_curated(language) or language == "en":
        return english
    try:
        return (await get_translator().translate(english, language, "en")).text
    except TranslationUnavailable as exc:
        logger.info("answering in English for %s: %s", language, exc)
        return f"{english}\n{t('chat.english_only', 'en')}"


async def to_chinese_for_staff(text: str, language: str) -> str | None:
    """A reporter's free text in Chinese for staff; None when it is Chinese already or translation fails."""
    if language in ("zh-Hans", "zh-Hant") or not text.strip():
        return None
    try:
        return (await get_translator().translate(text, "zh-Hans", language)).text
    except TranslationUnavailable as exc:
        logger.info("description left untranslated: %s", exc)
        return None


async def to_english_for_understanding(text: str, language: str) -> str | None:
    """A message in a language the model was not trained on, in English for Rasa; None if that fails."""
    if is_curated(language):
        return None
    try:
        return (await get_translator().translate(text, "en", language)).text
    except TranslationUnavailable as exc:
        logger.info("understanding %s without translation: %s", language, exc)
        return None
