"""The error handler: log with the update, and tell the user in their language that something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.offload import run_sync
from bot.telegram import dedupe
from bot.telegram.context import person_of, say

logger = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After telling the user, stops the update's handling (ApplicationHandlerStop): it is then not marked
    as handled, so a redelivery of it is handled again (at least once; see bot/telegram/dedupe.py)."""
    logger.error("error while handling an update: %r", update, exc_info=context.error)
    if not isinstance(update, Update):
        return
    dedupe.release(context, update)
    if update.effective_chat is not None and update.effective_user is not None:
        await _tell(update, context)
    raise ApplicationHandlerStop


async def _tell(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    try:
        _, language = await run_sync(person_of, context, update)
    except Exception:
        language = "en"
    try:
        await context.bot.send_message(update.effective_chat.id, say("bot.error", language))
    except Exception:
        logger.exception("could not tell the user about the error")
