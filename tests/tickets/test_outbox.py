"""The outbox relay protocol: leases, at-least-once delivery, back-off, dead letters, blocked recipients."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.telegram.jobs import Relay, relay_once
from community.database import Database
from community.outbox import (
    backoff_seconds,
    claim,
    enqueue,
    mark_blocked,
    mark_failed,
    mark_sent,
    pending_count,
    prune_processed_updates,
    release,
)
from community.outbox.journal import DeliveryJournal
from community.outbox.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from community.people.models import Person
from tests.integration.telegram_fake import Call, FakeTelegram
from tests.tickets.world import T0, World, later


def _enqueue(db: Database, world: World, key: str, n: int, now=T0) -> list[str]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        person = world.person(s, key)
        ids = [
            enqueue(s, person, "test", {"text": f"message {i}"}, now=now + timedelta(seconds=i)).id
            for i in range(n)
        ]
    return ids


def _chat(world: World, key: str) -> int:
    """The person's Telegram chat, as the synthetic world numbers them."""
    return 1000 + list(world.people).index(key) + 1


def _status(db: Database, message_id: str) -> OutboxMessage:
    with db.session() as s:
        found = s.get(OutboxMessage, message_id)
        assert found is not None
        return found


def test_enqueue_belongs_to_the_transaction(db: Database, world: World) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        enqueue(s, world.person(s, "alice"), "test", {"text": "never"}, now=T0)
        s.flush()
        raise RuntimeError("the change failed")
    with db.session() as s:
        assert pending_count(s) == 0


def test_claim_leases_messages_oldest_first(db: Database, world: World) -> None:
    ids = _enqueue(db, world, "alice", 3)
    claimed = claim(db, 10, later(1), 30)
    assert [m.id for m in claimed] == ids
    first = claimed[0]
    assert first.payload == {"text": "message 0"} and first.attempts == 1 and first.kind == "test"
    assert first.telegram_id == 1000 + list(world.people).index("alice") + 1
    assert first.chat_id == str(first.telegram_id)
    assert claim(db, 10, later(1), 30) == []  # leased
    assert len(claim(db, 10, later(1) + timedelta(seconds=31), 30)) == 3  # the relay died: sent again
    again = claim(db, 10, later(1) + timedelta(seconds=62), 30)  # … and again: each claim its own lease
    assert mark_sent(db, again[0].lease, later(2))
    assert _status(db, ids[0]).status == OutboxStatus.SENT
    assert [m.id for m in claim(db, 10, later(5), 30)] == ids[1:]


def test_messages_not_yet_due_wait(db: Database, world: World) -> None:
    _enqueue(db, world, "alice", 1, now=later(10))
    assert claim(db, 10, later(9), 30) == []
    assert len(claim(db, 10, later(11), 30)) == 1


def test_backoff_and_telegram_retry_after(db: Database, world: World) -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert backoff_seconds(30) == 3600
    (mid,) = _enqueue(db, world, "alice", 1)
    now = later(1)
    (first,) = claim(db, 1, now, 30)
    assert mark_failed(db, first.lease, "timeout", now) == OutboxStatus.PENDING
    message = _status(db, mid)
    assert message.attempts == 1 and message.next_attempt_at == now + timedelta(seconds=5)
    assert message.last_error == "timeout" and message.claimed_until is None
    assert claim(db, 1, now + timedelta(seconds=4), 30) == []
    (second,) = claim(db, 1, now + timedelta(seconds=5), 30)
    mark_failed(db, second.lease, "429 Too Many Requests", now + timedelta(seconds=5), retry_after=33)
    message = _status(db, mid)
    assert message.attempts == 2 and message.next_attempt_at == now + timedelta(seconds=38)


