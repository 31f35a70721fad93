"""A resident without Telegram follows a report from the web: the status link it was filed with opens only
with its token; the volunteer gets the task in Telegram (the real relay, Application and Bot, Telegram faked
at the request layer); the resident's notifications wait for their chat page and never go to Telegram; the
rating from the page closes the ticket; the status page follows every step. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from bot.telegram.jobs import Relay
from community.database import utcnow
from community.outbox.models import OutboxMessage, OutboxStatus
from community.outbox.service import claim, enqueue
from community.people.models import Person
from community.tickets.filing import file_report
from community.tickets.models import Ticket, TicketEvent, TicketState
from community.tickets.status_links import status_link
from tests.integration.conftest import application_without_rasa, feed
from tests.integration.telegram_fake import callback_update, message_update
from tests.tickets.world import IN_M1
from tests.web import webchat_support
from tests.web.webchat_support import BASE, Browser, ChatSite
from web.chat.identity import COOKIE

chat_site = webchat_support.chat_site
LINK = re.compile(re.escape(BASE) + r"/status/(XJ[0-9A-Z]{8})\?t=([A-Za-z0-9_-]+)")


def web_person(site: ChatSite, browser: Browser) -> Person:
    """The browser's person, as the pipeline registers it at its first message."""
    browser.open_chat()
    browser.press("/mytickets")
    key = "web:" + browser.http.cookies[COOKIE].split(".")[0]
    with site.database.session() as session:
        person = session.scalar(select(Person).where(Person.external_key == key))
        assert person is not None
        session.expunge(person)
        return person


def file_streetlight(site: ChatSite, reporter: Person, **extra: object) -> tuple[Ticket, str]:
    with site.database.session() as session:
        me = session.get(Person, reporter.id)
        result = file_report(
            session,
            reporter=me,
            category_code="streetlight",
            lat=IN_M1[0],
            lon=IN_M1[1],
            description="The lamp at the pier flickers",
            channel="web",
            now=utcnow(),
            **extra,  # type: ignore[arg-type]
        )
        link = status_link(session, result.ticket, BASE)
        session.expunge(result.ticket)
        return result.ticket, link


