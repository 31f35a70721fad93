"""Faults of the real servers behind the bot, seen from Telegram: the Rasa server or the action server killed
(SIGKILL) or hung (SIGSTOP) mid-conversation, through the real Application, the real supervisor
(bot/services.py) and the real processes.

Each case asserts what a person chatting would see: an answer at once while the server is down (the menu that
works without it, never silence), and real answers again within RECOVERY_SECONDS with no command typed — the
supervisor restarts the server, and the bot's circuit breaker lets messages through again by itself. Each test
ends with both servers healthy, so the tests after it find the session's stack whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest
from telegram.ext import Application

from bot.pipeline import Assistant
from bot.rasa_client import RasaClient
from community.breaker import CircuitBreaker
from community.i18n import t
from tests.integration.conftest import Stack, feed
from tests.integration.telegram_fake import FakeTelegram, message_update

pytestmark = pytest.mark.rasa

_users = itertools.count(650_000_001)
# The wait for real answers after a fault: Rasa loads its model after a restart, 30-60 s on an idle machine;
# on a busy one, twice as long as the session's first start took.
RECOVERY_SECONDS = 90
# How long the session's stack may take to be whole again after a test (a restarted Rasa included).
HEALTHY_AGAIN_SECONDS = 240
GREETING = "Hello"


@pytest.fixture
async def quick_breaker(stack: Stack, assistant: Assistant, application: Application) -> AsyncIterator[None]:
    """The assistant asks Rasa again 2 s after its breaker opens (15 s in production), so a test sees the
    bot leave its degraded mode soon after the server is back; and the stack is whole again afterwards."""
    real = assistant.rasa
    assistant.rasa = RasaClient(stack.rasa_url, timeout_seconds=5, breaker=CircuitBreaker(open_seconds=2))
    try:
        yield
    finally:
        await assistant.rasa.aclose()
        assistant.rasa = real
        await asyncio.to_thread(stack.services.wait_healthy, HEALTHY_AGAIN_SECONDS)


async def say(application: Application, telegram: FakeTelegram, user: int, text: str) -> list[str]:
    """What the user reads after sending one message."""
    telegram.clear()
    await feed(application, message_update(user, text, language_code="en"))
    return [html.unescape(x) for x in telegram.texts_to(user)]


async def real_answers_again(
    application: Application, telegram: FakeTelegram, stack: Stack, user: int, expected: list[str]
) -> float:
    """Seconds until free text gets the real answer again; every answer until then is the degraded menu."""
    bound = max(RECOVERY_SECONDS, 2 * stack.services.ready_seconds)
    start = time.monotonic()
    while True:
        answers = await say(application, telegram, user, GREETING)
        if answers == expected:
            return time.monotonic() - start
        assert answers == [t("bot.degraded", "en")], f"neither real nor degraded: {answers}"
        if time.monotonic() - start > bound:
            pytest.fail(f"still degraded {bound:.0f}s after the fault", pytrace=False)
        await asyncio.sleep(1)


async def until_running(stack: Stack, server: str) -> None:
    async with asyncio.timeout(HEALTHY_AGAIN_SECONDS):
        while stack.services.state(server) != "RUNNING":
            await asyncio.sleep(1)


async def converse_across(
    application: Application, telegram: FakeTelegram, stack: Stack, server: str, fault: signal.Signals
) -> float:
    """A conversation in which `server` gets `fault`: real, degraded at once, real again by itself."""
    user = next(_users)
    greeting = await say(application, telegram, user, GREETING)
    assert greeting and greeting != [t("bot.degraded", "en")], greeting

    if fault is signal.SIGSTOP:
        # The supervisor health-checks a server once it counts as started (RUNNING): one restarted by the
        # test before this one may still be STARTING.
        await until_running(stack, server)
    before = stack.services.pid(server)
    os.kill(before, fault)
    try:
        assert await say(application, telegram, user, "Where is the nearest toilet?") == [
            t("bot.degraded", "en")
        ]
        recovered = await real_answers_again(application, telegram, stack, user, greeting)
    finally:
        if fault is signal.SIGSTOP:
            with contextlib.suppress(ProcessLookupError):
                os.kill(before, signal.SIGCONT)  # a failed test leaves no stopped server behind
    assert stack.services.pid(server) not in (0, before), f"{server} was not restarted"
    first = stack.services.ready_seconds
    print(f"{server} {fault.name}: real answers again after {recovered:.0f}s (first start {first:.0f}s)")
    return recovered


async def test_rasa_killed_mid_conversation_answers_at_once_and_recovers_by_itself(
    application: Application, telegram: FakeTelegram, stack: Stack, quick_breaker: None
) -> None:
    await converse_across(application, telegram, stack, "rasa", signal.SIGKILL)


async def test_action_server_killed_mid_conversation_answers_at_once_and_recovers_by_itself(
    application: Application, telegram: FakeTelegram, stack: Stack, quick_breaker: None
) -> None:
    await converse_across(application, telegram, stack, "actions", signal.SIGKILL)


async def test_hung_action_server_is_restarted_by_its_health_check(
    application: Application, telegram: FakeTelegram, stack: Stack, quick_breaker: None
) -> None:
    # SIGSTOP: the process lives on and its port still accepts connections, but nothing answers. Only the
    # health check (GET /health timing out) can tell; an exit-code supervisor would wait forever.
    await converse_across(application, telegram, stack, "actions", signal.SIGSTOP)
