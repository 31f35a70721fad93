"""Each Telegram update is handled once, even when a webhook delivery is retried."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram.context import database
from community.outbox.models import ProcessedUpdate

logger = logging.getLogger(__name__)


def first_time(context: ContextTypes.DEFAULT_TYPE, update_id: int) -> bool:
    """Records the update id; False if it was recorded before (by this or another bot process)."""
    try:
        with database(context).session() as session:
            session.add(ProcessedUpdate(source="telegram", update_id=update_id))
        return True
    except IntegrityError:
        return False


async def drop_repeated_updates(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every other handler (group -1)."""
    if not first_time(context, update.update_id):
        logger.info("update %s seen before: dropped", update.update_id)
        raise ApplicationHandlerStop
