"""The translation cache: every machine translation is stored once and reused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime, utcnow


class TranslationCacheEntry(Base):
    __tablename__ = "translation_cache"
    __table_args__ = (UniqueConstraint("source", "target", "text_hash", name="uq_translation_cache_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(10))
    text_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    translated: Mapped[str] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(String(20))
    # Retention expires entries by age (they hold users' raw text): indexed for that daily delete.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
