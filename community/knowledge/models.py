"""Curated FAQ answers, per topic and language."""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base
from community.types import JSONType


class FaqEntry(Base):
    __tablename__ = "faq_entries"

    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    answers: Mapped[dict[str, str]] = mapped_column(JSONType)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
