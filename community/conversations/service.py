"""Reading and writing conversation state. Every function takes the caller's session (one unit of work) and
the time, so tests need no clock of their own; an expired entry reads as absent before the daily purge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from community.conversations.models import ConversationState

# How long each kind of state lives (the README's retention rules say the same).
TTL: Final[Mapping[str, timedelta]] = {
    "location": timedelta(minutes=30),  # where the user is; after that we ask again
    "location_reply": timedelta(hours=1),  # what a shared location answers (a pending location request)
    "native_report": timedelta(hours=1),  # a report for the desk was asked for while Rasa was down
    "restart_rasa": timedelta(hours=2),  # Rasa's session expiry: after it Rasa's stale form is gone anyway
    "resolve_note": timedelta(hours=1),  # a volunteer pressed Resolve and the bot waits for the note
    "thread_next": timedelta(hours=1),  # the next message is for a ticket (Reply / Ask / Message pressed)
    "extension_reason": timedelta(hours=1),  # a holder asked for more time and the bot waits for the reason
    "payload": timedelta(days=7),  # the Rasa payload behind a long button's short key
    "announce": timedelta(hours=1),  # the desk is writing an announcement (its text or a translation)
    "matter": timedelta(hours=1),  # 有事好商量: a matter's text, a meeting's time and place, an outcome
    # Needs as projects (issue #17): the desk's step-by-step draft, a claimant's progress or completion note.
    "project_draft": timedelta(hours=1),
    "project_note": timedelta(hours=1),
}


def put(session: Session, kind: str, key: str, value: Any, now: datetime) -> None:
    """Sets (or replaces) one entry, living for its kind's TTL from `now`.

    An upsert, not read-then-write: two bot processes writing the same key at once must not collide.
    """
    row = {"kind": kind, "key": key, "value": value, "expires_at": now + TTL[kind]}
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ConversationState).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=["kind", "key"], set_={"value": row["value"], "expires_at": row["expires_at"]}
    )
    session.execute(statement)


def get(session: Session, kind: str, key: str, now: datetime) -> Any | None:
    return session.scalar(
        select(ConversationState.value).where(
            ConversationState.kind == kind, ConversationState.key == key, ConversationState.expires_at > now
        )
    )


def get_kinds(session: Session, key: str, kinds: Iterable[str], now: datetime) -> dict[str, Any]:
    """The live entries of several kinds for one key, in one query (a chat user's state for one update)."""
    rows = session.execute(
        select(ConversationState.kind, ConversationState.value).where(
            ConversationState.key == key,
            ConversationState.kind.in_(list(kinds)),
            ConversationState.expires_at > now,
        )
    )
    return {kind: value for kind, value in rows}


def forget(session: Session, kind: str, key: str) -> None:
    session.execute(
        delete(ConversationState).where(ConversationState.kind == kind, ConversationState.key == key)
    )


def update(session: Session, key: str, changes: Mapping[str, Any], now: datetime) -> None:
    """Several kinds for one key at once: a value sets the entry, None forgets it."""
    for kind, value in changes.items():
        if value is None:
            forget(session, kind, key)
        else:
            put(session, kind, key, value, now)


def purge_expired(session: Session, now: datetime) -> int:
    """Deletes every expired entry; the number deleted."""
    result = session.execute(delete(ConversationState).where(ConversationState.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
