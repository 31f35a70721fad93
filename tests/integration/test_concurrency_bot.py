"""Many chats at once: updates of 20 chats put on the real Application's update queue (as polling and the
webhook put them) are all answered, the chats are served concurrently, and each chat's replies come in the
order of its messages. Rasa is a fake that answers after a random delay, so a later message of one chat
would overtake an earlier one if the bot did not keep each chat in order."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Update
from telegram.ext import Application

from bot.pipeline import Assistant
from bot.rasa_client import RasaClient
from bot.telegram.app import build_application
from community.database import Database
from community.language.service import set_translator
from community.language.translate import NullTranslator
from community.settings import Settings
from tests.integration.telegram_fake import FakeTelegram, message_update

CHATS = 20
MESSAGES = 4
FIRST_CHAT = 640_000_001


class SlowRasa:
    """Echoes each message after a random delay; counts how many requests it holds at once."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.in_flight = 0
        self.most_in_flight = 0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.random.uniform(0.0, 0.05))
        finally:
            self.in_flight -= 1
        return httpx.Response(200, json=[{"text": f"echo {body['message']}"}])


@pytest.fixture
async def application(db: Database) -> AsyncIterator[tuple[Application, FakeTelegram, SlowRasa]]:
    set_translator(NullTranslator())
    telegram = FakeTelegram()
    rasa = SlowRasa(seed=12)
    settings = Settings(
        database_url=db.url,
        translation_backend="null",
        telegram_bot_token="123456:TEST-TOKEN",
        telegram_rate_limiter=False,
    )
    client = RasaClient("http://rasa.test", transport=httpx.MockTransport(rasa.handler))
    app = build_application(
        settings, Assistant(db, client), request=telegram, updates_request=telegram, run_jobs=False
    )
    await app.initialize()
    await app.start()  # the update fetcher hands queued updates to the update processor
    yield app, telegram, rasa
    await app.stop()
    await app.shutdown()
    await client.aclose()
    set_translator(None)


async def test_twenty_chats_at_once_are_all_answered_each_in_its_own_order(
    application: tuple[Application, FakeTelegram, SlowRasa],
) -> None:
    app, telegram, rasa = application
    chats = [FIRST_CHAT + n for n in range(CHATS)]
    # Interleaved as they would arrive: every chat's first message, then every chat's second, …
    for index in range(MESSAGES):
        for chat in chats:
            update = message_update(chat, f"hello {index}", language_code="en")
            await app.update_queue.put(Update.de_json(update, app.bot))

    async with asyncio.timeout(60):  # a deadline for the wait, not a measure of speed
        while any(len(telegram.to(chat, "sendMessage")) < MESSAGES for chat in chats):
            await asyncio.sleep(0.02)

    for chat in chats:
        assert [c.text for c in telegram.to(chat, "sendMessage")] == [
            f"echo hello {index}" for index in range(MESSAGES)
        ], chat
    # Chats were served side by side (one at a time, Rasa would never hold two requests).
    assert rasa.most_in_flight > 1
