"""Retention (community/retention.py): each table that grows loses its old rows, personal data first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from community.database import Database
from community.language.models import TranslationCacheEntry
from community.outbox.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from community.people.service import get_or_create_person
from community.retention import apply_retention
from community.settings import Settings
from community.tickets.models import Ticket, TicketState

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
SETTINGS = Settings(
    outbox_sent_kept_days=7,
    outbox_dead_scrub_days=7,
    outbox_dead_kept_days=30,
    translation_cache_kept_days=30,
    processed_updates_kept_days=7,
    ticket_contact_kept_days=30,
)


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def _notification(
    db: Database, name: str, status: str, created: datetime, sent: datetime | None = None
) -> None:
    with db.session() as s:
        person = get_or_create_person(s, "telegram:1", telegram_id=1, chat_id="1")
        s.flush()
        s.add(
            OutboxMessage(
                id=name,
                recipient_id=person.id,
                kind="test",
                payload={"text": f"{name}: call the reporter on 13800000000"},
                status=status,
                attempts=1,
                next_attempt_at=created,
                created_at=created,
                sent_at=sent,
                last_error="",
            )
        )


def _outbox(db: Database) -> dict[str, OutboxMessage]:
    with db.session() as s:
        return {m.id: m for m in s.scalars(select(OutboxMessage))}


def test_sent_notifications_are_deleted_after_a_week(db: Database) -> None:
    _notification(db, "old", OutboxStatus.SENT, days_ago(9), sent=days_ago(8))
    _notification(
        db, "recent", OutboxStatus.SENT, days_ago(9), sent=days_ago(6)
    )  # sent late: counts from then
    removed = apply_retention(db, SETTINGS, NOW)
    assert removed["sent_notifications_deleted"] == 1
    assert set(_outbox(db)) == {"recent"}


def test_dead_notifications_are_emptied_then_deleted(db: Database) -> None:
    _notification(db, "fresh", OutboxStatus.DEAD, days_ago(3))
    _notification(db, "week_old", OutboxStatus.DEAD, days_ago(8))
    _notification(db, "month_old", OutboxStatus.DEAD, days_ago(31))
    removed = apply_retention(db, SETTINGS, NOW)
    assert (removed["dead_notifications_scrubbed"], removed["dead_notifications_deleted"]) == (2, 1)
    rows = _outbox(db)
    assert set(rows) == {"fresh", "week_old"}
    assert "13800000000" in rows["fresh"].payload["text"]  # the desk can still read a recent dead letter
    assert rows["week_old"].payload == {} and rows["week_old"].scrubbed_at == NOW
    # The next day's run changes nothing more about it.
    assert apply_retention(db, SETTINGS, NOW + timedelta(hours=1))["dead_notifications_scrubbed"] == 0


def test_a_notification_nobody_can_receive_dies_and_is_emptied(db: Database) -> None:
    _notification(db, "waiting", OutboxStatus.PENDING, days_ago(1))
    _notification(db, "stale", OutboxStatus.PENDING, days_ago(8))
    removed = apply_retention(db, SETTINGS, NOW)
    assert removed["undelivered_notifications_expired"] == 1
    rows = _outbox(db)
    assert rows["waiting"].status == OutboxStatus.PENDING
    assert (rows["stale"].status, rows["stale"].payload) == (OutboxStatus.DEAD, {})


def test_translations_expire_and_update_ids_are_forgotten(db: Database) -> None:
    with db.session() as s:
        for name, age in (("old", 31), ("new", 29)):
            s.add(
                TranslationCacheEntry(
                    source="en",
                    target="zh-Hans",
                    text_hash=name,
                    text=f"{name}: my phone is 13800000000",
                    translated="…",
                    backend="google",
                    created_at=days_ago(age),
                )
            )
        s.add(ProcessedUpdate(source="telegram", update_id=1, at=days_ago(8)))
        s.add(ProcessedUpdate(source="telegram", update_id=2, at=days_ago(6)))
    removed = apply_retention(db, SETTINGS, NOW)
    assert (removed["translations_expired"], removed["update_ids_forgotten"]) == (1, 1)
    with db.session() as s:
        assert list(s.scalars(select(TranslationCacheEntry.text_hash))) == ["new"]
        assert list(s.scalars(select(ProcessedUpdate.update_id))) == [2]


def _ticket(db: Database, ref: str, state: str, created: datetime, ended: datetime | None = None) -> None:
    with db.session() as s:
        reporter = get_or_create_person(s, f"telegram:{ref}", telegram_id=None, chat_id=None)
        s.flush()
        s.add(
            Ticket(
                ref=ref,
                state=state,
                reporter_id=reporter.id,
                contact="13800000000",
                created_at=created,
                resolved_at=ended if state == TicketState.RESOLVED else None,
                closed_at=ended if state == TicketState.CLOSED else None,
            )
        )


def test_a_reporters_phone_number_is_erased_a_month_after_the_ticket_ended(db: Database) -> None:
    _ticket(db, "CLOSEDOLD", TicketState.CLOSED, days_ago(60), ended=days_ago(31))
    _ticket(db, "CLOSEDNEW", TicketState.CLOSED, days_ago(60), ended=days_ago(29))
    _ticket(db, "RESOLVEDOLD", TicketState.RESOLVED, days_ago(60), ended=days_ago(31))
    _ticket(db, "CANCELLED", TicketState.CANCELLED, days_ago(31))
    _ticket(db, "OPENOLD", TicketState.ACCEPTED, days_ago(90))
    removed = apply_retention(db, SETTINGS, NOW)
    with db.session() as s:
        contacts = {ref: contact for ref, contact in s.execute(select(Ticket.ref, Ticket.contact))}
    assert contacts == {
        "CLOSEDOLD": None,
        "CLOSEDNEW": "13800000000",
        "RESOLVEDOLD": None,
        "CANCELLED": None,
        # Still open: the volunteer may need to call the reporter, however long it takes.
        "OPENOLD": "13800000000",
    }
    assert removed["ticket_contacts_erased"] == 3
