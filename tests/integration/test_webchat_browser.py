"""The web chat in Debian's Chromium, through the real Rasa server and action server, on SQLite and
PostgreSQL: greetings in four languages are answered in kind; a resident files a report on the page (the
browser's geolocation answers the location request), the volunteer receives it in Telegram (the real relay
and Application, Telegram faked at the request layer), accepts and resolves it there, and the resident rates
it on the page; the status page from the confirmation follows it to resolved and rated.

Screenshots of each step are saved under var/screenshots/ (tests/web/conftest.py), to be looked at.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import select

from community.database import Database
from community.i18n import t
from community.language.service import set_translator
from community.language.translate import NullTranslator
from community.settings import PROJECT_ROOT, Settings
from community.tickets.models import Ticket
from tests.integration.conftest import Stack, application_without_rasa, feed, free_port
from tests.integration.telegram_fake import callback_update, message_update
from tests.web import conftest as web_fixtures
from tests.web.conftest import _ServerThread, screenshot
from web.app import create_app

pytestmark = pytest.mark.rasa

KNOWLEDGE = PROJECT_ROOT / "knowledge"
GREETINGS = {
    "你好": ("zh-CN", "你好！我是西津古渡社区助手"),
    "hello": ("en-US", "Hello! I'm the Xijin Ancient Ferry community assistant"),
    "こんにちは": ("ja-JP", "こんにちは！西津古渡コミュニティのアシスタントです"),
    "안녕하세요": ("ko-KR", "안녕하세요! 시진두 옛 나루터 마을 도우미입니다"),
}
LINK = re.compile(r"https?://\S+/status/(XJ[0-9A-Z]{8})\?t=([A-Za-z0-9_-]+)")
T = TypeVar("T")
# The browser fixtures of tests/web, here beside the Rasa stack of tests/integration.
browser = web_fixtures.browser
open_page = web_fixtures.open_page


def knowledge(name: str) -> Any:
    return yaml.safe_load((KNOWLEDGE / f"{name}.yml").read_text(encoding="utf-8"))


@pytest.fixture
def chat_url(stack: Stack) -> Iterator[str]:
    """The web front end served by uvicorn over the stack's database, talking to the stack's Rasa."""
    set_translator(NullTranslator())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=stack.database.url,
        rasa_url=stack.rasa_url,
        rasa_timeout_seconds=30.0,  # a busy machine: Rasa and the actions share two cores with the tests
        xijin_channel_secret=stack.settings.xijin_channel_secret,
        translation_backend="null",
        web_public_url=base,
    )
    app = create_app(settings, stack.database)
    try:
        with _ServerThread(app, port):
            yield base
    finally:
        set_translator(None)


def bot_texts(page: Any) -> list[str]:
    return [x.strip() for x in page.locator(".from-bot .bubble, .from-note .bubble").all_inner_texts()]


def wait_for_reply(page: Any, seen: int, timeout_ms: int = 60_000) -> list[str]:
    """Waits until the page shows more bot bubbles than `seen`; all bot bubbles."""
    page.wait_for_function(
        "n => document.querySelectorAll('.from-bot, .from-note').length > n", arg=seen, timeout=timeout_ms
    )
    page.wait_for_timeout(300)  # the rest of the same answer is added in the same task; let it paint
    return bot_texts(page)


def say(page: Any, text: str) -> list[str]:
    seen = len(bot_texts(page))
    page.fill("#chat-input", text)
    page.click("#chat-send")
    return wait_for_reply(page, seen)[seen:]


def press(page: Any, selector: str) -> list[str]:
    seen = len(bot_texts(page))
    page.locator(selector).last.click()
    return wait_for_reply(page, seen)[seen:]


def in_thread(work: Callable[[], Awaitable[T]]) -> T:
    """Runs async Telegram work in a thread of its own: Playwright's sync API owns this thread's loop."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(work())
        except BaseException as exc:  # handed to the test's thread
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("text", GREETINGS)
def test_the_web_chat_answers_a_greeting_in_the_language_it_was_written_in(
    chat_url: str, open_page: Callable[..., Any], text: str
) -> None:
    locale, expected = GREETINGS[text]
    page = open_page(locale=locale)
    page.goto(f"{chat_url}/chat")
    answer = say(page, text)
    assert answer and answer[0].startswith(expected), answer


