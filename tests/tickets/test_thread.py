"""The conversation on a ticket, in the domain: asking pauses the clock and answering resumes it with the
deadline moved by the time waited; who hears which message; what the task card shows; the metrics leave
waiting out; the canned replies file is validated."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from community.database import Database
from community.i18n import t
from community.knowledge.schema import KnowledgeError
from community.language.service import set_translator
from community.language.translate import CachedTranslator, GoogleTranslator, MemoryTranslationCache
from community.settings import PROJECT_ROOT
from community.tickets import canned, compute_metrics
from community.tickets.errors import IllegalTransition, NotAllowed
from community.tickets.escalation import escalate_overdue
from community.tickets.models import IssueCategory, Ticket, TicketState
from community.tickets.notify import load_view, task
from community.tickets.reporter_steps import cancel, reopen
from community.tickets.steps import accept, resolve
from community.tickets.story import story
from community.tickets.thread import Words, ask, prepare_words, resume_deadline, write
from community.tickets.thread_notify import parse, reads
from community.tickets.views import ticket_detail_text
from tests.language.test_translate import FakeGoogle
from tests.tickets.test_metrics import _due, _ticket
from tests.tickets.world import IN_M1, T0, World, events, file, later, messages, ticket

S = TicketState
NEAR = (IN_M1[0] + 0.00027, IN_M1[1])

QUESTION = Words("是哪一盏灯？", "zh-Hans", {"en": "Which lamp is it?", "ja": "どの街灯ですか？"})
ANSWER = Words("The one by the gate", "en", {"zh-Hans": "门边那盏"})


def _accepted(db: Database, world: World) -> Any:
    t0 = file(db, world, "alice", "streetlight", IN_M1, description="lamp out").ticket
    with db.session() as s:
        accept(s, t0.id, world.person(s, "v_m1_a"), 2, now=later(5))
    return t0


def test_asking_pauses_the_clock_and_the_answer_moves_the_deadline_by_the_time_waited(
    db: Database, world: World
) -> None:
    t0 = _accepted(db, world)
    due = ticket(db, t0.id).due_at
    assert due == later(5 + 240)
    with db.session() as s:
        ask(s, t0.id, world.person(s, "v_m1_a"), words=QUESTION, now=later(10))
    assert ticket(db, t0.id).state == S.WAITING
    # Long past the deadline, nothing escalates: the ticket waits for its reporter.
    assert escalate_overdue(db, later(10 + 600)) == []
    with db.session() as s:
        write(s, t0.id, world.person(s, "alice"), words=ANSWER, photos=["ph-1"], now=later(10 + 600))
    after = ticket(db, t0.id)
    assert after.state == S.ACCEPTED and after.due_at == due + timedelta(minutes=600)
    assert after.photo_file_ids == ["ph-1"]
    kinds = [(e.kind, e.from_state, e.to_state) for e in events(db, t0.id)][-2:]
    assert kinds == [("message", "accepted", "waiting"), ("message", "waiting", "accepted")]
    answer = events(db, t0.id)[-1].data
    assert (answer["text"], answer["language"], answer["photos"], answer["public"]) == (
        "The one by the gate",
        "en",
        ["ph-1"],
        False,
    )
    assert answer["translations"] == {"zh-Hans": "门边那盏"}


def test_a_working_hours_ticket_keeps_the_working_minutes_it_had_when_the_wait_began(
    db: Database, world: World
) -> None:
    t0 = _accepted(db, world)
    zone = ZoneInfo("Asia/Shanghai")
    friday_1630 = datetime(2026, 12, 4, 16, 30, tzinfo=zone)
    with db.session() as s:
        ticket_row = s.get(Ticket, t0.id)
        assert ticket_row is not None and ticket_row.category_code is not None
        category = s.get(IssueCategory, ticket_row.category_code)
        assert category is not None
        ticket_row.urgency, category.sla_clock = "normal", "working_hours"
        ticket_row.due_at = datetime(2026, 12, 4, 17, 0, tzinfo=zone)  # 30 working minutes left at 16:30
        monday_0900 = datetime(2026, 12, 7, 9, 0, tzinfo=zone)
        assert resume_deadline(s, ticket_row, friday_1630, monday_0900) == datetime(
            2026, 12, 7, 9, 30, tzinfo=zone
        )
        # Asked after the deadline had passed: due at once when answered, never moved back.
        assert resume_deadline(s, ticket_row, datetime(2026, 12, 4, 17, 10, tzinfo=zone), monday_0900) == (
            monday_0900
        )
        category.sla_clock = "around_the_clock"  # the same wait moves it by the whole 64½ hours
        assert resume_deadline(s, ticket_row, friday_1630, monday_0900) == ticket_row.due_at + timedelta(
            hours=64, minutes=30
        )
        s.rollback()


def test_the_reporter_reads_the_question_in_english_and_the_holder_the_answer_in_chinese_with_the_original(
    db: Database, world: World
) -> None:
    t0 = _accepted(db, world)
    with db.session() as s:
        ask(s, t0.id, world.person(s, "v_m1_a"), words=QUESTION, now=later(10))
        write(s, t0.id, world.person(s, "alice"), words=ANSWER, now=later(20))
    to_alice = [m for m in messages(db, world.id("alice")) if m.kind == "ticket.message"]
    assert len(to_alice) == 1
    assert "Which lamp is it?" in to_alice[0].payload["text"] and "是哪" not in to_alice[0].payload["text"]
    assert t("thread.note.machine", "en") in to_alice[0].payload["text"]
    assert [b["callback_data"] for b in to_alice[0].payload["buttons"][0]] == [
        f"th:add:{t0.id}",
        f"th:can:{t0.id}",
    ]
    to_holder = [m for m in messages(db, world.id("v_m1_a")) if m.kind == "ticket.message"]
    assert len(to_holder) == 1
    text = to_holder[0].payload["text"]
    assert "门边那盏" in text and f"{t('thread.label.original', 'zh-Hans')}: The one by the gate" in text
    assert t("thread.staff.answer", "zh-Hans", ref=t0.ref, category="路灯故障") in text


def test_an_untranslated_message_reads_as_the_original_with_a_note_in_the_readers_language() -> None:
    words = Words("是哪一盏灯？", "zh-Hans", {}, ["en", "ko"]).data()
    assert reads(words, "en", staff=False) == f"是哪一盏灯？\n{t('thread.note.untranslated', 'en')}"
    assert reads(words, "ko", staff=False).endswith(t("thread.note.untranslated", "ko"))
    assert reads(words, "zh-Hans", staff=True) == "是哪一盏灯？"


def test_followers_see_public_updates_but_not_the_question_to_the_reporter(
    db: Database, world: World
) -> None:
    t0 = _accepted(db, world)
    assert file(db, world, "sato", "streetlight", NEAR, now=later(6)).duplicate_of is not None
    with db.session() as s:
        ask(s, t0.id, world.person(s, "v_m1_a"), words=QUESTION, now=later(10))
        update = Words("零件在路上", "zh-Hans", {"en": "The part is on its way", "ja": "部品は配送中です"})
        write(s, t0.id, world.person(s, "v_m1_a"), words=update, now=later(11))
    to_sato = [m.payload["text"] for m in messages(db, world.id("sato")) if m.kind == "ticket.message"]
    assert len(to_sato) == 1 and "部品は配送中です" in to_sato[0] and "どの街灯" not in to_sato[0]
    assert t("thread.follower.message", "ja", ref=t0.ref, category="街灯の故障") in to_sato[0]


def test_the_reporter_cancels_a_waiting_ticket_and_the_holder_is_told(db: Database, world: World) -> None:
    t0 = _accepted(db, world)
    with db.session() as s:
        ask(s, t0.id, world.person(s, "v_m1_a"), words=QUESTION, now=later(10))
    with db.session() as s:
        cancel(s, t0.id, world.person(s, "alice"), ticket(db, t0.id).version, now=later(12))
    assert ticket(db, t0.id).state == S.CANCELLED
    told = [m for m in messages(db, world.id("v_m1_a")) if m.kind == "ticket.cancelled"]
    assert len(told) == 1 and t0.ref in told[0].payload["text"]


def test_who_may_write_and_when(db: Database, world: World) -> None:
    t0 = _accepted(db, world)
    with db.session() as s, pytest.raises(NotAllowed):
        ask(s, t0.id, world.person(s, "sato"), words=QUESTION, now=later(10))  # not theirs
    with db.session() as s, pytest.raises(NotAllowed):
        ask(s, t0.id, world.person(s, "v_m1_b"), words=QUESTION, now=later(10))  # not the holder
    with db.session() as s:
        resolve(s, t0.id, world.person(s, "v_m1_a"), 3, note="修好了", now=later(30))
    with db.session() as s, pytest.raises(IllegalTransition):
        write(s, t0.id, world.person(s, "alice"), words=ANSWER, now=later(31))  # resolved: rate or reopen
    assert [e.kind for e in events(db, t0.id)][-1] == "resolved"  # nothing half-written


def test_the_task_card_tells_the_whole_story(db: Database, world: World) -> None:
    t0 = _accepted(db, world)
    with db.session() as s:
        resolve(s, t0.id, world.person(s, "v_m1_a"), 3, note="修好了", now=later(20))
    with db.session() as s:
        reopen(s, t0.id, world.person(s, "alice"), 4, reason="still dark", now=later(30))
    with db.session() as s:
        accept(s, t0.id, world.person(s, "v_m1_a"), 5, now=later(31))
        ask(s, t0.id, world.person(s, "v_m1_a"), words=QUESTION, now=later(32))
        write(s, t0.id, world.person(s, "alice"), words=ANSWER, photos=["ph-9"], now=later(40))
        ask(s, t0.id, world.person(s, "v_m1_a"), words=QUESTION, now=later(41))
    with db.session() as s:
        holder = world.person(s, "v_m1_a")
        current = s.get(type(t0), t0.id)
        card = task(
            load_view(s, current),
            holder,
            "ticket.headline.task",
            buttons="accepted",
            story=story(s, current, holder),
        )
    text = card["text"]
    assert t("thread.card.reopened", "zh-Hans", count=1) in text
    assert "⏸" in text and t("thread.card.thread", "zh-Hans") in text
    assert "门边那盏" in text and "The one by the gate" in text and "📷×1" in text
    assert "ph-9" in card["photos"]
    # Waiting: Resolve stays, Escalate goes; the conversation's buttons are there.
    assert [parse(b["callback_data"]) is not None for b in card["buttons"][1]] == [True, True, True]


# --- the metrics leave waiting out ----------------------------------------------------------------------


@pytest.fixture
def waited_history(db: Database, world: World) -> None:
    with db.session() as s:
        # W1: accepted at 10; asked at 20, answered at 80 (60 min waiting); resolved at 100 → 40 min.
        _ticket(
            s,
            world,
            "XJWAAAAAAA",
            "G1",
            "M1",
            [
                (0, "routed", "new", "dispatched", _due(30)),
                (10, "accepted", "dispatched", "accepted", {}),
                (20, "message", "accepted", "waiting", {}),
                (80, "message", "waiting", "accepted", {}),
                (100, "resolved", "accepted", "resolved", {}),
            ],
        )
        # W2: accepted at 5; asked at 10, a second word at 15 (still waiting), answered at 50; asked again at
        # 60, answered at 70 (40 + 10 min waiting); resolved at 90 → 40 min.
        _ticket(
            s,
            world,
            "XJWBBBBBBB",
            "G1",
            "M1",
            [
                (0, "routed", "new", "dispatched", _due(30)),
                (5, "accepted", "dispatched", "accepted", {}),
                (10, "message", "accepted", "waiting", {}),
                (15, "message", "waiting", "waiting", {}),
                (50, "message", "waiting", "accepted", {}),
                (60, "message", "accepted", "waiting", {}),
                (70, "message", "waiting", "accepted", {}),
                (90, "resolved", "accepted", "resolved", {}),
            ],
        )
        # W3: accepted at 20; asked at 25 and still waiting at the end of the period: not resolved.
        _ticket(
            s,
            world,
            "XJWCCCCCCC",
            "G2",
            "M3",
            [
                (0, "routed", "new", "dispatched", _due(30)),
                (20, "accepted", "dispatched", "accepted", {}),
                (25, "message", "accepted", "waiting", {}),
            ],
        )


@pytest.mark.usefixtures("waited_history")
def test_metrics_leave_the_time_waiting_for_the_reporter_out(db: Database) -> None:
    with db.session() as s:
        m = compute_metrics(s, T0, T0 + timedelta(days=1))
    assert (m.dispatched, m.accepted, m.accepted_within_sla, m.resolved) == (3, 3, 3, 2)
    assert m.mean_minutes_to_accept == pytest.approx((10 + 5 + 20) / 3)
    assert m.mean_minutes_to_resolve == pytest.approx((40 + 40) / 2)  # 100 − 60 and 90 − 50, not 95


# --- canned replies -------------------------------------------------------------------------------------


def test_the_canned_replies_file_loads() -> None:
    replies = canned.parse(PROJECT_ROOT / "knowledge")
    lamp = next(r for r in replies if r.id == "lamp_fixed")
    assert lamp.texts["zh-Hans"].startswith("灯已修好") and set(lamp.texts) == {
        "zh-Hans",
        "zh-Hant",
        "en",
        "ja",
        "ko",
    }
    assert next(r.id for r in canned.for_category("lighting", "resolution")) == "lamp_fixed"
    assert {r.category for r in canned.for_category("noise", "progress")} == {"any"}


def _write_knowledge(folder: Path, replies: str) -> Path:
    (folder / "categories.yml").write_text("categories:\n  - id: lighting\n", encoding="utf-8")
    (folder / "canned_replies.yml").write_text(replies, encoding="utf-8")
    return folder


BAD = "knowledge/canned_replies.yml: entry "  # how every problem below starts
TEXTS = "{zh-Hans: 好, zh-Hant: 好, en: OK, ja: はい, ko: 네}"


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (
            "  - {id: a, category: lighting, kind: progress, texts: {zh-Hans: 好, zh-Hant: 好, en: OK}}",
            f"{BAD}'a': field 'texts.ja': required but missing",
        ),
        (
            f"  - {{id: a, category: lighting, kind: later, texts: {TEXTS}}}",
            f"{BAD}'a': field 'kind': Input should be 'progress'",
        ),
        (
            f"  - {{id: a, category: parking, kind: progress, texts: {TEXTS}}}",
            f"{BAD}'a': field 'category': unknown category 'parking'",
        ),
        (
            f"  - {{id: a_very_long_canned_reply_id, category: lighting, kind: progress, texts: {TEXTS}}}",
            f"{BAD}'a_very_long_canned_reply_id': field 'id': String should",
        ),
        (
            f"  - {{id: staff_1, category: any, kind: progress, texts: {TEXTS}}}",
            f"{BAD}'staff_1': field 'id': Value error, ids starting with staff_ belong to notes staff add",
        ),
        (
            f"  - {{id: a, category: any, kind: progress, texts: {TEXTS}}}\n"
            f"  - {{id: a, category: any, kind: resolution, texts: {TEXTS}}}",
            f"{BAD}'a': field 'id': duplicate id",
        ),
    ],
)
def test_a_bad_canned_replies_file_names_file_entry_and_field(
    tmp_path: Path, entries: str, problem: str
) -> None:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    _write_knowledge(folder, f"replies:\n{entries}\n")
    with pytest.raises(KnowledgeError) as error:
        canned.parse(folder)
    assert any(str(p).startswith(problem) for p in error.value.problems), str(error.value)


def test_a_canned_replies_file_that_is_not_a_list_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    _write_knowledge(folder, "replies: {a: 1}\n")
    with pytest.raises(KnowledgeError, match=r"canned_replies\.yml: field 'replies': expected a list"):
        canned.parse(folder)


def test_the_full_text_has_the_whole_conversation_as_each_reader_reads_it(db: Database, world: World) -> None:
    t0 = _accepted(db, world)
    with db.session() as s:
        ask(s, t0.id, world.person(s, "v_m1_a"), words=QUESTION, now=later(10))
        write(s, t0.id, world.person(s, "alice"), words=ANSWER, now=later(20))
    with db.session() as s:
        staff = ticket_detail_text(s, t0.ref, world.person(s, "v_m1_a"), "zh-Hans")
        reporter = ticket_detail_text(s, t0.ref, world.person(s, "alice"), "en")
    assert "是哪一盏灯？" in staff and "门边那盏" in staff and "The one by the gate" in staff
    assert (
        "Which lamp is it?" in reporter and "The one by the gate" in reporter and "门边那盏" not in reporter
    )


async def test_a_canned_note_needs_machine_translation_only_for_languages_without_curated_texts() -> None:
    google = FakeGoogle({})
    backend = GoogleTranslator(transport=google.transport())
    set_translator(CachedTranslator(backend, MemoryTranslationCache()))
    try:
        note = canned.find("on_our_way")
        assert note is not None
        words = await prepare_words("", "zh-Hans", {"en", "ko", "fr", "zh-Hans"}, canned=note)
        again = await prepare_words("", "zh-Hans", {"fr"}, canned=note)
        asked = len(google.translate_requests)
        google.status = 503
        offline = await prepare_words("", "zh-Hans", {"de"}, canned=note)
    finally:
        set_translator(None)
        await backend.aclose()
    assert words.translations["ko"] == note.texts["ko"] and words.translations["en"] == note.texts["en"]
    assert words.translations["fr"] == f"[fr] {note.texts['en']}"  # from the English text, once (cached)
    assert again.translations["fr"] == words.translations["fr"] and asked == 1
    assert offline.untranslated == ["de"]
    # A German reader gets the Chinese original with the note in English (no curated German): polite.
    assert reads(offline.data(), "de", staff=False).endswith(t("thread.note.untranslated", "en"))
