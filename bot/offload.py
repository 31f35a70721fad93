"""The one way bot/ runs blocking work (every database call) off the event loop.

A bounded pool of its own, so database work cannot take every thread of asyncio's default executor (which
DNS look-ups and the translation cache also use) and never exceeds the database pool by much. The caller's
context variables go along, as with asyncio.to_thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# About the PostgreSQL pool's steady size (10) plus room for SQLite's short waits; more threads would only
# queue in the pool.
MAX_WORKERS = 16

_executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="bot-db")


async def run_sync(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`fn(*args, **kwargs)` in the bot's database threads; the event loop serves other chats meanwhile."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(_executor, call)