def test_a_report_filed_on_the_page_reaches_the_volunteer_and_the_status_page_follows_it(
    chat_url: str, open_page: Callable[..., Any], stack: Stack
) -> None:
    spot = next(lm for lm in knowledge("grids")["landmarks"] if lm["id"] == "british_consulate")
    volunteer = next(
        p
        for p in knowledge("roster")["people"]
        if p.get("on_duty")
        and {"role": "volunteer", "grid": spot["micro_grid"]} in p["roles"]
        and "cleaning" in (p.get("skills") or [])
    )
    here = {"latitude": spot["location"]["lat"], "longitude": spot["location"]["lon"]}
    page = open_page(locale="zh-CN", geolocation=here, permissions=["geolocation"])
    page.goto(f"{chat_url}/chat")

    answer = say(page, "这里垃圾很多，好几天没人清理了")
    if page.locator('[data-payload*="issue_category"]').count():
        answer = press(page, '[data-payload*="sanitation"]')
    # The location request: the page's button asks the browser, which answers with the set geolocation.
    assert page.locator('[data-action="location"]').count(), answer
    answer = press(page, '[data-action="location"]')
    # What the first message said is the description: the form confirms it instead of asking again.
    noted = t("outreach.confirm_description", "zh-Hans", description="这里垃圾很多，好几天没人清理了")
    assert noted in answer[-1], answer
    answer = press(page, '[data-payload="/affirm"]')
    assert t("report.ask_photo", "zh-Hans") in answer[-1], answer
    answer = press(page, '[data-payload="/deny"]')
    assert t("report.ask_contact", "zh-Hans") in answer[-1], answer
    answer = press(page, '[data-payload="/deny"]')
    screenshot(page, "webchat-report-filed")
    confirmation = "\n".join(answer)
    found = LINK.search(confirmation)
    assert found is not None, confirmation
    ref = found.group(1)
    status_path = urlsplit(found.group(0)).path + "?" + urlsplit(found.group(0)).query

    filed = _ticket(stack.database, ref)
    assert filed.category_code == "sanitation" and filed.micro_grid_code == spot["micro_grid"]
    assert filed.channel == "web" and filed.description == "这里垃圾很多，好几天没人清理了"

    status = open_page(locale="zh-CN")
    status.goto(f"{chat_url}{status_path}")
    assert ref in status.locator("h1").inner_text()
    screenshot(status, "webchat-status-dispatched")

    chat = volunteer["telegram_id"]

    async def in_telegram() -> None:
        async with application_without_rasa(stack.database, rate_limiter=False) as app:
            telegram = app.bot_data["telegram"]
            await _relay(app, stack.database)
            card = [c for c in telegram.to(chat) if ref in c.text]
            assert card, "the volunteer got no task card"
            accept = next(
                b["callback_data"]
                for c in card
                for b in c.buttons()
                if b["callback_data"].startswith("tk:acc:")
            )
            await feed(app, callback_update(chat, accept, name=volunteer["name"]))
            await _relay(app, stack.database)
            resolve = next(
                b["callback_data"]
                for c in telegram.to(chat)
                for b in c.buttons()
                if b.get("callback_data", "").startswith(f"tk:res:{filed.id}:")
            )
            await feed(app, callback_update(chat, resolve, name=volunteer["name"]))
            await feed(app, message_update(chat, "已清运，垃圾桶已清空", name=volunteer["name"]))
            await _relay(app, stack.database)

    in_thread(in_telegram)
    assert _ticket(stack.database, ref).state == "resolved"

    status.reload()
    assert t("state.resolved", "zh-Hans") in status.locator("#status-state").inner_text()
    screenshot(status, "webchat-status-resolved")

    # The resident's page shows the updates (polled) and the rating buttons; 5 stars closes the ticket.
    page.wait_for_selector(f'[data-data="rt:{filed.id}:5"]', timeout=30_000)
    screenshot(page, "webchat-rating-asked")
    thanks = press(page, f'[data-data="rt:{filed.id}:5"]')
    assert thanks[-1] == t("rating.thanks", "zh-Hans", score=5), thanks
    assert _ticket(stack.database, ref).state == "closed"

    status.reload()
    assert t("state.closed", "zh-Hans") in status.locator("#status-state").inner_text()
    history = status.locator("#status-history").inner_text()
    assert t("webchat.status.event.rated", "zh-Hans", score=5) in history
    assert volunteer["name"] not in status.content()
    screenshot(status, "webchat-status-rated")


def _ticket(database: Database, ref: str) -> Ticket:
    with database.session() as session:
        found = session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert found is not None
        return found


async def _relay(app: Any, database: Database) -> None:
    from bot.telegram.jobs import relay_once

    for _ in range(20):
        counts = await relay_once(app.bot, database)
        if not any(counts.values()):
            return
