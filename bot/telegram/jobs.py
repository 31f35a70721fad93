"""JobQueue jobs: the outbox relay (notifications) and the SLA sweeper (escalation)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes
from telegram.warnings import PTBDeprecationWarning

from community.database import Database, utcnow
from community.outbox.service import (
    PARTS_SENT,
    ClaimedMessage,
    claim,
    mark_blocked,
    mark_failed,
    mark_sent,
    prune_processed_updates,
)
from community.tickets.escalation import escalate_overdue

logger = logging.getLogger(__name__)

BATCH = 30
LEASE_SECONDS = 120.0


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

    def __init__(self, bot: Bot, chat_id: int, payload: dict[str, Any]) -> None:
        self.bot, self.chat_id, self.payload = bot, chat_id, payload
        self.sent = int(payload.get(PARTS_SENT) or 0)

    def _parts(self) -> list[Callable[[], Awaitable[Any]]]:
        bot, chat_id, payload = self.bot, self.chat_id, self.payload
        parts: list[Callable[[], Awaitable[Any]]] = [
            partial(bot.send_photo, chat_id, photo=file_id)
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
                    address=(place.get("address") or "")[:256],
                )
            )
        elif place:
            parts.append(
                partial(bot.send_location, chat_id, latitude=place["latitude"], longitude=place["longitude"])
            )
        parts.append(
            partial(
                bot.send_message,
                chat_id,
                payload["text"],
                parse_mode=payload.get("parse_mode"),
                reply_markup=_markup(payload),
            )
        )
        return parts

    async def run(self) -> None:
        for part in self._parts()[self.sent :]:
            await part()
            self.sent += 1


async def deliver(bot: Bot, chat_id: int, payload: dict[str, Any]) -> None:
    """Sends a whole notification (see Delivery)."""
    await Delivery(bot, chat_id, payload).run()


def _retry_seconds(exc: RetryAfter) -> float:
    """Telegram's retry_after in seconds: PTB 22 gives an int (with a deprecation warning on every read)
    unless PTB_TIMEDELTA is set, then a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat_of(message: ClaimedMessage) -> int | None:
    raw = message.chat_id if message.chat_id is not None else message.telegram_id
    text = str(raw) if raw is not None else ""
    return int(text) if text.lstrip("-").isdigit() else None


async def relay_once(
    bot: Bot, database: Database, *, clock: Callable[[], datetime] = utcnow
) -> dict[str, int]:
    """Sends what is due. One failing recipient never holds up the others.

    `clock` is the time the outbox is read and marked by: the domain writes its notifications at the time of
    the change (`now`), so a test that moves the domain's clock on relays on the same clock.
    """
    counts = {"sent": 0, "failed": 0, "blocked": 0}
    now = clock()
    claimed = await asyncio.to_thread(claim, database, BATCH, now, LEASE_SECONDS)
    for message in claimed:
        chat_id = _chat_of(message)
        if chat_id is None:
            await asyncio.to_thread(
                mark_failed, database, message.id, "recipient has no Telegram chat", clock(), None, True
            )
            counts["failed"] += 1
            continue
        delivery = Delivery(bot, chat_id, message.payload)
        try:
            await delivery.run()
        except RetryAfter as exc:
            # Flood control: this message waits as long as Telegram says (not the back-off), the rest go on.
            await asyncio.to_thread(
                mark_failed,
                database,
                message.id,
                str(exc),
                clock(),
                _retry_seconds(exc),
                parts_sent=delivery.sent,
            )
            counts["failed"] += 1
            continue
        except Forbidden as exc:
            logger.info("recipient %s blocked the bot: %s", message.recipient_id, exc)
            await asyncio.to_thread(mark_blocked, database, message.recipient_id, clock())
            counts["blocked"] += 1
            continue
        except BadRequest as exc:
            # The message itself is wrong (chat not found, bad markup): retrying will not help.
            await asyncio.to_thread(mark_failed, database, message.id, str(exc), clock(), None, True)
            counts["failed"] += 1
            continue
        except TelegramError as exc:
            await asyncio.to_thread(
                mark_failed, database, message.id, str(exc), clock(), parts_sent=delivery.sent
            )
            counts["failed"] += 1
            continue
        await asyncio.to_thread(mark_sent, database, message.id, clock())
        counts["sent"] += 1
    return counts


async def relay_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    database: Database = context.application.bot_data["assistant"].database
    counts = await relay_once(context.bot, database)
    if any(counts.values()):
        logger.info("outbox relay: %s", counts)


async def sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    database: Database = context.application.bot_data["assistant"].database
    escalated = await asyncio.to_thread(escalate_overdue, database, utcnow())
    if escalated:
        logger.info("escalated %d overdue tickets", len(escalated))


async def prune_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily, not with the sweep: the ids are kept for a week, so a minute's precision buys nothing."""
    database: Database = context.application.bot_data["assistant"].database
    forgotten = await asyncio.to_thread(prune_processed_updates, database, utcnow())
    if forgotten:
        logger.info("forgot %d old Telegram update ids", forgotten)
