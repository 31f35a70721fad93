"""One table of short-lived conversation state, keyed by (kind, key), each row with its own expiry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base, UTCDateTime
from community.types import JSONType


class ConversationState(Base):
    __tablename__ = "conversation_states"

    # What it is ("location", "resolve_note", "payload", …) and whose or which (a chat user's key, a hash).
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
