"""Conversation state in the database (community/conversations), on SQLite and PostgreSQL: an entry replaces
the one before it, reads as absent once expired, and the daily purge deletes expired entries only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from community.conversations import service as state
from community.database import Database

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_an_entry_is_replaced_and_expires_after_its_kinds_ttl(db: Database) -> None:
    with db.session() as session:
        state.put(session, "resolve_note", "telegram:1", {"ticket_id": 1, "version": 3}, NOW)
        state.put(session, "resolve_note", "telegram:1", {"ticket_id": 2, "version": 5}, NOW)
    with db.session() as session:
        assert state.get(session, "resolve_note", "telegram:1", NOW) == {"ticket_id": 2, "version": 5}
        later = NOW + state.TTL["resolve_note"]
        assert state.get(session, "resolve_note", "telegram:1", later - timedelta(seconds=1)) is not None
        assert state.get(session, "resolve_note", "telegram:1", later) is None


def test_several_kinds_of_one_user_are_read_and_changed_together(db: Database) -> None:
    with db.session() as session:
        state.update(session, "telegram:7", {"location": [32.2, 119.4], "native_report": True}, NOW)
        state.put(session, "location", "telegram:8", [1.0, 2.0], NOW)
    with db.session() as session:
        assert state.get_kinds(session, "telegram:7", ["location", "native_report", "restart_rasa"], NOW) == {
            "location": [32.2, 119.4],
            "native_report": True,
        }
        state.update(session, "telegram:7", {"native_report": None, "restart_rasa": True}, NOW)
    with db.session() as session:
        assert state.get_kinds(session, "telegram:7", ["location", "native_report", "restart_rasa"], NOW) == {
            "location": [32.2, 119.4],
            "restart_rasa": True,
        }


def test_the_purge_deletes_expired_entries_only(db: Database) -> None:
    with db.session() as session:
        state.put(session, "location", "telegram:1", [1.0, 2.0], NOW)  # 30 minutes
        state.put(session, "payload", "abc", '/find_service{"service_type": "toilet"}', NOW)  # 7 days
    with db.session() as session:
        assert state.purge_expired(session, NOW + timedelta(hours=1)) == 1
    with db.session() as session:
        assert state.get(session, "location", "telegram:1", NOW) is None  # gone, not merely expired
        assert state.get(session, "payload", "abc", NOW + timedelta(hours=1)) is not None
