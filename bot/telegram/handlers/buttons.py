"""Inline buttons that carry Rasa payloads (r:/k: callback data)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, person_of, say
from bot.telegram.handlers.chat import _reply


async def on_payload_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    payload = await context.application.bot_data["payloads"].decode(query.data)
    if payload is None:
        # A button whose long payload has expired (kept 7 days) or was never ours.
        _, language = await run_sync(person_of, context, update)
        await query.answer(say("fallback.rephrase", language), show_alert=True)
        return
    await query.answer()
    message_id = f"cb{query.id}"
    turn = await assistant(context).press(chat_user(update), payload, message_id=message_id)
    await _reply(update, context, turn)
