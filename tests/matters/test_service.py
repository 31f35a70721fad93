"""有事好商量 service on SQLite and PostgreSQL: the whole way, residents only, one support per person (also
when the same person presses twice at once), only the desk files and calls meetings, bad input refused."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from community.database import Database
from community.i18n import CURATED_LANGUAGES, t
from community.matters import service
from community.matters.models import MatterEvent, MatterState, MatterSupport
from community.matters.service import MatterError
from tests.matters.support import (
    AREA,
    GRID,
    NOW,
    OTHER_GRID,
    STANDARD,
    file_one,
    load_world,
    matter,
    meeting_time,
    outbox_to,
    person,
    raise_one,
    words,
)


@pytest.fixture
def world(db: Database) -> Database:
    load_world(db)
    return db


def test_a_matter_is_raised_filed_supported_met_on_and_decided_and_everyone_concerned_is_told(
    world: Database,
) -> None:
    db = world
    desk = person(db, 813_000_001, desk=True)
    raiser = person(db, 813_000_002, grid=GRID)
    supporters = [
        person(db, 813_000_010 + i, lang, grid=GRID) for i, lang in enumerate(("zh-Hans", "en", "ja"))
    ]
    matter_id = raise_one(db, raiser)
    assert any("🗣" in text for text in outbox_to(db, desk))
    file_one(db, matter_id, desk)
    assert matter(db, matter_id).state == MatterState.FILED
    assert matter(db, matter_id).threshold == 3
    # The announcement with its Support button reached the other residents, not the raiser.
    assert any(text.startswith("🗣 A matter for the neighbourhood") for text in outbox_to(db, supporters[1]))
    assert any(text.startswith("🗣 みんなで話し合う議題") for text in outbox_to(db, supporters[2]))
    assert not any(text.startswith("🗣 有事好商量") for text in outbox_to(db, raiser))
    results = []
    for supporter in supporters:
        with db.session() as session:
            results.append(service.support(session, matter_id, supporter, NOW))
    assert [r.count for r in results] == [1, 2, 3]
    assert [r.reached for r in results] == [False, False, True]
    assert any("✅" in text for text in outbox_to(db, desk))
    with db.session() as session:
        service.call_meeting(session, matter_id, desk, meeting_time(), "社区议事厅", NOW)
    with db.session() as session:
        assert service.sign_up(session, matter_id, supporters[0], NOW) is True
    with db.session() as session:
        assert service.sign_up(session, matter_id, supporters[0], NOW) is False
    with db.session() as session:
        service.record_outcome(
            session, matter_id, desk, words("垃圾投放点移到巷口，下周一起执行。", en="Moved."), NOW
        )
    assert matter(db, matter_id).state == MatterState.DECIDED
    assert any("Moved." in text for text in outbox_to(db, supporters[1]))
    for someone in (raiser, *supporters):
        assert any("📌" in text for text in outbox_to(db, someone))
    with db.session() as session:
        kinds = [e.kind for e in session.scalars(select(MatterEvent).order_by(MatterEvent.id))]
    assert kinds == [
        "raised",
        "filed",
        "supported",
        "supported",
        "supported",
        "threshold_reached",
        "meeting_called",
        "signed_up",
        "decided",
    ]


def test_support_from_a_resident_of_another_micro_grid_is_refused_politely(world: Database) -> None:
    db = world
    desk = person(db, 813_000_021, desk=True)
    matter_id = raise_one(db, person(db, 813_000_022, grid=GRID))
    file_one(db, matter_id, desk)
    elsewhere = person(db, 813_000_023, "ko", grid=OTHER_GRID)
    nowhere = person(db, 813_000_024, "en")
    for outsider in (elsewhere, nowhere):
        with pytest.raises(MatterError) as refused, db.session() as session:
            service.support(session, matter_id, outsider, NOW)
        assert refused.value.key == "matters.support.not_resident"
        for language in CURATED_LANGUAGES:
            assert "/subscribe" in t(refused.value.key, language, **refused.value.params)
    assert matter(db, matter_id).supporters == 0


def test_a_shared_location_inside_the_micro_grid_makes_a_resident(world: Database) -> None:
    from community.conversations import service as conversations
    from community.grids.models import Grid

    db = world
    desk = person(db, 813_000_031, desk=True)
    matter_id = raise_one(db, person(db, 813_000_032, grid=GRID))
    file_one(db, matter_id, desk)
    walker = person(db, 813_000_033, "en")
    with db.session() as session:
        grid = session.get(Grid, GRID)
        assert grid is not None
        # Polygons are [lon, lat] pairs; the state keeps [lat, lon] as Telegram gives it.
        lons = [p[0] for p in grid.polygon]
        lats = [p[1] for p in grid.polygon]
        inside = [sum(lats) / len(lats), sum(lons) / len(lons)]
        assert service.locate_code(session, inside[0], inside[1]) == GRID
        conversations.put(session, "location", "telegram:813000033", inside, NOW)
    with db.session() as session:
        assert service.support(session, matter_id, walker, NOW).counted


def test_supporting_twice_counts_once(world: Database) -> None:
    db = world
    desk = person(db, 813_000_041, desk=True)
    matter_id = raise_one(db, person(db, 813_000_042, grid=GRID))
    resident = person(db, 813_000_043, grid=GRID)
    with pytest.raises(MatterError) as refused, db.session() as session:
        service.support(session, matter_id, resident, NOW)  # not filed yet
    assert refused.value.key == "matters.support.not_filed"
    file_one(db, matter_id, desk)
    with db.session() as session:
        first = service.support(session, matter_id, resident, NOW)
    with db.session() as session:
        second = service.support(session, matter_id, resident, NOW)
    assert (first.counted, first.count) == (True, 1)
    assert (second.counted, second.count) == (False, 1)
    assert matter(db, matter_id).supporters == 1


def _race(n: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_two_supports_at_once_from_the_same_person_count_once(world: Database) -> None:
    db = world
    desk = person(db, 813_000_051, desk=True)
    matter_id = raise_one(db, person(db, 813_000_052, grid=GRID))
    file_one(db, matter_id, desk)
    resident = person(db, 813_000_053, grid=GRID)

    def press(_: int) -> service.SupportResult:
        with db.session() as session:
            return service.support(session, matter_id, resident, NOW)

    results = _race(4, press)
    assert all(isinstance(r, service.SupportResult) for r in results), results
    assert sorted(r.counted for r in results) == [False, False, False, True]
    with db.session() as session:
        rows = session.scalar(
            select(func.count()).select_from(MatterSupport).where(MatterSupport.matter_id == matter_id)
        )
    assert rows == 1
    assert matter(db, matter_id).supporters == 1


def test_three_residents_at_once_reach_the_threshold_exactly_once(world: Database) -> None:
    db = world
    desk = person(db, 813_000_061, desk=True)
    matter_id = raise_one(db, person(db, 813_000_062, grid=GRID))
    file_one(db, matter_id, desk)
    residents = [person(db, 813_000_063 + i, grid=GRID) for i in range(3)]

    def press(i: int) -> service.SupportResult:
        with db.session() as session:
            return service.support(session, matter_id, residents[i], NOW)

    results = _race(3, press)
    assert sorted(r.count for r in results) == [1, 2, 3]
    assert [r.reached for r in results].count(True) == 1
    with db.session() as session:
        reached = session.scalar(
            select(func.count()).select_from(MatterEvent).where(MatterEvent.kind == "threshold_reached")
        )
    assert reached == 1


def test_a_person_without_the_desk_role_cannot_file_call_meetings_record_or_close(world: Database) -> None:
    db = world
    desk = person(db, 813_000_071, desk=True)
    resident = person(db, 813_000_072, grid=GRID)
    matter_id = raise_one(db, resident)
    with pytest.raises(MatterError) as refused, db.session() as session:
        service.file_matter(session, matter_id, resident, AREA, STANDARD, NOW)
    assert refused.value.key == "matters.not_desk"
    file_one(db, matter_id, desk)
    attempts = [
        lambda s: service.call_meeting(s, matter_id, resident, meeting_time(), "议事厅", NOW),
        lambda s: service.record_outcome(s, matter_id, resident, words("我说了算的结果"), NOW),
        lambda s: service.close_matter(s, matter_id, resident, words("不用商量了吧"), NOW),
    ]
    for attempt in attempts:
        with pytest.raises(MatterError) as refused, db.session() as session:
            attempt(session)
        assert refused.value.key == "matters.not_desk"
    assert matter(db, matter_id).state == MatterState.FILED


def test_bad_input_is_refused_with_a_catalogue_text_and_nothing_is_written(world: Database) -> None:
    db = world
    desk = person(db, 813_000_081, desk=True)
    resident = person(db, 813_000_082, grid=GRID)
    with db.session() as session:
        raiser = session.get(service.Person, resident)
        assert raiser is not None
        cases = [
            (lambda: service.raise_matter(session, raiser, words("脏"), GRID, NOW), "matters.text.too_short"),
            (
                lambda: service.raise_matter(session, raiser, words("好" * 1001), GRID, NOW),
                "matters.text.too_long",
            ),
            (
                lambda: service.raise_matter(session, raiser, words("路灯太暗了"), "xijin_red", NOW),
                "matters.grid.unknown",
            ),
        ]
        for call, key in cases:
            with pytest.raises(MatterError) as refused:
                call()
            assert refused.value.key == key
            t(key, "ko", **refused.value.params)  # every refusal has its text
    matter_id = raise_one(db, resident)
    for area, standard in ((AREA, "no_such"), ("safety", STANDARD)):
        with pytest.raises(MatterError) as refused, db.session() as session:
            service.file_matter(session, matter_id, desk, area, standard, NOW)
        assert refused.value.key == "matters.standard.unknown"
    assert matter(db, matter_id).state == MatterState.RAISED
    file_one(db, matter_id, desk)
    with pytest.raises(MatterError) as refused:
        service.parse_meeting("next Tuesday at the hall", service.community_zone())
    assert refused.value.key == "matters.meeting.format"
    at, place = service.parse_meeting("2026-12-12 19:30 社区议事厅", service.community_zone())
    assert (at.hour, at.minute, place) == (11, 30, "社区议事厅")  # 19:30 in Xijindu is 11:30 UTC
    with pytest.raises(MatterError) as refused, db.session() as session:
        service.call_meeting(session, matter_id, desk, NOW.replace(year=2025), "议事厅", NOW)
    assert refused.value.key == "matters.meeting.when"
    with pytest.raises(MatterError) as refused, db.session() as session:
        service.record_outcome(session, matter_id, desk, words("结果"), NOW)
    assert refused.value.key == "matters.state.no_meeting"
    assert matter(db, matter_id).state == MatterState.FILED


def test_the_desk_closes_a_matter_without_a_meeting_and_its_supporters_hear_the_reason(
    world: Database,
) -> None:
    db = world
    desk = person(db, 813_000_091, desk=True)
    raiser = person(db, 813_000_092, grid=GRID)
    matter_id = raise_one(db, raiser)
    file_one(db, matter_id, desk)
    supporter = person(db, 813_000_093, "ko", grid=GRID)
    with db.session() as session:
        service.support(session, matter_id, supporter, NOW)
    reason = "物业已答应本周把垃圾桶挪走，无需开会。"
    with db.session() as session:
        service.close_matter(
            session, matter_id, desk, words(reason, ko="관리사무소가 이번 주에 옮깁니다."), NOW
        )
    assert matter(db, matter_id).state == MatterState.CLOSED
    assert any(reason in text for text in outbox_to(db, raiser))
    assert any(
        "관리사무소가 이번 주에 옮깁니다." in text and "협의회 없이" in text
        for text in outbox_to(db, supporter)
    )
    with pytest.raises(MatterError) as refused, db.session() as session:
        service.support(session, matter_id, supporter, NOW)
    assert refused.value.key == "matters.support.closed"
    with pytest.raises(MatterError) as refused, db.session() as session:
        service.close_matter(session, matter_id, desk, words("再关一次可以吗"), NOW)
    assert refused.value.key == "matters.state.finished"
