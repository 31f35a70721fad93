"""One trust boundary: only the bot may speak for a person.

Against the real Rasa server and action server of the `stack` fixture: a request that does not come from the
bot — Rasa's old open REST channel, the bot's channel without the bot's signature or with a stale one,
Rasa's HTTP API — reveals nothing about another person and changes nothing; the servers listen on loopback
only. Through the real Application: in a group the bot answers a command or button with "write to me
privately" and nothing else, and a person's notifications keep going to their private chat.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.telegram.jobs import relay_once
from community.i18n import t
from community.outbox.service import enqueue
from community.people.models import Person
from community.tickets.models import Ticket
from tests.integration.conftest import Stack, feed
from tests.integration.telegram_fake import FakeTelegram, callback_update, message_update

pytestmark = pytest.mark.rasa

_users = itertools.count(710_000_001)
GROUP = -1001234567890  # a supergroup: Telegram gives groups negative ids


# --- helpers ------------------------------------------------------------------------------------------------


def person(stack: Stack, telegram_id: int) -> Person:
    with stack.database.session() as session:
        found = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        assert found is not None, f"nobody with telegram id {telegram_id}"
        return found


def refs_of(stack: Stack, telegram_id: int) -> list[str]:
    with stack.database.session() as session:
        reporter = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
        assert reporter is not None
        return list(session.scalars(select(Ticket.ref).where(Ticket.reporter_id == reporter.id)))


def in_a_group(update: dict[str, Any]) -> dict[str, Any]:
    """The same update, written in a group the bot is a member of."""
    container = update.get("message") or update["callback_query"]["message"]
    container["chat"] = {"id": GROUP, "type": "supergroup", "title": "Red grid 3 volunteers"}
    return update


async def alice_reports_something(application: Application, stack: Stack) -> tuple[int, str]:
    """A resident who reported through the bot (the desk's report, which needs no understanding of text)."""
    alice = next(_users)
    await feed(application, callback_update(alice, "r:/report_native", name="Alice", language_code="en"))
    await feed(application, message_update(alice, "The lamp at the east gate is out", name="Alice"))
    [ref] = refs_of(stack, alice)
    assert person(stack, alice).chat_id == str(alice)
    return alice, ref


def forged_body(victim: int, caller: int) -> dict[str, Any]:
    """What the bot would send for the victim, with the caller's chat to get the victim's notifications."""
    return {
        "sender": f"telegram:{caller}",
        "message": "/check_ticket",
        "metadata": {
            "language": "en",
            "channel": "telegram",
            "chat_id": str(caller),
            "message_id": 1,
            "user": {"key": f"telegram:{victim}", "telegram_id": None, "chat_id": str(caller), "name": "A"},
        },
    }


def user_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    """The user's side of a conversation in Rasa's tracker (read through its HTTP API, with the token)."""
    response = httpx.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.services.token},
        timeout=10,
    )
    response.raise_for_status()
    return [e for e in response.json().get("events") or [] if e.get("event") == "user"]


# --- a forged request reveals nothing and changes nothing ---------------------------------------------------


async def test_a_forged_request_to_rasa_reveals_no_tickets_and_rewrites_no_chat(
    application: Application, stack: Stack
) -> None:
    alice, ref = await alice_reports_something(application, stack)
    mallory = next(_users)
    body = forged_body(alice, mallory)

    # Rasa's open REST channel (what the bot used to post to) is gone.
    response = httpx.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=30)
    assert ref not in response.text
    assert response.status_code == 404

    # The bot's channel without a signature.
    channel = f"{stack.rasa_url}/webhooks/xijin/webhook"
    response = httpx.post(channel, json=body, timeout=30)
    assert ref not in response.text
    assert response.status_code == 401

    assert person(stack, alice).chat_id == str(alice)
    assert user_events(stack, f"telegram:{mallory}") == []


async def test_the_channel_refuses_a_wrong_or_stale_signature(application: Application, stack: Stack) -> None:
    from community.identity import request_headers, signed_request

    alice, ref = await alice_reports_something(application, stack)
    mallory = next(_users)
    channel = f"{stack.rasa_url}/webhooks/xijin/webhook"
    raw = json.dumps(forged_body(alice, mallory)).encode()

    wrong = request_headers("a guess at the secret", raw)
    response = httpx.post(channel, content=raw, headers=wrong, timeout=30)
    assert (response.status_code, ref in response.text) == (403, False)

    # A request the bot really signed, captured and sent again ten minutes later.
    secret = stack.settings.xijin_channel_secret.get_secret_value()
    ten_minutes_ago = time.time() - 600
    body, headers = signed_request(secret, f"telegram:{alice}", "/check_ticket", {}, now=ten_minutes_ago)
    response = httpx.post(channel, content=body, headers=headers, timeout=30)
    assert (response.status_code, ref in response.text) == (403, False)

    # A request the bot signs now goes through: what the channel refused was the signature, not the route.
    body, headers = signed_request(secret, f"telegram:{mallory}", "hello", {})
    assert httpx.post(channel, content=body, headers=headers, timeout=30).status_code == 200

    assert person(stack, alice).chat_id == str(alice)
    assert [e.get("text") for e in user_events(stack, f"telegram:{alice}")].count("/check_ticket") == 0


