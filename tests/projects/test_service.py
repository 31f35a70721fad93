"""The project steps on SQLite and PostgreSQL: bad input and wrong roles refused with a catalogue text, hands
never claimed twice (two partners pressing Claim on the last hands at once), a refusal gives hands back, and
the weekly summary goes out once per week."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from community.database import Database, utcnow
from community.outbox.models import OutboxMessage
from community.people.models import Person
from community.projects import parsing, service, summary
from community.projects.errors import ProjectError
from community.projects.models import ClaimState, Project, ProjectClaim, ProjectEvent, ProjectState
from tests.projects.conftest import roster_person

# Contacts seeded by knowledge/partners.yml; both partners offer cleaning.
MERCHANT_CONTACT = "vol_red_6"  # pot_lid_noodles: venue, cleaning
SOCIAL_CONTACT = "vol_river_4"  # my0511_love_home: care, cleaning
TAX_CONTACT = "vol_red_1"  # runzhou_tax: tax, policy_support
RESIDENT = 811_200_001


def _resident(db: Database) -> Person:
    with db.session() as session:
        person = Person(external_key=f"telegram:{RESIDENT}", telegram_id=RESIDENT, preferred_language="ko")
        session.add(person)
        session.flush()
        return person


def _published(db: Database, hands: int = 2, skills: list[str] | None = None) -> int:
    desk = roster_person(db, "desk_1")
    with db.session() as session:
        draft = {"what": "清理小码头街后巷的杂物", "grid": "xijin_red", "micro_grid": "red_3", "hands": hands}
        draft["skills"] = ["cleaning"] if skills is None else skills
        made = service.new_own(session, session.get(Person, desk.id), draft, "zh-Hans", utcnow())
        service.publish(session, session.get(Person, desk.id), made.id, {}, utcnow())
        return made.id


def _claim(db: Database, roster_id: str, project_id: int, hands: int | None) -> ProjectClaim:
    person = roster_person(db, roster_id)
    with db.session() as session:
        return service.claim(session, session.get(Person, person.id), project_id, hands, utcnow())


@pytest.mark.parametrize(
    ("parse", "text", "key"),
    [
        (parsing.parse_hands, "0", "projects.error.bad_hands"),
        (parsing.parse_hands, "51", "projects.error.bad_hands"),
        (parsing.parse_hands, "two", "projects.error.bad_hands"),
        (parsing.parse_when, "明天下午", "projects.error.bad_when"),
        (parsing.parse_when, "2026-12-12 11:00-09:00", "projects.error.bad_when"),
        (parsing.parse_when, "2026-13-40", "projects.error.bad_when"),
        (parsing.parse_skills, "cleaning, juggling", "projects.error.bad_skills"),
    ],
)
def test_bad_answers_to_the_steps_are_refused_with_a_catalogue_text(
    parse: object, text: str, key: str
) -> None:
    with pytest.raises(ProjectError) as refused:
        parse(text)  # type: ignore[operator]
    assert refused.value.key == key and refused.value.localized("ko")


def test_places_times_and_offers_are_read_from_codes_names_and_dashes(loaded: Database) -> None:
    with loaded.session() as session:
        assert parsing.parse_place(session, "red_2") == ("xijin_red", "red_2")
        assert parsing.parse_place(session, "xijin_hill") == ("xijin_hill", None)
        assert parsing.parse_place(session, "-") == (None, None)
        with pytest.raises(ProjectError):
            parsing.parse_place(session, "moon_1")
    start, end = parsing.parse_when("2026-12-12 09:00-11:30")
    assert start is not None and end is not None and (end - start) == timedelta(hours=2, minutes=30)
    assert start.astimezone(UTC) == datetime(2026, 12, 12, 1, 0, tzinfo=UTC)  # Asia/Shanghai
    assert parsing.parse_when("-") == (None, None)
    assert parsing.parse_skills("Cleaning，care cleaning") == ["cleaning", "care"]


def test_only_the_desk_or_committee_makes_and_publishes_projects(loaded: Database) -> None:
    resident = _resident(loaded)
    volunteer = roster_person(loaded, MERCHANT_CONTACT)
    committee = roster_person(loaded, "cm_1")
    with loaded.session() as session:
        for who in (resident, volunteer):
            with pytest.raises(ProjectError) as refused:
                service.new_own(session, session.get(Person, who.id), {"what": "x"}, "zh-Hans", utcnow())
            assert refused.value.key == "projects.error.desk_only"
        made = service.new_own(
            session, session.get(Person, committee.id), {"what": "搬桌椅"}, "zh-Hans", utcnow()
        )
        with pytest.raises(ProjectError) as refused:
            service.publish(session, session.get(Person, resident.id), made.id, {}, utcnow())
        assert refused.value.key == "projects.error.desk_only"
    with loaded.session() as session:
        with pytest.raises(ProjectError) as refused:
            service.new_from_ticket(session, session.get(Person, committee.id), "T-NOPE", 1, [], utcnow())
        assert refused.value.key == "projects.error.no_ticket"


def test_claims_are_for_partner_contacts_whose_offers_match_and_never_beyond_the_hands(
    loaded: Database,
) -> None:
    project_id = _published(loaded, hands=3)
    resident = _resident(loaded)
    with loaded.session() as session, pytest.raises(ProjectError) as refused:
        service.claim(session, session.get(Person, resident.id), project_id, 1, utcnow())
    assert refused.value.key == "projects.error.not_partner"
    with pytest.raises(ProjectError) as refused:
        _claim(loaded, TAX_CONTACT, project_id, 1)
    assert refused.value.key == "projects.error.no_match"
    with pytest.raises(ProjectError) as refused:
        _claim(loaded, MERCHANT_CONTACT, project_id, 4)
    assert refused.value.key == "projects.error.too_many" and refused.value.params == {"left": 3}
    assert _claim(loaded, MERCHANT_CONTACT, project_id, 2).hands == 2
    assert _claim(loaded, SOCIAL_CONTACT, project_id, None).hands == 1  # all that is left
    with pytest.raises(ProjectError) as refused:
        _claim(loaded, SOCIAL_CONTACT, project_id, 1)
    assert refused.value.key in ("projects.error.none_left", "projects.error.too_many")
    with loaded.session() as session:
        project = session.get(Project, project_id)
        assert project is not None and project.hands_claimed == 3 and project.state == ProjectState.CLAIMED
        # The desk hears of each claim with Confirm / Refuse.
        to_desk = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "project.claim")).all()
        assert len(to_desk) == 2 and all("pj:ok:" in str(m.payload["buttons"]) for m in to_desk)


def test_two_partners_claiming_the_last_hands_at_once_only_one_gets_them(loaded: Database) -> None:
    project_id = _published(loaded, hands=2)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def attempt(roster_id: str) -> None:
        barrier.wait()
        try:
            results[roster_id] = _claim(loaded, roster_id, project_id, 2).id
        except ProjectError as exc:
            results[roster_id] = exc.key

    threads = [threading.Thread(target=attempt, args=(r,)) for r in (MERCHANT_CONTACT, SOCIAL_CONTACT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [r for r, v in results.items() if isinstance(v, int)]
    lost = [v for v in results.values() if not isinstance(v, int)]
    assert len(won) == 1 and lost == ["projects.error.none_left"]
    with loaded.session() as session:
        project = session.get(Project, project_id)
        assert project is not None and project.hands_claimed == 2
        assert session.scalar(select(func.count()).select_from(ProjectClaim)) == 1


def test_a_refused_claim_gives_its_hands_back_and_a_decided_claim_cannot_be_decided_again(
    loaded: Database,
) -> None:
    project_id = _published(loaded, hands=2)
    claim_id = _claim(loaded, MERCHANT_CONTACT, project_id, 2).id
    desk = roster_person(loaded, "desk_1")
    contact = roster_person(loaded, MERCHANT_CONTACT)
    with loaded.session() as session:
        with pytest.raises(ProjectError) as refused:
            service.decide(session, session.get(Person, contact.id), claim_id, True, utcnow())
        assert refused.value.key == "projects.error.desk_only"
        service.decide(session, session.get(Person, desk.id), claim_id, False, utcnow())
    with loaded.session() as session:
        with pytest.raises(ProjectError) as refused:
            service.decide(session, session.get(Person, desk.id), claim_id, True, utcnow())
        assert refused.value.key == "projects.error.claim_decided"
        project = session.get(Project, project_id)
        assert project is not None and project.hands_claimed == 0 and project.state == ProjectState.PUBLISHED
        claim = session.get(ProjectClaim, claim_id)
        assert claim is not None and claim.state == ClaimState.REFUSED
        # A claimant whose claim was refused cannot report on the project.
        with pytest.raises(ProjectError) as refused:
            service.report(session, session.get(Person, contact.id), project_id, True, {}, utcnow())
        assert refused.value.key == "projects.error.not_claimant"
        kinds = session.scalars(
            select(ProjectEvent.kind).where(ProjectEvent.project_id == project_id).order_by(ProjectEvent.id)
        ).all()
        assert kinds == ["created", "published", "claimed", "refused"]


def test_the_weekly_summary_is_due_from_monday_nine_and_goes_out_once_a_week(loaded: Database) -> None:
    _published(loaded, hands=2)
    monday_early = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # Monday 08:30
    monday_later = datetime(2026, 12, 7, 1, 5, tzinfo=UTC)  # Monday 09:05
    with loaded.session() as session:
        assert summary.send_if_due(session, monday_early) is None
        sent = summary.send_if_due(session, monday_later)
        assert sent == 3  # the three committee members of the roster
    with loaded.session() as session:
        assert summary.send_if_due(session, monday_later + timedelta(hours=5)) is None
        texts = session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "project.summary")
        ).all()
        assert len(texts) == 3
        assert "2026-W50" in texts[0]["text"] and "清理小码头街后巷的杂物" in texts[0]["text"]
    with loaded.session() as session:
        assert summary.send_if_due(session, monday_later + timedelta(days=7)) == 3


def test_two_processes_sending_the_weekly_summary_at_once_send_it_once(loaded: Database) -> None:
    monday = datetime(2026, 12, 7, 1, 5, tzinfo=UTC)
    barrier = threading.Barrier(2)
    results: list[int | None] = []

    def send() -> None:
        barrier.wait()
        results.append(summary.send_weekly(loaded, monday))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=lambda r: r is None) == [3, None]
    with loaded.session() as session:
        sent = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "project.summary")
        )
        assert sent == 3


def test_xijin_projects_summary_prints_the_committees_summary(
    loaded: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from community import cli

    _published(loaded, hands=2)
    monkeypatch.setattr(cli, "get_database", lambda: loaded)
    assert cli.main(["projects", "summary", "--language", "en"]) == 0
    printed = capsys.readouterr().out
    assert "Community projects, weekly summary" in printed and "Open for claims: 1" in printed
    assert "清理小码头街后巷的杂物 (0/2 hands, Open for claims)" in printed


def test_cancelling_a_claimed_project_tells_its_claimants_and_its_claims_cannot_be_confirmed_after(
    loaded: Database,
) -> None:
    project_id = _published(loaded, hands=2)
    claim_id = _claim(loaded, MERCHANT_CONTACT, project_id, 1).id
    desk = roster_person(loaded, "desk_1")
    contact = roster_person(loaded, MERCHANT_CONTACT)
    with loaded.session() as session:
        service.cancel(session, session.get(Person, desk.id), project_id, utcnow())
    with loaded.session() as session:
        told = session.scalars(
            select(OutboxMessage.recipient_id).where(OutboxMessage.kind == "project.cancelled")
        ).all()
        assert contact.id in told
        with pytest.raises(ProjectError) as refused:
            service.decide(session, session.get(Person, desk.id), claim_id, True, utcnow())
        assert refused.value.key == "projects.error.not_open"
