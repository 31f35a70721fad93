"""Concurrent update processing with each chat's updates in order.

PTB's SimpleUpdateProcessor runs every update at once, so two messages of one chat could be answered out of
order (a report's description overtaking its location). Here updates of different chats run concurrently
and those of one chat one after the other, in the order they arrived: each waits for the one before it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates in progress at once, those waiting for an earlier update of their chat included (PTB takes the
# slot before the processor sees the update): generous, so one chat sending many messages cannot hold every
# slot. The real limits on work are the database threads (bot/offload.py) and Rasa.
MAX_CONCURRENT_UPDATES = 256


def chat_of(update: object) -> int | None:
    """The chat an update belongs to (its user's, when it has no chat); None for updates of neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        # The last update of each chat still being handled (or waiting): the next one waits for it.
        self._tails: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = chat_of(update)
        if chat is None:
            await coroutine
            return
        # No await between reading and replacing the tail: the chain is built in arrival order.
        before = self._tails.get(chat)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[chat] = mine
        started = False
        try:
            if before is not None:
                await asyncio.shield(before)
            started = True
            await coroutine
        finally:
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting its turn: it never runs
            mine.set_result(None)
            if self._tails.get(chat) is mine:
                del self._tails[chat]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