def test_the_status_link_opens_only_with_its_token_and_says_the_same_404_otherwise(
    chat_site: ChatSite,
) -> None:
    browser = Browser(chat_site.app)
    browser.open_chat()
    browser.press("/report_native")
    confirmation = browser.texts(browser.say("Call me on 13912345678, the bench is broken"))
    found = LINK.search(confirmation)
    assert found is not None, confirmation
    ref, token = found.groups()
    other_ticket, other_link = file_streetlight(chat_site, web_person(chat_site, Browser(chat_site.app)))
    other_token = LINK.search(other_link).group(2)  # type: ignore[union-attr]

    stranger = Browser(chat_site.app)
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused = [
        stranger.http.get(f"/status/{ref}"),
        stranger.http.get(f"/status/{ref}?t="),
        stranger.http.get(f"/status/{ref}?t={wrong}"),
        stranger.http.get(f"/status/{ref}?t={token[:20]}"),
        stranger.http.get(f"/status/{ref}?t={other_token}"),
        stranger.http.get(f"/status/XJ23456789?t={token}"),
        stranger.http.get(f"/status/{ref}?t={'x' * 5000}"),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    assert len({r.text for r in refused}) == 1
    assert ref not in refused[0].text

    page = stranger.http.get(f"/status/{ref}?t={token}")
    assert page.status_code == 200
    assert ref in page.text and "submitted" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # No phone number, no description, no names of staff.
    assert "13912345678" not in page.text and "bench" not in page.text
    assert "Desk Clerk" not in page.text
    # The ref in lower case is the same ticket (refs are typed from paper).
    assert stranger.http.get(f"/status/{ref.lower()}?t={token}").status_code == 200
    assert other_ticket.ref not in page.text


def test_a_web_report_reaches_the_volunteer_in_telegram_and_the_page_follows_it_to_rated(
    chat_site: ChatSite,
) -> None:
    resident = Browser(chat_site.app, language="ja")
    reporter = web_person(chat_site, resident)
    ticket, link = file_streetlight(chat_site, reporter)
    path = urlsplit(link).path + "?" + urlsplit(link).query
    volunteer = chat_site.world.id("v_m1_a")

    async def run() -> None:
        async with application_without_rasa(chat_site.database, rate_limiter=False) as app:
            telegram = app.bot_data["telegram"]
            relay = Relay(chat_site.database)
            await relay.run_once(app.bot)
            with chat_site.database.session() as session:
                wang = session.get(Person, volunteer)
                assert wang is not None
                wang_chat = int(wang.chat_id or 0)
            card = [c for c in telegram.to(wang_chat) if ticket.ref in c.text]
            assert card, "the volunteer got no task card in Telegram"
            accept = next(b for c in card for b in c.buttons() if b["callback_data"].startswith("tk:acc:"))
            await feed(app, callback_update(wang_chat, accept["callback_data"]))
            page = resident.http.get(path + "&lang=ja")
            assert "対応中" in page.text  # accepted: being handled
            assert "現地時間" in page.text  # the expected time, in local time

            await relay.run_once(app.bot)
            resolve = next(
                b
                for c in telegram.to(wang_chat)
                for b in c.buttons()
                if b["callback_data"].startswith(f"tk:res:{ticket.id}:")
            )
            await feed(app, callback_update(wang_chat, resolve["callback_data"]))
            await feed(app, message_update(wang_chat, "Replaced the bulb"))
            await relay.run_once(app.bot)
            # Telegram was only ever asked to write to Telegram people; the relay never tried the resident's
            # notifications (no attempt counted on any of them).
            with chat_site.database.session() as session:
                telegram_chats = set(
                    session.scalars(select(Person.telegram_id).where(Person.telegram_id.is_not(None)))
                )
                tried = session.scalars(
                    select(OutboxMessage.attempts).where(OutboxMessage.recipient_id == reporter.id)
                ).all()
            assert {c.chat_id for c in telegram.calls if c.chat_id is not None} <= telegram_chats
            assert tried and set(tried) == {0}

    asyncio.run(run())
    assert "解決済み" in resident.http.get(path + "&lang=ja").text

    # The resident's chat page gets the updates, the last with the rating buttons.
    inbox = resident.http.get("/chat/api/inbox").json()["replies"]
    assert any(ticket.ref in r["text"] for r in inbox)
    rating = [b for r in inbox for b in r.get("buttons", []) if b["data"] == f"rt:{ticket.id}:5"]
    assert rating, inbox
    assert resident.http.get("/chat/api/inbox").json()["replies"] == []  # shown once

    # Someone else pressing the rating is told no; the ticket stays resolved.
    intruder = Browser(chat_site.app)
    intruder.open_chat()
    refused = intruder.post("/chat/api/press", {"data": f"rt:{ticket.id}:1"})
    assert refused.status_code == 200 and refused.json()["replies"][0]["text"]
    with chat_site.database.session() as session:
        assert session.get(Ticket, ticket.id).state == TicketState.RESOLVED  # type: ignore[union-attr]

    rated = resident.texts(resident.post("/chat/api/press", {"data": rating[0]["data"]}))
    assert "5" in rated
    page = resident.http.get(path + "&lang=ja").text
    assert "完了" in page and "評価：5 / 5" in page
    with chat_site.database.session() as session:
        assert session.get(Ticket, ticket.id).state == TicketState.CLOSED  # type: ignore[union-attr]
        statuses = set(
            session.scalars(
                select(OutboxMessage.status).where(OutboxMessage.recipient_id == reporter.id)
            ).all()
        )
    # The closing message waits for the page; nothing of the resident's is dead (a relay would have killed
    # it: no Telegram chat).
    assert OutboxStatus.DEAD not in statuses


def test_the_telegram_relay_never_claims_a_web_persons_notification(chat_site: ChatSite) -> None:
    reporter = web_person(chat_site, Browser(chat_site.app))
    now = utcnow()
    with chat_site.database.session() as session:
        web = session.get(Person, reporter.id)
        telegram_person = session.get(Person, chat_site.world.id("alice"))
        assert web is not None and telegram_person is not None
        enqueue(session, web, "note", {"text": "for the web page"}, now=now)
        enqueue(session, telegram_person, "note", {"text": "for Telegram"}, now=now)
    claimed = claim(chat_site.database, 30, now + timedelta(seconds=1), 60)
    assert [m.payload["text"] for m in claimed] == ["for Telegram"]
    with chat_site.database.session() as session:
        waiting = session.scalar(select(OutboxMessage).where(OutboxMessage.recipient_id == reporter.id))
        assert waiting is not None and waiting.status == OutboxStatus.PENDING and waiting.attempts == 0


def test_public_messages_show_in_the_readers_language_and_private_ones_never(chat_site: ChatSite) -> None:
    reporter = web_person(chat_site, Browser(chat_site.app))
    ticket, link = file_streetlight(chat_site, reporter)
    path = urlsplit(link).path + "?" + urlsplit(link).query
    with chat_site.database.session() as session:
        session.add_all(
            [
                TicketEvent(
                    ticket_id=ticket.id,
                    kind="message",
                    actor_role="volunteer",
                    data={
                        "public": True,
                        "text": "明天上午来换灯泡",
                        "language": "zh-Hans",
                        "translations": {"en": "I will change the bulb tomorrow morning"},
                    },
                    at=utcnow(),
                ),
                TicketEvent(
                    ticket_id=ticket.id,
                    kind="message",
                    actor_role="volunteer",
                    data={"text": "内部：联系电话 13800000000", "language": "zh-Hans", "public": False},
                    at=utcnow(),
                ),
                TicketEvent(
                    ticket_id=ticket.id,
                    kind="message",
                    actor_role="volunteer",
                    data={
                        "public": True,
                        "text": "已到现场",
                        "language": "zh-Hans",
                        "canned": "on_site",
                        "translations": {"en": "We are on site now"},
                    },
                    at=utcnow(),
                ),
            ]
        )
    english = Browser(chat_site.app).http.get(path + "&lang=en").text
    assert "I will change the bulb tomorrow morning" in english and "machine translation" in english
    # A canned reply's curated text is no machine translation.
    assert english.count("machine translation") == 1 and "We are on site now" in english
    chinese = Browser(chat_site.app).http.get(path + "&lang=zh-Hans").text
    assert "明天上午来换灯泡" in chinese
    for page in (english, chinese):
        assert "13800000000" not in page and "内部" not in page
        assert "Wang" not in page and "王" not in page
