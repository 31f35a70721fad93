"""What people read: times in the community's time zone (the TIMEZONE setting), and a volunteer named to
reporters the way the community chose (VOLUNTEER_NAME_TO_REPORTERS)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from community.cli import cmd_tickets_show
from community.database import Database
from community.people.models import Person
from community.servicemap.hours import is_open
from community.settings import get_settings
from community.tickets import accept
from community.tickets.views import reporter_tickets_text, ticket_detail_text
from tests.tickets.world import IN_M1, World, file, last_message, later, ticket


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set environment variables the settings read; the cached settings are read again."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _set(setting: pytest.MonkeyPatch, name: str, value: str) -> None:
    setting.setenv(name, value)
    get_settings.cache_clear()


# --- times ---------------------------------------------------------------------------------------------


def test_mytickets_and_a_tickets_detail_show_local_time(db: Database, world: World) -> None:
    # T0 is 02:00 UTC, 10:00 in Zhenjiang.
    t = file(db, world, "alice", "streetlight", IN_M1, description="the lamp flickers").ticket
    with db.session() as s:
        alice = world.person(s, "alice")
        listed = reporter_tickets_text(s, alice, "en")
        detail = ticket_detail_text(s, t.ref, alice, "en")
    assert "05-01 10:00" in listed and "02:00" not in listed
    assert "2025-05-01 10:00" in detail and "the lamp flickers" in detail


def test_the_timezone_setting_is_used_for_cards_lists_and_opening_hours(
    db: Database, world: World, setting: pytest.MonkeyPatch
) -> None:
    _set(setting, "TIMEZONE", "Europe/London")  # UTC+1 in May
    t = file(db, world, "alice", "streetlight", IN_M1).ticket
    card = last_message(db, world.id("v_m1_a"), "ticket.task").payload["text"]
    assert "2025-05-01 03:30" in card  # the accept deadline, 30 minutes after filing, in London
    with db.session() as s:
        assert "05-01 03:00" in reporter_tickets_text(s, world.person(s, "alice"), "en")
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    nine_to_ten = [{"days": every_day, "open": "09:00", "close": "10:00"}]
    assert is_open(nine_to_ten, later(6 * 60 + 30))  # 08:30 UTC: 09:30 in London (16:30 in Zhenjiang)
    assert not is_open(nine_to_ten, later(-30))  # 01:30 UTC: 02:30 in London (09:30 in Zhenjiang)
    assert ticket(db, t.id).due_at == later(30)


# --- the volunteer's name ------------------------------------------------------------------------------

READERS = {"alice": "zh-Hans", "zhang": "zh-Hant", "sato": "ja", "kim": "ko", "cm_2": "en"}
EXPECTED = {
    "surname": {
        "zh-Hans": "周师傅 已接下您的报告",
        "zh-Hant": "周師傅 已接下您的報告",
        "en": "周 from our team has taken your report",
        "ja": "周さんがあなたの報告",
        "ko": "周 님이 신고",
    },
    "first_name": {
        "zh-Hans": "建华 已接下您的报告",
        "zh-Hant": "建华 已接下您的報告",
        "en": "建华 has taken your report",
        "ja": "建华さんがあなたの報告",
        "ko": "建华 님이 신고",
    },
}


def _accepted_by_zhou(db: Database, world: World) -> dict[str, str]:
    """Five reporters of one broken lamp, in five languages; 周建华 accepts. What each is told."""
    with db.session() as s:
        for key, language in READERS.items():
            world.person(s, key).preferred_language = language
        world.person(s, "v_m1_a").display_name = "周建华"
    first = file(db, world, "alice", "streetlight", IN_M1).ticket
    for n, key in enumerate(list(READERS)[1:], start=1):
        assert file(db, world, key, "streetlight", IN_M1, now=later(n)).duplicate_of is not None
    with db.session() as s:
        accept(s, first.id, s.get(Person, first.owner_id), first.version, now=later(10))
    return {
        language: last_message(db, world.id(key), "ticket.accepted").payload["text"]
        for key, language in READERS.items()
    }


@pytest.mark.parametrize("mode", ["surname", "first_name"])
def test_reporters_learn_the_volunteers_name_as_the_community_chose(
    db: Database, world: World, setting: pytest.MonkeyPatch, mode: str
) -> None:
    _set(setting, "VOLUNTEER_NAME_TO_REPORTERS", mode)
    told = _accepted_by_zhou(db, world)
    for language, text in told.items():
        assert EXPECTED[mode][language] in text, (language, text)
        assert "周建华" not in text


def test_the_surname_is_the_default_and_full_names_only_when_chosen(
    db: Database, world: World, setting: pytest.MonkeyPatch
) -> None:
    assert get_settings().volunteer_name_to_reporters == "surname"
    _set(setting, "VOLUNTEER_NAME_TO_REPORTERS", "full")
    told = _accepted_by_zhou(db, world)
    assert all("周建华" in text for text in told.values())


def test_a_reporter_never_sees_the_full_name_by_default(db: Database, world: World) -> None:
    told = _accepted_by_zhou(db, world)
    assert all("周建华" not in text and "周" in text for text in told.values())


def test_the_offices_ticket_show_reads_in_local_time(
    db: Database, world: World, setting: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _set(setting, "DATABASE_URL", db.url)
    t = file(db, world, "alice", "streetlight", IN_M1).ticket

    assert cmd_tickets_show(argparse.Namespace(ref=t.ref)) == 0

    shown = capsys.readouterr().out
    assert "created_at: 2025-05-01 10:00+08:00" in shown
    assert "2025-05-01 10:00:00 created" in shown and "02:00" not in shown
