"""Retention: nothing grows forever, personal data goes first. Run daily by the bot (bot/telegram/jobs.py).

- sent notifications (their text holds phone numbers and addresses): deleted OUTBOX_SENT_KEPT_DAYS after
  sending;
- notifications nobody could receive (blocked the bot, never wrote to it): dead after OUTBOX_DEAD_SCRUB_DAYS;
- dead notifications: emptied of their text after OUTBOX_DEAD_SCRUB_DAYS, deleted after OUTBOX_DEAD_KEPT_DAYS;
- the translation cache (users' raw text): deleted TRANSLATION_CACHE_KEPT_DAYS after the translation;
- processed Telegram update ids (no text): deleted after PROCESSED_UPDATES_KEPT_DAYS;
- what a chat is in the middle of (community/conversations: a shared location, a pending report or Resolve,
  long button payloads): deleted when its own time to live is over (community.conversations.service.TTL);
- a reporter's contact (a phone number) on a ticket: erased TICKET_CONTACT_KEPT_DAYS after the ticket ended
  (closed, resolved, cancelled or merged into another); the ticket and its events stay, for the metrics.
- an enrolment invitation (a code's hash, who invited): deleted 30 days after it expired, used or not
  (community.people.enrolment.INVITATIONS_KEPT_DAYS); the enrolment stays in person_events.

Every age counts from the row's own time (sent_at for sent notifications, created_at otherwise), so a rule is
one indexed statement and a day's run is idempotent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, update

from community.conversations import service as conversations
from community.database import Database
from community.language.models import TranslationCacheEntry
from community.outbox.models import OutboxMessage, OutboxStatus
from community.outbox.service import prune_processed_updates
from community.people import enrolment
from community.people.enrolment import INVITATIONS_KEPT_DAYS
from community.settings import Settings
from community.tickets.models import Ticket, TicketState


def delete_sent_notifications(database: Database, before: datetime) -> int:
    with database.session() as session:
        result = session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < before
            )
        )
        return int(result.rowcount or 0)


def expire_undelivered_notifications(database: Database, before: datetime, now: datetime) -> int:
    """A notification nobody could receive (the person blocked the bot, or never wrote to it) since `before`
    is stale: it dies, and the rules for dead notifications take it from there."""
    with database.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.created_at < before)
            .values(status=OutboxStatus.DEAD, claimed_until=None, last_error="undeliverable: expired")
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)


def scrub_dead_notifications(database: Database, before: datetime, now: datetime) -> int:
    """Empty dead notifications of their text; the row (who, which ticket, why) stays a while longer."""
    with database.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.DEAD,
                OutboxMessage.created_at < before,
                OutboxMessage.scrubbed_at.is_(None),
            )
            .values(payload={}, scrubbed_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)


def delete_dead_notifications(database: Database, before: datetime) -> int:
    with database.session() as session:
        result = session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.DEAD, OutboxMessage.created_at < before
            )
        )
        return int(result.rowcount or 0)


def expire_translations(database: Database, before: datetime) -> int:
    with database.session() as session:
        result = session.execute(
            delete(TranslationCacheEntry).where(TranslationCacheEntry.created_at < before)
        )
        return int(result.rowcount or 0)


def erase_ended_ticket_contacts(database: Database, before: datetime) -> int:
    """A phone number is kept while someone may still need to call the reporter about the ticket."""
    ended = or_(
        and_(Ticket.state == TicketState.CLOSED, Ticket.closed_at < before),
        and_(Ticket.state == TicketState.RESOLVED, Ticket.resolved_at < before),
        # Cancelled and duplicate tickets keep no time of their own ending; they end soon after filing.
        and_(Ticket.state.in_((TicketState.CANCELLED, TicketState.DUPLICATE)), Ticket.created_at < before),
    )
    with database.session() as session:
        result = session.execute(
            update(Ticket)
            .where(Ticket.contact.is_not(None), ended)
            .values(contact=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)


def purge_conversation_state(database: Database, now: datetime) -> int:
    with database.session() as session:
        return conversations.purge_expired(session, now)


def delete_spent_invitations(database: Database, before: datetime) -> int:
    with database.session() as session:
        return enrolment.delete_spent_invitations(session, before)


def apply_retention(database: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """Every rule once; returns how many rows each touched."""

    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    scrub = days(settings.outbox_dead_scrub_days)
    return {
        "sent_notifications_deleted": delete_sent_notifications(
            database, days(settings.outbox_sent_kept_days)
        ),
        "undelivered_notifications_expired": expire_undelivered_notifications(database, scrub, now),
        "dead_notifications_scrubbed": scrub_dead_notifications(database, scrub, now),
        "dead_notifications_deleted": delete_dead_notifications(
            database, days(settings.outbox_dead_kept_days)
        ),
        "translations_expired": expire_translations(database, days(settings.translation_cache_kept_days)),
        "update_ids_forgotten": prune_processed_updates(
            database, now, timedelta(days=settings.processed_updates_kept_days)
        ),
        "conversation_state_expired": purge_conversation_state(database, now),
        "ticket_contacts_erased": erase_ended_ticket_contacts(
            database, days(settings.ticket_contact_kept_days)
        ),
        "invitations_deleted": delete_spent_invitations(database, days(INVITATIONS_KEPT_DAYS)),
    }
