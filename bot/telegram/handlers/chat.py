"""Free text, shared locations and photos from tourists and residents: through the pipeline, then rendered.

A text or photo from a volunteer who pressed Resolve is the note that resolves that ticket instead; a message
after Reply / Ask / Message (or a reply to a message about an open ticket) goes on that ticket
(handlers/thread.py).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.replies import Turn
from bot.telegram.context import assistant, chat_user
from bot.telegram.handlers.pending import take_location, take_photo, take_text
from bot.telegram.render import send_turn


async def _reply(update: Update, context: ContextTypes.DEFAULT_TYPE, turn: Turn) -> None:
    chat = update.effective_chat
    assert chat is not None
    await send_turn(
        context.bot, chat.id, turn, context.application.bot_data["payloads"], context.application.bot_data
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    if await take_text(update, context):
        return
    turn = await assistant(context).handle(chat_user(update), message.text, message_id=message.message_id)
    await _reply(update, context, turn)


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.location is not None
    if await take_location(update, context):
        return
    where = (message.location.latitude, message.location.longitude)
    turn = await assistant(context).handle(
        chat_user(update), None, location=where, message_id=message.message_id
    )
    await _reply(update, context, turn)


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo (the largest size) reaches the report form; its caption is the message text."""
    message = update.effective_message
    assert message is not None and message.photo
    if await take_photo(update, context):
        return
    turn = await assistant(context).handle(
        chat_user(update), message.caption, photos=(message.photo[-1].file_id,), message_id=message.message_id
    )
    await _reply(update, context, turn)
