"""Curated FAQ answers from the database, in the asker's language."""

from __future__ import annotations

from sqlalchemy.orm import Session

from community.i18n import is_curated, pick
from community.knowledge.models import FaqEntry
from community.language.service import localise


def faq_text(session: Session, topic: str, language: str) -> str | None:
    """The curated answer (English for languages without one); None for an unknown topic."""
    entry = session.get(FaqEntry, topic)
    if entry is None or not entry.active:
        return None
    return pick(entry.answers, language if is_curated(language) else "en")


async def faq_answer(session: Session, topic: str, language: str) -> str | None:
    """The answer in `language`: curated, else machine-translated from English, else English with a note."""
    text = faq_text(session, topic, language)
    if text is None or is_curated(language):
        return text
    return await localise(text, language)
