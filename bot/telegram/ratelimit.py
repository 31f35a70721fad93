"""Telegram's flood limits, kept per chat: a 429 for one chat never holds the others.

PTB's AIORateLimiter throttles to Telegram's limits (30 messages/s overall, 20/min per group) — kept — but on
a 429 it stops every request of the bot until the wait is over, and it cannot be told "no retries" per call
(its `rate_limit_args or max_retries` reads 0 as "the default"). Here a 429 for a chat makes only that request
wait and retry; a caller that handles the 429 itself (the outbox relay, which postpones that chat and goes on
with the others) passes `NO_RETRY` and gets the RetryAfter at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

# rate_limit_args for a request that must not be retried here (PTB drops a falsy value, hence a dict).
NO_RETRY: dict[str, int] = {"max_retries": 0}

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def retry_seconds(exc: RetryAfter) -> float:
    # PTB 22 keeps the value as a timedelta; the public property warns about its future type on every read.
    value = exc._retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ChatRateLimiter(AIORateLimiter):
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, int] | int | None,
    ) -> JSON:
        chat_id = data.get("chat_id")
        if chat_id is None:
            # Not about a chat (getMe, setMyCommands): PTB's behaviour, whole-bot waits included.
            retries = rate_limit_args if isinstance(rate_limit_args, int) else None
            return await super().process_request(callback, args, kwargs, endpoint, data, retries)
        if isinstance(rate_limit_args, dict):
            retries = int(rate_limit_args.get("max_retries", self._max_retries))
        else:
            retries = self._max_retries if rate_limit_args is None else int(rate_limit_args)
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        group: int | str | bool = chat_id if isinstance(chat_id, str) or chat_id < 0 else False
        for attempt in range(retries + 1):
            try:
                # PTB's own throttling (overall and per group); its whole-bot 429 wait is never set here.
                return await self._run_request(
                    chat=True,
                    group=group,
                    allow_paid_broadcast=bool(data.get("allow_paid_broadcast", False)),
                    callback=callback,
                    args=args,
                    kwargs=kwargs,
                )
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                wait = retry_seconds(exc) + 0.1
                logger.info("flood control for chat %s: retrying in %.1f s", chat_id, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


# Telegram's broadcast limits: about 30 messages a second overall and one a second per chat.
PER_CHAT_SECONDS = 1.0


class BroadcastPace:
    """Spaces broadcast messages (announcements) to `rate` a second overall and one a second per chat.

    Only the relay's broadcast rows wait here; ticket notifications never do. The overall rate stays below
    Telegram's 30/s so that the notifications sent between broadcast batches still fit under it (PTB's
    limiter, when on, enforces the 30/s for both). `clock` and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        rate: float,
        *,
        per_chat_seconds: float = PER_CHAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a broadcast rate must be positive")
        self.interval, self.per_chat = 1.0 / rate, per_chat_seconds
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._chat_next: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        """Returns when a broadcast message to `chat_id` may go."""
        now = self.clock()
        at = max(now, self._next, self._chat_next.get(chat_id, 0.0))
        self._next = at + self.interval
        self._chat_next[chat_id] = at + self.per_chat
        if len(self._chat_next) > 10_000:
            # Chats whose second has passed need no entry: the dict stays as small as a second's sends.
            self._chat_next = {chat: t for chat, t in self._chat_next.items() if t > now}
        if at > now:
            await self.sleep(at - now)
