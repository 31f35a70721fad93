"""The error handler: log with the update, and tell the user in their language that something went wrong."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram.context import person_of, say

logger = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    logger.error("error while handling an update: %r", update, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_user is None:
        return
    try:
        _, language = person_of(context, update)
    except Exception:
        language = "en"
    try:
        await context.bot.send_message(update.effective_chat.id, say("bot.error", language))
    except Exception:
        logger.exception("could not tell the user about the error")
