"""From a Telegram update to the reply that would have been sent, through the real Rasa server and actions."""

from __future__ import annotations

import itertools

import pytest
from telegram.ext import Application

from tests.integration.conftest import feed
from tests.integration.telegram_fake import FakeTelegram, message_update

pytestmark = pytest.mark.rasa

_users = itertools.count(510_000_001)

GREETINGS = {
    "你好": "你好！我是西津古渡社区助手",
    "hello": "Hello! I'm the Xijin Ancient Ferry community assistant",
    "こんにちは": "こんにちは！西津古渡コミュニティのアシスタントです",
    "안녕하세요": "안녕하세요! 시진두 옛 나루터 마을 도우미입니다",
}


@pytest.mark.parametrize("text", GREETINGS)
async def test_a_greeting_is_answered_in_the_language_it_was_written_in(
    application: Application, telegram: FakeTelegram, text: str
) -> None:
    user = next(_users)
    await feed(application, message_update(user, text))
    sent = telegram.to(user, "sendMessage")
    assert sent, "the bot sent nothing"
    assert sent[0].text.startswith(GREETINGS[text])
    assert sent[0].params["parse_mode"] == "HTML"


async def test_one_user_switching_languages_is_followed(
    application: Application, telegram: FakeTelegram
) -> None:
    user = next(_users)
    for text, expected in GREETINGS.items():
        telegram.clear()
        await feed(application, message_update(user, text))
        assert telegram.texts_to(user)[0].startswith(expected)
