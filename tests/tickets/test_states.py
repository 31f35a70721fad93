"""The state machine table, the button protocol, refs and the message catalogue (no database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from community.i18n import CURATED_LANGUAGES, catalogue, t
from community.tickets.errors import AlreadyTaken, IllegalTransition, InvalidInput, NotAllowed, StaleVersion
from community.tickets.filing import REF_ALPHABET, new_ref
from community.tickets.models import TicketState
from community.tickets.names import split_name
from community.tickets.notify import (
    Callback,
    esc,
    parse_callback,
    rating_callback,
    staff_callback,
)
from community.tickets.states import EVENT_KIND, OPEN, TERMINAL, TRANSITIONS, Step, can, next_state

S = TicketState


def test_the_happy_path() -> None:
    state: str = S.NEW
    for step in (Step.ROUTE, Step.ACCEPT, Step.RESOLVE, Step.RATE):
        state = next_state(step, state, "XJTEST0001")
    assert state == S.CLOSED


def test_terminal_states_have_no_way_out() -> None:
    for state in TERMINAL:
        assert [step for step in Step if can(step, state)] == []


@pytest.mark.parametrize(
    ("step", "state"),
    [
        (Step.ACCEPT, S.NEW),
        (Step.ACCEPT, S.ACCEPTED),
        (Step.RESOLVE, S.DISPATCHED),
        (Step.RATE, S.ACCEPTED),
        (Step.REOPEN, S.CLOSED),
        (Step.CANCEL, S.RESOLVED),
        (Step.DECLINE, S.ACCEPTED),
        (Step.ESCALATE, S.RESOLVED),
        (Step.ROUTE, S.DISPATCHED),
    ],
)
def test_illegal_steps_raise_naming_ref_state_and_step(step: Step, state: str) -> None:
    with pytest.raises(IllegalTransition) as err:
        next_state(step, state, "XJTEST0001")
    assert (err.value.ref, err.value.state, err.value.step) == ("XJTEST0001", state, step.value)
    assert "XJTEST0001" in str(err.value) and state in str(err.value) and step.value in str(err.value)


def test_level_changes_keep_the_state() -> None:
    for step in (Step.ESCALATE, Step.DECLINE, Step.REMIND):
        for state, target in TRANSITIONS[step].items():
            assert state == target


def test_every_step_has_an_event_kind_and_open_states_can_be_cancelled() -> None:
    assert set(EVENT_KIND) == set(Step)
    assert all(can(Step.CANCEL, s) for s in OPEN)


def test_callbacks_round_trip_and_fit_telegram() -> None:
    data = staff_callback("acc", 123456789012, 999999999)
    assert data == "tk:acc:123456789012:999999999" and len(data.encode()) <= 64
    assert parse_callback(data) == Callback("staff", 123456789012, action="acc", version=999999999)
    assert parse_callback(rating_callback(7, 4)) == Callback("rating", 7, score=4)
    assert parse_callback(rating_callback(7, None)) == Callback("rating", 7, not_fixed=True)
    for bad in ("tk:acc:1", "tk:del:1:2", "rt:1:6", "rt:1:0", "tk:acc:1:2:3", "tk:acc:-1:2", "hello"):
        assert parse_callback(bad) is None


def test_refs_are_random_and_unambiguous() -> None:
    refs = {new_ref() for _ in range(2000)}
    assert len(refs) == 2000
    assert all(re.fullmatch(rf"XJ[{REF_ALPHABET}]{{8}}", r) for r in refs)
    assert not set("01OIL") & set(REF_ALPHABET)


def test_names_split_into_surname_and_given_name_and_escaping() -> None:
    assert split_name("Emily Zhou", "en") == ("Zhou", "Emily") and split_name("  ") == ("", "")
    assert split_name("Wang Fang", "zh-Hans") == ("Wang", "Fang")
    assert split_name("张伟") == ("张", "伟") and split_name("欧阳修远") == ("欧阳", "修远")
    assert split_name("김민지") == ("김", "민지") and split_name("佐藤 由美") == ("佐藤", "由美")
    assert split_name("佐藤由美", "ja") == ("佐藤", "由美")
    assert esc("<script>&") == "&lt;script&gt;&amp;"


def test_errors_speak_every_curated_language() -> None:
    errors = [
        IllegalTransition("XJ1", "resolved", "accept"),
        AlreadyTaken("XJ1", "accepted", 3, "Li Na"),
        StaleVersion("XJ1", 2, 3, "accepted"),
        NotAllowed("XJ1", "accept", 9),
        InvalidInput("XJ1", "note", "missing"),
        InvalidInput("XJ1", "reason", "missing"),
        InvalidInput("XJ1", "score", "missing"),
    ]
    for language in CURATED_LANGUAGES:
        for error in errors:
            text = error.localized(language)
            assert text and "{" not in text
    assert "Li Na" in AlreadyTaken("XJ1", "accepted", 3, "Li Na").localized("ja")


def test_the_catalogue_has_every_key_the_code_uses() -> None:
    messages = catalogue()
    source = "\n".join(p.read_text() for p in Path("community/tickets").glob("*.py"))
    used = set(re.findall(r'"(ticket\.(?:[a-z_]+\.)+[a-z_0-9]+)"', source))
    kinds = {k for k in used if k.count(".") == 1}  # outbox kinds such as "ticket.task"
    missing = sorted(k for k in used - kinds if k not in messages)
    assert missing == []
    for state in TicketState:
        assert f"ticket.state.{state}" in messages
    for step in Step:
        assert f"ticket.step.{step}" in messages
    for level in ("0", "1", "2", "desk"):
        assert f"ticket.level.{level}" in messages
    ours = {k: v for k, v in messages.items() if k.startswith("ticket.")}
    for key, texts in ours.items():
        assert set(texts) >= set(CURATED_LANGUAGES), key
        fields = {lang: set(re.findall(r"{(\w+)}", text)) for lang, text in texts.items()}
        assert len({frozenset(f) for f in fields.values()}) == 1, f"{key}: placeholders differ: {fields}"
    assert t("ticket.button.accept", "fr") == "Accept"  # uncurated languages fall back to English
