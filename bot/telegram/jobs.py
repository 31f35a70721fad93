"""JobQueue jobs: the outbox relay (notifications), the SLA sweeper (escalation) and the daily retention."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.ratelimit import NO_RETRY, BroadcastPace, ChatRateLimiter, retry_seconds
from community.database import Database, utcnow
from community.outbox.journal import DeliveryJournal
from community.outbox.service import (
    DEFAULT_MAX_ATTEMPTS,
    PARTS_SENT,
    ClaimedMessage,
    claim,
    mark_blocked,
    mark_failed,
    mark_sent,
    relay_owner,
    release,
)
from community.outreach.announce import BROADCAST_KINDS
from community.retention import apply_retention
from community.settings import Settings, get_settings
from community.tickets.clock_sweep import sweep_clock
from community.tickets.escalation import escalate_overdue

logger = logging.getLogger(__name__)

BATCH = 30
LEASE_SECONDS = 120.0
# Each part of a notification is sent only with this much of its lease left. One part is bounded by PTB's
# timeouts (connect, write, read: 5 s each, pool 1 s), well within it, so no other relay can claim the message
# while a part is on its way.
LEASE_MARGIN_SECONDS = 30.0
# Broadcast rows (announcements) are claimed a few at a time, so that a ticket notification falling due
# during a broadcast waits for at most one small batch; a pass sends broadcasts for about one relay interval.
BROADCAST_BATCH = 10
DEFAULT_BROADCAST_RATE = 20.0
BROADCAST_SECONDS = 2.0


class LeaseRunningOut(Exception):
    """The rest of a notification waits for the next claim: too little lease is left to send another part."""


def _markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    rows = payload.get("buttons") or []
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row] for row in rows]
    )


class Delivery:
    """One notification: photos first (the task's evidence), then the place, then the text with buttons.

    `sent` counts the parts that went out, including those of earlier tries (payload[PARTS_SENT]); after an
    error it says where the next try starts."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        payload: dict[str, Any],
        after_part: Callable[[int, bool], Awaitable[None]] | None = None,
        *,
        own_flood_control: bool = False,
        may_send: Callable[[], bool] | None = None,
    ) -> None:
        self.bot, self.chat_id, self.payload = bot, chat_id, payload
        self.sent = int(payload.get(PARTS_SENT) or 0)
        self.after_part, self.may_send = after_part, may_send
        # The relay handles a 429 itself (that chat waits, the others go on): the rate limiter must not retry
        # for it. A handler's direct answer lets the limiter wait and retry for that chat.
        limiter = getattr(bot, "rate_limiter", None)
        no_retry = own_flood_control and isinstance(limiter, ChatRateLimiter)
        self.extra: dict[str, Any] = {"rate_limit_args": NO_RETRY} if no_retry else {}

    def _parts(self) -> list[Callable[[], Awaitable[Any]]]:
        bot, chat_id, payload, extra = self.bot, self.chat_id, self.payload, self.extra
        parts: list[Callable[[], Awaitable[Any]]] = [
            partial(bot.send_photo, chat_id, photo=file_id, **extra)
            for file_id in list(payload.get("photos") or [])[:3]
        ]
        place = payload.get("venue") or payload.get("location")
        if place and place.get("title"):
            parts.append(
                partial(
                    bot.send_venue,
                    chat_id,
                    latitude=place["latitude"],
                    longitude=place["longitude"],
                    title=place["title"][:256],
                    # Telegram requires an address; a place known by its name alone is addressed by it.
                    address=(place.get("address") or place["title"])[:256],
                    **extra,
                )
            )
        elif place:
            parts.append(
                partial(
                    bot.send_location,
                    chat_id,
                    latitude=place["latitude"],
                    longitude=place["longitude"],
                    **extra,
                )
            )
        parts.append(
            partial(
                bot.send_message,
                chat_id,
                payload["text"],
                parse_mode=payload.get("parse_mode"),
                reply_markup=_markup(payload),
                **extra,
            )
        )
        return parts

    async def run(self) -> None:
        parts = self._parts()
        for part in parts[self.sent :]:
            if self.may_send is not None and not self.may_send():
                raise LeaseRunningOut
            await part()
            self.sent += 1
            if self.after_part is not None:
                await self.after_part(self.sent, self.sent == len(parts))


async def deliver(bot: Bot, chat_id: int, payload: dict[str, Any]) -> None:
    """Sends a whole notification (see Delivery)."""
    await Delivery(bot, chat_id, payload).run()


def _chat_of(message: ClaimedMessage) -> int | None:
    raw = message.chat_id if message.chat_id is not None else message.telegram_id
    text = str(raw) if raw is not None else ""
    return int(text) if text.lstrip("-").isdigit() else None


