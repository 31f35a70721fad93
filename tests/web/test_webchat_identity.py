"""The web chat's person is the browser's signed cookie and nothing else; POSTs need the CSRF token and are
rate-limited; bad input gets a polite answer. On SQLite and PostgreSQL (the `db` fixture).

Each attack is tried first: a forged or altered cookie, an id in the body, a POST from another site or
without a token, a flood of messages.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from community.people.models import Person
from community.tickets.models import Ticket
from tests.web import webchat_support
from tests.web.webchat_support import Browser, ChatSite
from web.chat.identity import COOKIE
from web.security import CSRF_COOKIE

REF = re.compile(r"XJ[0-9A-Z]{8}")
chat_site = webchat_support.chat_site


def file_for_desk(browser: Browser, text: str) -> str:
    """A report through the web chat with Rasa down: the degraded menu's report for the desk."""
    browser.press("/report_native")
    answer = browser.texts(browser.say(text))
    found = REF.search(answer)
    assert found is not None, answer
    return found.group(0)


def test_a_forged_or_altered_cookie_is_a_new_person_not_the_victim(chat_site: ChatSite) -> None:
    victim = Browser(chat_site.app)
    victim.open_chat()
    ref = file_for_desk(victim, "The street light by the pier is broken")
    stolen_id = victim.http.cookies[COOKIE].split(".")[0]

    for forged in (f"{stolen_id}.AAAA", stolen_id, f"{stolen_id}.{'x' * 43}", "junk"):
        attacker = Browser(chat_site.app)
        attacker.open_chat()  # a real CSRF token of the attacker's own
        attacker.http.cookies.delete(COOKIE)
        attacker.http.cookies.set(COOKIE, forged, domain="testserver.local")
        # The body names the victim too: it is not read as an identity.
        answer = attacker.post(
            "/chat/api/message", {"payload": "/mytickets", "user": f"web:{stolen_id}", "user_id": stolen_id}
        )
        assert ref not in attacker.texts(answer)
        # The forged cookie was replaced by a new person's.
        assert attacker.http.cookies[COOKIE].split(".")[0] != stolen_id

    assert ref in victim.texts(victim.press("/mytickets"))
    with chat_site.database.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert ticket is not None
        reporter = session.get(Person, ticket.reporter_id)
        assert reporter is not None and reporter.external_key == f"web:{stolen_id}"
        web_people = session.scalars(select(Person).where(Person.external_key.like("web:%"))).all()
        assert len(web_people) == 5  # the victim and four new people, one per forged cookie


def test_the_identity_cookie_is_httponly_and_signed(chat_site: ChatSite) -> None:
    browser = Browser(chat_site.app)
    page = browser.http.get("/chat")
    cookies = page.headers.get_list("set-cookie")
    chat = next(c for c in cookies if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in chat and "SameSite=lax" in chat
    value = chat.split(";")[0].split("=", 1)[1]
    browser_id, signature = value.split(".")
    assert len(browser_id) >= 24 and len(signature) >= 40


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(chat_site: ChatSite) -> None:
    browser = Browser(chat_site.app)
    browser.open_chat()
    no_token = browser.http.post("/chat/api/message", json={"message_id": "m1", "payload": "/mytickets"})
    assert no_token.status_code == 403
    wrong = browser.post("/chat/api/message", {"payload": "/mytickets"}, **{"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    # A token that is right for another browser's cookie is wrong for this one.
    other = Browser(chat_site.app)
    other.open_chat()
    borrowed = browser.post("/chat/api/message", {"payload": "/mytickets"}, **{"X-CSRF-Token": other.csrf})
    assert borrowed.status_code == 403
    # The right token, sent from a page of another site.
    cross = browser.post("/chat/api/message", {"payload": "/mytickets"}, Origin="https://evil.example")
    assert cross.status_code == 403
    # A browser with no CSRF cookie at all (the token copied from elsewhere).
    bare = Browser(chat_site.app)
    bare.csrf = browser.csrf
    assert bare.post("/chat/api/message", {"payload": "/mytickets"}).status_code == 403
    with chat_site.database.session() as session:
        assert session.scalars(select(Person).where(Person.external_key.like("web:%"))).all() == []
    # And the page's own request goes through.
    ok = browser.post("/chat/api/message", {"payload": "/mytickets"}, Origin="http://testserver")
    assert ok.status_code == 200
    assert browser.http.cookies.get(CSRF_COOKIE)


def test_a_flood_of_messages_is_slowed_with_429_and_a_polite_retry_after(chat_site: ChatSite) -> None:
    browser = Browser(chat_site.app)
    browser.open_chat()
    answers = [browser.press("/mytickets") for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429
    assert int(answers[10].headers["Retry-After"]) >= 1
    # A new cookie does not buy a new budget: the limit is per address.
    fresh = Browser(chat_site.app)
    fresh.open_chat()
    assert fresh.press("/mytickets").status_code == 429


def test_bad_input_gets_a_polite_answer_in_the_page_language(chat_site: ChatSite) -> None:
    browser = Browser(chat_site.app, language="ja")
    browser.open_chat()
    broken = browser.http.post(
        "/chat/api/message",
        content=b"{not json",
        headers={"X-CSRF-Token": browser.csrf, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert "もう一度入力してください" in broken.json()["replies"][0]["text"]
    bad_location = browser.post("/chat/api/message", {"location": {"latitude": 123, "longitude": 0}})
    assert bad_location.status_code == 422
    bad_id = browser.http.post(
        "/chat/api/message",
        json={"message_id": "../../etc", "text": "hi"},
        headers={"X-CSRF-Token": browser.csrf},
    )
    assert bad_id.status_code == 422
    too_long = browser.texts(browser.say("あ" * 2500))
    assert "2000" in too_long


def test_with_rasa_down_the_chat_offers_the_degraded_menu(chat_site: ChatSite) -> None:
    browser = Browser(chat_site.app, language="zh-CN")
    browser.open_chat()
    answer = browser.say("你好，厕所在哪里？")
    assert answer.status_code == 200
    body = answer.json()
    assert body["degraded"] is True
    payloads = [b["payload"] for r in body["replies"] for b in r.get("buttons", [])]
    assert payloads == ["/map", "/report_native", "/mytickets"]
    assert body["language"] == "zh-Hans"
