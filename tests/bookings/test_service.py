"""Sessions, booking, cancelling, check-in, reminders and no-shows on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from community.bookings.checkin import check_in
from community.bookings.knowledge import read_items
from community.bookings.models import Booking, BookingStatus, ServiceSession
from community.bookings.reminders import release_no_shows, send_reminders
from community.bookings.service import NO_SHOW_GRACE, BookingError, book, cancel, materialise, upcoming
from community.knowledge.schema import KnowledgeError, load_knowledge
from community.outbox.models import OutboxMessage
from community.people.models import Person, Role
from community.settings import PROJECT_ROOT
from tests.bookings.conftest import NOW, SATURDAY_10, ZONE, Town


def _book(town: Town, person: Person, session_id: int, now=NOW):  # type: ignore[no-untyped-def]
    with town.db.session() as session:
        return book(session, session.get(Person, person.id), session_id, now)  # type: ignore[arg-type]


def _outbox(town: Town, person: Person) -> list[OutboxMessage]:
    with town.db.session() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == person.id)))


def test_sessions_are_made_once_from_the_schedule_in_community_time(town: Town) -> None:
    with town.db.session() as session:
        count = session.scalar(select(func.count(ServiceSession.id)))
        assert materialise(session, NOW, ZONE, holidays=frozenset()) == 0
        assert session.scalar(select(func.count(ServiceSession.id))) == count
        saturday_en = upcoming(session, NOW, ZONE, ["guided_walk"], weekday=5, language="en")
    local = [s.starts_at.astimezone(ZONE) for s in saturday_en]
    assert [f"{t:%a %H:%M}" for t in local[:2]] == ["Sat 10:00", "Sat 14:00"]
    assert saturday_en[0].starts_at == SATURDAY_10


def test_no_session_is_made_on_a_public_holiday(db) -> None:  # type: ignore[no-untyped-def]
    from community.knowledge.loader import load

    load(db, PROJECT_ROOT / "knowledge")
    with db.session() as session:
        materialise(session, NOW, ZONE, holidays=frozenset({date(2026, 12, 12)}))
        days = {s.starts_at.astimezone(ZONE).date() for s in session.scalars(select(ServiceSession))}
    assert date(2026, 12, 12) not in days
    assert date(2026, 12, 13) in days


def test_a_person_cannot_book_the_same_session_twice(town: Town) -> None:
    tourist = town.person(812_000_001)
    walk = town.walk()
    _book(town, tourist, walk.id)
    with pytest.raises(BookingError) as refused:
        _book(town, tourist, walk.id)
    assert refused.value.code == "already"
    assert town.reload(walk.id).taken == 1


def test_two_people_taking_the_last_place_at_once_exactly_one_gets_it(town: Town) -> None:
    walk = town.walk()
    with town.db.session() as session:
        session.execute(update(ServiceSession).where(ServiceSession.id == walk.id).values(capacity=1))
    people = [town.person(812_000_011), town.person(812_000_012)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(person: Person) -> None:
        barrier.wait()
        try:
            _book(town, person, walk.id)
            outcomes.append("booked")
        except BookingError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "full"]
    assert town.reload(walk.id).taken == 1
    with town.db.session() as session:
        assert session.scalar(select(func.count(Booking.id)).where(Booking.session_id == walk.id)) == 1


def test_cancelling_frees_the_place_and_only_the_booker_may_cancel(town: Town) -> None:
    tourist, other = town.person(812_000_021), town.person(812_000_022)
    walk = town.walk()
    made = _book(town, tourist, walk.id)
    with town.db.session() as session, pytest.raises(BookingError) as refused:
        cancel(session, session.get(Person, other.id), made.booking.id, NOW)  # type: ignore[arg-type]
    assert refused.value.code == "unknown"
    with town.db.session() as session:
        cancel(session, session.get(Person, tourist.id), made.booking.id, NOW)  # type: ignore[arg-type]
    assert town.reload(walk.id).taken == 0
    _book(town, tourist, walk.id)  # booking again after a cancellation takes the place again
    assert town.reload(walk.id).taken == 1


def test_a_full_session_refuses_and_names_itself(town: Town) -> None:
    walk = town.walk()
    with town.db.session() as session:
        session.execute(update(ServiceSession).where(ServiceSession.id == walk.id).values(taken=12))
    with pytest.raises(BookingError) as refused:
        _book(town, town.person(812_000_031), walk.id)
    assert refused.value.code == "full" and refused.value.session_id == walk.id


def test_a_bad_token_checks_nobody_in(town: Town) -> None:
    volunteer = town.person(812_000_041, role=Role.VOLUNTEER, grid="red_3")
    with town.db.session() as session, pytest.raises(BookingError) as refused:
        check_in(session, session.get(Person, volunteer.id), "not-a-token", NOW, ZONE)  # type: ignore[arg-type]
    assert refused.value.code == "bad_token"


def test_someone_who_does_not_serve_the_station_cannot_check_in_and_nothing_changes(town: Town) -> None:
    tourist = town.person(812_000_051)
    walk = town.walk()
    made = _book(town, tourist, walk.id)
    for intruder in (
        town.person(812_000_052),  # another tourist
        town.person(812_000_053, role=Role.VOLUNTEER, grid="hill_1"),  # a volunteer of another micro-grid
        tourist,  # the booker themself
    ):
        with town.db.session() as session, pytest.raises(BookingError) as refused:
            check_in(session, session.get(Person, intruder.id), made.token, NOW, ZONE)  # type: ignore[arg-type]
        assert refused.value.code == "not_station"
    with town.db.session() as session:
        assert session.get(Booking, made.booking.id).status == BookingStatus.BOOKED  # type: ignore[union-attr]
    assert _outbox(town, tourist) == []


def test_the_station_volunteer_checks_in_once_and_the_booker_is_told_in_their_language(town: Town) -> None:
    tourist = town.person(812_000_061, language="ja")
    volunteer = town.person(812_000_062, role=Role.VOLUNTEER, grid="red_3")
    walk = town.walk()
    made = _book(town, tourist, walk.id)
    with town.db.session() as session:
        booking = check_in(session, session.get(Person, volunteer.id), made.token, NOW, ZONE)  # type: ignore[arg-type]
        assert booking.status == BookingStatus.CHECKED_IN and booking.checked_in_by_id == volunteer.id
    [notice] = _outbox(town, tourist)
    assert "チェックインしました" in notice.payload["text"]
    with town.db.session() as session, pytest.raises(BookingError) as again:
        check_in(session, session.get(Person, volunteer.id), made.token, NOW, ZONE)  # type: ignore[arg-type]
    assert again.value.code == "bad_token"


def test_the_reminder_is_sent_once_at_18_the_day_before_in_the_bookers_language(town: Town) -> None:
    tourist = town.person(812_000_071, language="ko")
    walk = town.walk()
    _book(town, tourist, walk.id)
    friday_17 = SATURDAY_10 - timedelta(hours=17)  # Friday 17:00 local
    friday_18 = SATURDAY_10 - timedelta(hours=16)
    with town.db.session() as session:
        assert send_reminders(session, friday_17, ZONE) == 0
    with town.db.session() as session:
        assert send_reminders(session, friday_18, ZONE) == 1
    with town.db.session() as session:
        assert send_reminders(session, friday_18 + timedelta(minutes=10), ZONE) == 0
    [reminder] = _outbox(town, tourist)
    assert reminder.kind == "booking_reminder" and "알림" in reminder.payload["text"]


def test_no_shows_free_their_places_for_walk_ins_until_the_session_ends(town: Town) -> None:
    walk = town.walk()
    with town.db.session() as session:
        session.execute(update(ServiceSession).where(ServiceSession.id == walk.id).values(capacity=1))
    late = town.person(812_000_081)
    made = _book(town, late, walk.id)
    with pytest.raises(BookingError):
        _book(town, town.person(812_000_082), walk.id)
    after_grace = SATURDAY_10 + NO_SHOW_GRACE
    with town.db.session() as session:
        assert release_no_shows(session, after_grace) == 1
    with town.db.session() as session:
        assert release_no_shows(session, after_grace) == 0
        assert session.get(Booking, made.booking.id).status == BookingStatus.NO_SHOW  # type: ignore[union-attr]
    assert town.reload(walk.id).taken == 0
    walk_in = town.person(812_000_083)
    _book(town, walk_in, walk.id, now=after_grace)
    assert town.reload(walk.id).taken == 1


def test_a_bad_item_is_rejected_naming_file_entry_and_field(tmp_path: Path) -> None:
    directory = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", directory)
    path = directory / "service_items.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("station: sp_station_river_1", "station: sp_nowhere"),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as rejected:
        read_items(load_knowledge(directory))
    assert "knowledge/service_items.yml: entry 'haircut_chaoan': field 'station'" in str(rejected.value)