async def test_a_message_through_rasas_http_api_speaks_for_nobody(
    application: Application, stack: Stack
) -> None:
    """Defence in depth: whatever reaches Rasa without the bot's signed identity (here its HTTP API, which
    takes the token) makes the actions answer as to a stranger, even in the person's own conversation."""
    alice, ref = await alice_reports_something(application, stack)

    response = httpx.post(
        f"{stack.rasa_url}/conversations/telegram:{alice}/trigger_intent",
        params={"token": stack.services.token},
        json={"name": "check_ticket", "entities": {}},
        timeout=30,
    )

    response.raise_for_status()
    said = [m.get("text") for m in response.json()["messages"]]
    assert ref not in json.dumps(said, ensure_ascii=False)
    # No metadata says which language either: the community's own.
    assert t("chat.anonymous", "zh-Hans") in said


# --- loopback only ------------------------------------------------------------------------------------------


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6}: little-endian 32-bit words in hex."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def _listening() -> dict[str, tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """Every listening TCP socket of the machine: inode → (address, port)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A":  # LISTEN
                address, port = local.split(":")
                found[inode] = (_address(address), int(port, 16))
    return found


def _processes_with(marker: bytes) -> list[Path]:
    """The processes whose environment holds `marker`: everything the stack started inherits it."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(proc)
            except OSError:
                continue  # gone, or not ours to read
    return found


def _socket_inodes(proc: Path) -> set[str]:
    inodes = set()
    try:
        for fd in (proc / "fd").iterdir():
            target = str(fd.readlink()) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except OSError:
        pass
    return inodes


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def test_nothing_of_the_stack_listens_beyond_loopback(stack: Stack) -> None:
    # Every process of this stack has its action server's URL (a free port of its own) in its environment.
    marker = f"ACTION_SERVER_URL={stack.services.action_url}/webhook"
    processes = _processes_with(marker.encode())
    listening = _listening()
    ours = {listening[i] for proc in processes for i in _socket_inodes(proc) if i in listening}

    ports = {port for _, port in ours}
    assert {stack.services.rasa_port, stack.settings.action_server_port} <= ports, ours
    assert [f"{address}:{port}" for address, port in ours if not _is_loopback(address)] == []


# --- private chats only -----------------------------------------------------------------------------------


async def test_staff_commands_in_a_group_get_a_polite_answer_and_no_tickets(
    stack: Stack, application: Application, telegram: FakeTelegram
) -> None:
    with stack.database.session() as session:
        volunteer = session.scalar(select(Person).where(Person.external_key == "roster:vol_hill_1"))
        assert volunteer is not None and volunteer.telegram_id is not None
        chat, chat_before = volunteer.telegram_id, volunteer.chat_id

    for command in ("/tasks", "/stats", "/mytickets"):
        telegram.clear()
        await feed(application, in_a_group(message_update(chat, command, language_code="en")))
        [answer] = telegram.calls
        assert (answer.method, answer.chat_id, answer.text) == (
            "sendMessage",
            GROUP,
            t("bot.private_only", "en"),
        )

    assert person(stack, chat).chat_id == chat_before


async def test_a_button_pressed_in_a_group_does_nothing(
    stack: Stack, application: Application, telegram: FakeTelegram
) -> None:
    alice, ref = await alice_reports_something(application, stack)
    telegram.clear()

    await feed(application, in_a_group(callback_update(alice, "r:/mytickets", language_code="ja")))

    [answer] = telegram.calls
    assert answer.method == "answerCallbackQuery"
    assert answer.params.get("text") == t("bot.private_only", "ja")
    assert answer.params.get("show_alert") is True
    assert ref not in json.dumps([c.params for c in telegram.calls], ensure_ascii=False)


async def test_a_resident_who_writes_in_a_group_keeps_getting_notifications_privately(
    stack: Stack, application: Application, telegram: FakeTelegram
) -> None:
    alice, ref = await alice_reports_something(application, stack)
    telegram.clear()

    await feed(application, in_a_group(message_update(alice, "hello everyone", name="Alice")))
    await feed(application, in_a_group(message_update(alice, "/mytickets", name="Alice")))
    assert [c.text for c in telegram.to(GROUP)] == [t("bot.private_only", "en")]  # nothing about tickets
    assert person(stack, alice).chat_id == str(alice)

    with stack.database.session() as session:
        reporter = session.scalar(select(Person).where(Person.telegram_id == alice))
        assert reporter is not None
        enqueue(session, reporter, "test.note", {"text": f"news about {ref}"})
    telegram.clear()
    while any((await relay_once(application.bot, stack.database)).values()):
        pass
    assert f"news about {ref}" in telegram.texts_to(alice)
    assert telegram.to(GROUP) == []
