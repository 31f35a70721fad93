"""The chat page in Debian's Chromium, with Rasa down (a closed port): the degraded menu is shown in the
page's language and its buttons work, a report for the desk is filed from the page with its status link,
what a person types is shown as text (never markup), and the page keeps its conversation across a reload.
SQLite and PostgreSQL. The Rasa-backed chat: tests/integration/test_webchat_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from community.i18n import t
from tests.web import webchat_support
from tests.web.conftest import _ServerThread, free_port, screenshot
from tests.web.webchat_support import ChatSite

chat_site = webchat_support.chat_site
LINK = re.compile(r"http://\S+(/status/(XJ[0-9A-Z]{8})\?t=[A-Za-z0-9_-]+)")


@pytest.fixture
def chat_url(chat_site: ChatSite) -> Iterator[str]:
    port = free_port()
    with _ServerThread(chat_site.app, port):
        yield f"http://127.0.0.1:{port}"


def bubbles(page: Any) -> list[str]:
    return [x.strip() for x in page.locator(".from-bot .bubble, .from-note .bubble").all_inner_texts()]


def wait_for_more(page: Any, seen: int) -> list[str]:
    page.wait_for_function("n => document.querySelectorAll('.from-bot').length > n", arg=seen)
    return bubbles(page)[seen:]


def test_with_rasa_down_the_page_offers_the_menu_and_files_a_report_for_the_desk(
    chat_url: str, open_page: Callable[..., Any]
) -> None:
    page = open_page(locale="ko-KR")
    page.goto(f"{chat_url}/chat")
    assert page.locator("h1").inner_text() == t("webchat.title", "ko")

    page.fill("#chat-input", "<b>화장실</b> 어디예요?")
    page.click("#chat-send")
    answer = wait_for_more(page, 0)
    assert answer[0].startswith(t("bot.degraded", "ko")[:10]), answer
    # What the person typed is shown as they typed it, not as markup.
    assert page.locator(".from-user .bubble").last.inner_text() == "<b>화장실</b> 어디예요?"
    assert page.locator(".from-user b").count() == 0

    seen = len(bubbles(page))
    page.locator('[data-payload="/report_native"]').click()
    assert wait_for_more(page, seen)[-1] == t("report.ask_description", "ko")
    seen = len(bubbles(page))
    page.fill("#chat-input", "골목 가로등이 꺼져 있어요")
    page.click("#chat-send")
    filed = wait_for_more(page, seen)[-1]
    found = LINK.search(filed)
    assert found is not None, filed
    screenshot(page, "webchat-degraded-report")

    page.reload()
    assert found.group(2) in "\n".join(bubbles(page)), "the conversation is gone after a reload"

    # The link's base is the WEB_PUBLIC_URL setting (tests: http://testserver); its path is the page.
    page.goto(chat_url + found.group(1))
    assert found.group(2) in page.locator("h1").inner_text()
    assert page.locator("#status-state").inner_text() != ""
    screenshot(page, "webchat-status-page-ko")