class Relay:
    """Sends what is due, message by message; each message's failure is its own.

    Keeps, between passes, the chats Telegram told to wait (a 429 holds that chat only) and the delivery
    journal (community/outbox/journal.py). `clock` is the time the outbox is read and marked by: the domain
    writes its notifications at the time of the change, so a test that moves the domain's clock on relays on
    the same clock.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        journal: DeliveryJournal | None = None,
        clock: Callable[[], datetime] = utcnow,
        owner: str | None = None,
        pace: BroadcastPace | None = None,
        broadcast_seconds: float = BROADCAST_SECONDS,
    ) -> None:
        self.database, self.max_attempts, self.journal, self.clock = database, max_attempts, journal, clock
        self.owner = owner or relay_owner()
        self.pace = pace or BroadcastPace(DEFAULT_BROADCAST_RATE)
        self.broadcast_seconds = broadcast_seconds
        self.holds: dict[int, datetime] = {}  # chat id → when Telegram takes messages for it again
        self._recovered = journal is None
        self._marks_failed = False
        self._blocked: set[int] = set()  # recipients who answered 403 in this pass: their messages are dead
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> Relay:
        owner = relay_owner()
        try:
            journal: DeliveryJournal | None = DeliveryJournal(settings.outbox_journal_dir, owner)
        except OSError:
            # Notifications matter more than their exactly-once: without a journal they go out at least once.
            logger.exception(
                "no delivery journal at %s: a relay killed mid-send may send twice",
                settings.outbox_journal_dir,
            )
            journal = None
        return cls(
            database,
            max_attempts=settings.outbox_max_attempts,
            journal=journal,
            owner=owner,
            pace=BroadcastPace(settings.announce_rate_per_second),
            # A pass ends before the next tick of the relay job: the JobQueue skips (and warns about) a tick
            # that finds the last pass still running.
            broadcast_seconds=0.75 * settings.outbox_interval_seconds,
        )

    async def run_once(self, bot: Bot) -> dict[str, int]:
        # One pass at a time: a pass clears the journal at its end, which must not cut into another's records.
        async with self._lock:
            return await self._pass(bot)

    async def _pass(self, bot: Bot) -> dict[str, int]:
        counts = {"sent": 0, "failed": 0, "blocked": 0}
        journal = self.journal
        if journal is not None:
            if not self._recovered:
                await run_sync(journal.recover, self.database)
                self._recovered = True
            if journal.unsettled:
                # The last pass could not mark everything (the database was away): the journal knows.
                await run_sync(journal.settle, self.database)
        self._marks_failed = False
        self._blocked.clear()
        now = self.clock()
        self.holds = {chat: until for chat, until in self.holds.items() if until > now}
        await self._send(bot, await self._claim(BATCH, exclude_kinds=BROADCAST_KINDS), counts)
        await self._broadcast(bot, counts)
        if journal is not None and journal.unsettled and not self._marks_failed:
            await run_sync(journal.clear)
        return counts

    async def _claim(self, limit: int, **kinds: Any) -> list[ClaimedMessage]:
        claimed = await run_sync(
            claim,
            self.database,
            limit,
            self.clock(),
            LEASE_SECONDS,
            max_attempts=self.max_attempts,
            owner=self.owner,
            **kinds,
        )
        if self.journal is not None and claimed:
            await run_sync(self.journal.claimed, [m.lease for m in claimed])
        return claimed

    async def _send(
        self, bot: Bot, claimed: list[ClaimedMessage], counts: dict[str, int], *, paced: bool = False
    ) -> None:
        for message in claimed:
            chat_id = _chat_of(message)
            if paced and chat_id is not None:
                await self.pace.wait(chat_id)
            outcome = await self._relay(bot, message)
            if outcome:
                counts[outcome] += 1

    async def _broadcast(self, bot: Bot, counts: dict[str, int]) -> None:
        """Announcements at the broadcast pace, a small batch at a time, with the ticket notifications that
        fell due meanwhile sent between batches; for about one relay interval, then the next pass goes on."""
        started = time.monotonic()
        while time.monotonic() - started < self.broadcast_seconds:
            batch = await self._claim(BROADCAST_BATCH, kinds=BROADCAST_KINDS)
            if not batch:
                return
            await self._send(bot, batch, counts, paced=True)
            await self._send(bot, await self._claim(BATCH, exclude_kinds=BROADCAST_KINDS), counts)

    async def _mark(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """A mark that fails (the database restarting) leaves the lease to run out and the journal to tell."""
        try:
            await run_sync(function, self.database, *args, **kwargs)
        except Exception:
            kept = "the journal keeps what was delivered" if self.journal else "its lease will run out"
            logger.exception("outbox: %s failed; %s", function.__name__, kept)
            self._marks_failed = True

    async def _relay(self, bot: Bot, message: ClaimedMessage) -> str | None:
        lease = message.lease
        if message.recipient_id in self._blocked:
            return None  # mark_blocked made it dead with the rest of theirs: no second 403
        chat_id = _chat_of(message)
        if chat_id is None:
            await self._mark(
                mark_failed, lease, "recipient has no Telegram chat", self.clock(), permanent=True
            )
            return "failed"
        hold = self.holds.get(chat_id)
        if hold is not None and hold > self.clock():
            await self._mark(release, lease, not_before=hold, untried=True)
            return None
        return await self._deliver(bot, message, chat_id)

    async def _deliver(self, bot: Bot, message: ClaimedMessage, chat_id: int) -> str:
        lease, journal = message.lease, self.journal

        async def journaled(parts: int, done: bool) -> None:
            if journal is not None:
                await run_sync(journal.delivered, lease, parts, done)

        def lease_left() -> bool:
            return self.clock() <= lease.until - timedelta(seconds=LEASE_MARGIN_SECONDS)

        delivery = Delivery(
            bot, chat_id, message.payload, journaled, own_flood_control=True, may_send=lease_left
        )

        async def fail(error: str, retry_after: float | None = None, **kwargs: Any) -> None:
            await self._mark(
                mark_failed, lease, error, self.clock(), retry_after, max_attempts=self.max_attempts, **kwargs
            )

        try:
            await delivery.run()
        except LeaseRunningOut:
            # The next claim (this relay's next pass, or another's) sends the rest.
            await self._mark(release, lease, parts_sent=delivery.sent, untried=delivery.sent == 0)
            return None
        except RetryAfter as exc:
            # Flood control for this chat: its messages wait as long as Telegram says (not the back-off);
            # the other chats go on in this very pass.
            wait = retry_seconds(exc)
            self.holds[chat_id] = self.clock() + timedelta(seconds=wait)
            await fail(str(exc), wait, parts_sent=delivery.sent)
            return "failed"
        except Forbidden as exc:
            logger.info("recipient %s blocked the bot: %s", message.recipient_id, exc)
            self._blocked.add(message.recipient_id)
            await self._mark(mark_blocked, message.recipient_id, self.clock())
            return "blocked"
        except BadRequest as exc:
            # The message itself is wrong (chat not found, bad markup): retrying will not help.
            await fail(str(exc), permanent=True, parts_sent=delivery.sent)
            return "failed"
        except Exception as exc:
            # Telegram's 5xx, the network, a timeout (the message may have arrived: sent again, at least
            # once), or a bug in a payload: this message backs off, the batch goes on.
            logger.warning("outbox %s to chat %s failed: %r", message.id, chat_id, exc, exc_info=True)
            await fail(f"{type(exc).__name__}: {exc}", parts_sent=delivery.sent)
            return "failed"
        await self._mark(mark_sent, lease, self.clock())
        return "sent"


async def relay_once(
    bot: Bot,
    database: Database,
    *,
    clock: Callable[[], datetime] = utcnow,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    journal: DeliveryJournal | None = None,
) -> dict[str, int]:
    """One pass of a relay of its own (no chats on hold from earlier passes)."""
    return await Relay(database, max_attempts=max_attempts, journal=journal, clock=clock).run_once(bot)


async def relay_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    relay: Relay | None = context.application.bot_data.get("relay")
    if relay is None:
        database: Database = context.application.bot_data["assistant"].database
        relay = context.application.bot_data["relay"] = Relay.from_settings(database, get_settings())
    counts = await relay.run_once(context.bot)
    if any(counts.values()):
        logger.info("outbox relay: %s", counts)


async def sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    database: Database = context.application.bot_data["assistant"].database
    escalated = await run_sync(escalate_overdue, database, utcnow())
    if escalated:
        logger.info("escalated %d overdue tickets", len(escalated))
    # After escalation, so that a deadline just missed gets its new warning time before the clock looks.
    clocked = await run_sync(sweep_clock, database, utcnow())
    if any(clocked.values()):
        logger.info("clock: %s", {kind: len(ids) for kind, ids in clocked.items()})


async def prune_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily, not with the sweep: every retention rule counts in days (community/retention.py)."""
    database: Database = context.application.bot_data["assistant"].database
    removed = await run_sync(apply_retention, database, get_settings(), utcnow())
    if any(removed.values()):
        logger.info("retention: %s", removed)