def test_a_failure_midway_remembers_the_parts_already_delivered(db: Database, world: World) -> None:
    # The photo and the place reached the volunteer; the text hit flood control. The next try needs to know.
    _enqueue(db, world, "alice", 1)
    (claimed,) = claim(db, 1, later(1), 30)
    assert "parts_sent" not in claimed.payload
    mark_failed(db, claimed.lease, "429 Too Many Requests", later(1), retry_after=3, parts_sent=2)
    (again,) = claim(db, 1, later(5), 30)
    assert again.payload["parts_sent"] == 2
    assert {k: v for k, v in again.payload.items() if k != "parts_sent"} == claimed.payload


def test_dead_letter_after_max_attempts(db: Database, world: World) -> None:
    (mid,) = _enqueue(db, world, "alice", 1)
    now = later(1)
    for attempt in range(1, 9):
        (m,) = claim(db, 1, now, 30)
        assert m.attempts == attempt
        status = mark_failed(db, m.lease, f"boom {attempt}", now)
        now += timedelta(hours=2)
    assert status == OutboxStatus.DEAD
    assert _status(db, mid).status == OutboxStatus.DEAD and _status(db, mid).last_error == "boom 8"
    assert claim(db, 1, now, 30) == []


def test_permanent_failure_is_dead_at_once(db: Database, world: World) -> None:
    _enqueue(db, world, "alice", 1)
    (m,) = claim(db, 1, later(1), 30)
    assert mark_failed(db, m.lease, "400 Bad Request: chat not found", later(1), permanent=True) == "dead"


def test_a_relay_that_dies_on_the_last_try_still_dead_letters(db: Database, world: World) -> None:
    (mid,) = _enqueue(db, world, "alice", 1)
    now = later(1)
    for _ in range(3):
        assert len(claim(db, 1, now, 30, max_attempts=3)) == 1  # and the relay crashes every time
        now += timedelta(seconds=31)
    assert claim(db, 1, now, 30, max_attempts=3) == []
    assert _status(db, mid).status == OutboxStatus.DEAD


def test_blocked_recipients(db: Database, world: World) -> None:
    alice = _enqueue(db, world, "alice", 2)
    sato = _enqueue(db, world, "sato", 1)
    assert mark_blocked(db, world.id("alice"), later(1)) == 2
    assert {_status(db, m).status for m in alice} == {OutboxStatus.DEAD}
    _enqueue(db, world, "alice", 1, now=later(2))  # written while blocked: waits, not sent
    assert [m.id for m in claim(db, 10, later(3), 30)] == sato
    with db.session() as s:
        assert s.get(Person, world.id("alice")).blocked_bot is True


def test_recipients_without_a_chat_wait(db: Database, world: World) -> None:
    with db.session() as s:
        desk = world.person(s, "desk")
        desk.chat_id = None
        desk.telegram_id = None
    _enqueue(db, world, "desk", 1)
    assert claim(db, 10, later(1), 30) == []


class RelayKilled(BaseException):
    """The relay process dying (kill -9): nothing after it runs, no `except Exception` catches it."""


