"""Each Telegram update is handled AT LEAST once, and once handled to the end, not again.

An update is marked as handled in the database only after its handlers have finished (the last handler
group). An update whose handling failed (the error handler releases it) or was cut off by a dying process is
not marked, so its redelivery (a webhook retry, the same update from another bot process) is handled again;
what it did before is not done twice, because a ticket is filed once per message (its source key) and
conversation state is keyed, not appended. While an update is being handled in this process, a second
delivery of it is dropped: the same message must not be answered twice at once.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.offload import run_sync
from bot.telegram.context import database
from community.database import Database
from community.outbox.models import ProcessedUpdate

logger = logging.getLogger(__name__)

SOURCE = "telegram"
# An update "in flight" longer than this was lost with a task that never finished (cancelled): a
# redelivery is handled then. Far above the longest handling (Rasa's and Google's timeouts, Telegram calls).
IN_FLIGHT_SECONDS = 300.0


def _in_flight(context: ContextTypes.DEFAULT_TYPE) -> dict[int, float]:
    flying: dict[int, float] = context.application.bot_data.setdefault("updates_in_flight", {})
    return flying


def handled_before(database: Database, update_id: int) -> bool:
    with database.session() as session:
        found = session.scalar(
            select(ProcessedUpdate.id).where(
                ProcessedUpdate.source == SOURCE, ProcessedUpdate.update_id == update_id
            )
        )
    return found is not None


def mark_handled(database: Database, update_id: int) -> None:
    try:
        with database.session() as session:
            session.add(ProcessedUpdate(source=SOURCE, update_id=update_id))
    except IntegrityError:
        pass  # another bot process handled the same update too (at least once) and marked it first


async def drop_repeated_updates(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every other handler (group -1)."""
    flying = _in_flight(context)
    now = time.monotonic()
    started = flying.get(update.update_id)
    if started is not None and now - started < IN_FLIGHT_SECONDS:
        logger.info("update %s is being handled: the second delivery is dropped", update.update_id)
        raise ApplicationHandlerStop
    flying[update.update_id] = now  # before the await below, so a delivery arriving meanwhile sees it
    if await run_sync(handled_before, database(context), update.update_id):
        flying.pop(update.update_id, None)
        logger.info("update %s was handled before: dropped", update.update_id)
        raise ApplicationHandlerStop


async def mark_update_handled(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs after every other handler (the last group), only when none of them failed."""
    try:
        await run_sync(mark_handled, database(context), update.update_id)
    finally:
        _in_flight(context).pop(update.update_id, None)


def release(context: ContextTypes.DEFAULT_TYPE, update: Update) -> None:
    """The update's handling failed: it stays unmarked, and a redelivery is handled again."""
    _in_flight(context).pop(update.update_id, None)
