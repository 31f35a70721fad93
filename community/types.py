"""Column types shared by the domain models."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType: Any = JSON().with_variant(JSONB(), "postgresql")

# Names and texts per language code: {"zh-Hans": "...", "en": "...", ...}
I18n = dict[str, str]