async def test_flaky_relay_delivers_everything_and_the_receiver_sees_each_once(
    db: Database, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram failing (5xx), the network down before Telegram, and the relay killed after Telegram took a
    message and before the outbox heard of it: the receivers see every message exactly once."""
    expected = {(_chat(world, "alice"), f"message {i}") for i in range(10)}
    expected |= {(_chat(world, "sato"), f"message {i}") for i in range(10)}
    _enqueue(db, world, "alice", 10)
    _enqueue(db, world, "sato", 10)
    telegram = FakeTelegram()
    bot = Bot("123456:TEST-TOKEN", request=telegram)
    await bot.initialize()
    clock = {"now": later(1)}
    kills = [3, 7, 11]  # the relay dies right after Telegram took these deliveries (counted from 1)
    delivered = 0
    real_mark_sent = mark_sent

    def mark_sent_or_die(*args: object, **kwargs: object) -> bool:
        nonlocal delivered
        delivered += 1
        if delivered in kills:
            raise RelayKilled
        return real_mark_sent(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("bot.telegram.jobs.mark_sent", mark_sent_or_die)
    relay: Relay | None = None
    deaths = 0
    for step in range(40):
        if step % 3 == 0:
            telegram.errors[_chat(world, "alice")] = [502]
        if step % 4 == 1:
            telegram.network_down = 1
        if relay is None:
            relay = Relay(db, journal=DeliveryJournal(tmp_path, "relay"), clock=lambda: clock["now"])
        try:
            await relay.run_once(bot)
        except RelayKilled:
            assert relay.journal is not None
            relay.journal.close()  # what the kernel does to a dead process's file and lock
            relay, deaths = None, deaths + 1
        clock["now"] += timedelta(minutes=2)
        with db.session() as s:
            if pending_count(s) == 0:
                break
    received = [(c.chat_id, c.text) for c in telegram.calls if c.method == "sendMessage"]
    assert sorted(received) == sorted(expected)  # each once: nothing lost, nothing twice
    assert deaths == 3 and telegram.refused  # the faults did happen
    with db.session() as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {OutboxStatus.SENT}


async def test_a_restarted_relay_takes_over_a_dead_ones_messages_at_once(
    db: Database, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after its first delivery: the next relay marks that one from the journal and sends the rest of
    the dead relay's batch now, not when its lease runs out; a live relay's journal is left alone."""
    _enqueue(db, world, "alice", 3)
    telegram = FakeTelegram()
    bot = Bot("123456:TEST-TOKEN", request=telegram)
    await bot.initialize()

    def die(*args: object, **kwargs: object) -> bool:
        raise RelayKilled

    live = DeliveryJournal(tmp_path, "live")  # another relay, alive: its journal is not for the taking
    live.claimed([])
    dead = Relay(db, journal=DeliveryJournal(tmp_path, "dead"), clock=lambda: later(1))
    with monkeypatch.context() as patch:
        patch.setattr("bot.telegram.jobs.mark_sent", die)
        with pytest.raises(RelayKilled):
            await dead.run_once(bot)
    assert dead.journal is not None
    dead.journal.close()
    assert telegram.texts_to(_chat(world, "alice")) == ["message 0"]

    restarted = Relay(db, journal=DeliveryJournal(tmp_path, "restarted"), clock=lambda: later(1))
    assert await restarted.run_once(bot) == {
        "sent": 2,
        "failed": 0,
        "blocked": 0,
    }  # same moment: no lease ran out
    assert telegram.texts_to(_chat(world, "alice")) == ["message 0", "message 1", "message 2"]
    with db.session() as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {OutboxStatus.SENT}
    assert not dead.journal.path.exists() and live.path.exists()


async def test_a_relay_sends_no_part_without_lease_left_and_the_next_claim_sends_the_rest(
    db: Database, world: World
) -> None:
    """A slow Telegram: after the place went out the lease is nearly over, so the text waits for the next
    claim (another relay may hold the message by then) and goes out once, without the place again."""
    with db.session() as s:
        place = {"latitude": 32.21, "longitude": 119.43, "title": "Yuntai Pavilion", "address": "Xijin Ferry"}
        enqueue(s, world.person(s, "alice"), "test", {"text": "the task", "venue": place}, now=T0)
    clock = {"now": later(1)}
    telegram = FakeTelegram()

    def slow(call: Call) -> None:
        if call.method == "sendVenue":
            clock["now"] += timedelta(seconds=100)  # of the lease's 120 s

    telegram.on_accept = slow
    bot = Bot("123456:TEST-TOKEN", request=telegram)
    await bot.initialize()
    relay = Relay(db, clock=lambda: clock["now"])
    assert await relay.run_once(bot) == {"sent": 0, "failed": 0, "blocked": 0}
    chat = _chat(world, "alice")
    assert [c.method for c in telegram.to(chat)] == ["sendVenue"]
    assert await relay.run_once(bot) == {"sent": 1, "failed": 0, "blocked": 0}
    assert [c.method for c in telegram.to(chat)] == ["sendVenue", "sendMessage"]


async def test_a_place_known_by_its_name_alone_is_delivered(db: Database, world: World) -> None:
    with db.session() as s:
        place = {"latitude": 32.21, "longitude": 119.43, "title": "Yuntai Pavilion", "address": ""}
        enqueue(s, world.person(s, "alice"), "test", {"text": "the task", "venue": place}, now=T0)
    telegram = FakeTelegram()
    bot = Bot("123456:TEST-TOKEN", request=telegram)
    await bot.initialize()
    assert (await relay_once(bot, db, clock=lambda: later(1)))["sent"] == 1
    (venue,) = telegram.to(_chat(world, "alice"), "sendVenue")
    assert venue.params["address"] == "Yuntai Pavilion"


async def test_one_broken_message_does_not_stop_the_batch(db: Database, world: World) -> None:
    """Not only Telegram's errors: a message that raises anything else backs off alone, the rest go out."""
    with db.session() as s:
        alice = world.person(s, "alice")
        place = {"text": "a place", "venue": {"title": "no coordinates"}}
        broken = enqueue(s, alice, "test", place, now=T0).id
    _enqueue(db, world, "sato", 2, now=T0 + timedelta(seconds=5))
    telegram = FakeTelegram()
    bot = Bot("123456:TEST-TOKEN", request=telegram)
    await bot.initialize()
    counts = await relay_once(bot, db, clock=lambda: later(1), max_attempts=2)
    assert counts == {"sent": 2, "failed": 1, "blocked": 0}
    assert telegram.texts_to(_chat(world, "sato")) == ["message 0", "message 1"]
    message = _status(db, broken)
    assert message.status == OutboxStatus.PENDING and message.last_error.startswith("KeyError")
    assert message.next_attempt_at == later(1) + timedelta(seconds=backoff_seconds(1))
    # OUTBOX_MAX_ATTEMPTS (here 2) is read: the second failure is the last.
    await relay_once(bot, db, clock=lambda: later(2), max_attempts=2)
    assert _status(db, broken).status == OutboxStatus.DEAD


def test_a_mark_with_a_lost_lease_changes_nothing(db: Database, world: World) -> None:
    (mid,) = _enqueue(db, world, "alice", 1)
    (first,) = claim(db, 1, later(1), 30)  # relay A …
    (second,) = claim(db, 1, later(1) + timedelta(seconds=31), 30)  # … ran out of lease; relay B has it
    assert first.lease.token != second.lease.token
    # A's late answer neither frees B's lease (a third relay would send it again) nor overwrites B's verdict.
    late = later(1) + timedelta(seconds=32)
    assert mark_failed(db, first.lease, "late timeout", late, retry_after=0) is None
    assert claim(db, 1, later(1) + timedelta(seconds=33), 30) == []
    assert release(db, first.lease) is False
    assert mark_sent(db, second.lease, later(1) + timedelta(seconds=34)) is True
    assert mark_sent(db, second.lease, later(1) + timedelta(seconds=35)) is True  # idempotent
    assert mark_sent(db, first.lease, later(1) + timedelta(seconds=36)) is False
    message = _status(db, mid)
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 2, "")
    assert message.sent_at == later(1) + timedelta(seconds=34)


def test_two_relays_never_hold_the_same_message(db: Database, world: World) -> None:
    _enqueue(db, world, "alice", 30)
    barrier = threading.Barrier(2)
    got: list[list[str]] = [[], []]

    def relay(i: int) -> None:
        barrier.wait()
        for _ in range(10):
            got[i] += [m.id for m in claim(db, 4, later(1), 60)]

    threads = [threading.Thread(target=relay, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(got[0]) & set(got[1])
    assert len(got[0]) + len(got[1]) == 30


def test_update_ids_older_than_a_week_are_forgotten(db: Database) -> None:
    with db.session() as s:
        s.add(ProcessedUpdate(source="telegram", update_id=1, at=T0 - timedelta(days=8)))
        s.add(ProcessedUpdate(source="telegram", update_id=2, at=T0 - timedelta(days=6)))

    assert prune_processed_updates(db, T0) == 1
    assert prune_processed_updates(db, T0) == 0

    with db.session() as s:
        assert list(s.scalars(select(ProcessedUpdate.update_id))) == [2]
