"""The report form takes what was said (actions/report_memory.py): a description in the first message is
confirmed instead of asked; the phone is asked once, remembered only with consent, offered next time."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.report import ActionAskContact, ActionAskDescription, ValidateReportForm
from actions.report_memory import OTHER_NUMBER, UNCONFIRMED, USE_SAVED
from community.database import Database
from community.i18n import t
from community.outreach.contact import forget_phone
from community.people.models import Person
from community.people.service import get_or_create_person
from tests.actions.support import events_as_slots, make_tracker, texts

FORM = "report_form"
TOURIST = 808_000_001
KEY = f"telegram:{TOURIST}"


def tracker_for(text: str = "", *, requested_slot: str | None, **kwargs: Any) -> Tracker:
    kwargs.setdefault("user_key", KEY)
    kwargs.setdefault("telegram_id", TOURIST)
    kwargs.setdefault("chat_id", TOURIST)
    return make_tracker(text, requested_slot=requested_slot, active_loop=FORM, **kwargs)


async def validate(tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
    return events_as_slots(await ValidateReportForm().run(CollectingDispatcher(), tracker, domain))


def person(db: Database) -> Person | None:
    with db.session() as session:
        return session.query(Person).filter_by(external_key=KEY).one_or_none()


# --- the description ----------------------------------------------------------------------------------------


WEST_ENTRANCE = (32.2101, 119.4248)  # inside micro-grid red_1


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("路灯坏了，晚上很黑", "zh-Hans"),
        ("The street lamp near the pagoda is broken, it is dark", "en"),
        ("昭关塔旁边有一摊水", "zh-Hans"),  # a place, no category keyword
    ],
)
async def test_the_first_message_fills_the_description_and_is_confirmed(
    kb: Database, domain: dict[str, Any], text: str, language: str
) -> None:
    # Said with a shared location: what and where are known, so the confirmation comes at once.
    first = tracker_for(
        text,
        intent="report_issue",
        requested_slot=None,
        language=language,
        slots={"issue_category": "lighting"},
        location=WEST_ENTRANCE,
        location_fresh=True,
    )
    slots = await validate(first, domain)

    assert slots["description"] == UNCONFIRMED + text  # kept, marked as not yet confirmed
    assert slots["requested_slot"] == "description"  # confirmed next, not asked

    dispatcher = CollectingDispatcher()
    asked = tracker_for(
        text, requested_slot="description", slots={"description": UNCONFIRMED + text}, language=language
    )
    await ActionAskDescription().run(dispatcher, asked, domain)
    [message] = dispatcher.messages
    assert message["text"] == t("outreach.confirm_description", language, description=text)
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert [b["title"] for b in message["buttons"]] == [
        t("outreach.yes", language),
        t("outreach.edit", language),
    ]


async def test_where_is_asked_before_the_confirmation(kb: Database, domain: dict[str, Any]) -> None:
    text = "路灯坏了，晚上很黑"
    slots = await validate(tracker_for(text, intent="report_issue", requested_slot=None), domain)
    assert slots == {"issue_category": "lighting", "description": UNCONFIRMED + text}  # Rasa asks where next

    shared = tracker_for(
        requested_slot="report_location",
        slots={"issue_category": "lighting", "description": UNCONFIRMED + text},
        location=WEST_ENTRANCE,
        location_fresh=True,
    )
    after = await validate(shared, domain)
    assert after["requested_slot"] == "description"  # now the confirmation


@pytest.mark.parametrize(
    "text", ["我要报告问题", "I want to report a problem", "/report_issue", "路灯", "路灯坏了", "broken lamp"]
)
async def test_a_bare_request_still_asks_for_the_description(
    kb: Database, domain: dict[str, Any], text: str
) -> None:
    slots = await validate(tracker_for(text, intent="report_issue", requested_slot=None), domain)

    assert "description" not in slots
    assert "requested_slot" not in slots

    dispatcher = CollectingDispatcher()
    await ActionAskDescription().run(dispatcher, tracker_for(text, requested_slot="description"), domain)
    assert texts(dispatcher) == [t("report.ask_description", "zh-Hans")]


async def test_yes_keeps_the_description_and_the_form_goes_on(kb: Database, domain: dict[str, Any]) -> None:
    noted = {
        "description": UNCONFIRMED + "路灯坏了，晚上很黑",
        "issue_category": "lighting",
        "report_location": "landmark:west_entrance",
    }
    tracker = tracker_for("/affirm", intent="affirm", requested_slot="description", slots=noted)

    # Confirmed (the mark goes); no requested_slot: Rasa asks the next empty slot.
    assert await validate(tracker, domain) == {"description": "路灯坏了，晚上很黑"}


async def test_edit_clears_the_description_so_it_is_asked(kb: Database, domain: dict[str, Any]) -> None:
    tracker = tracker_for(
        "/deny",
        intent="deny",
        requested_slot="description",
        slots={"description": UNCONFIRMED + "路灯坏了，晚上很黑"},
    )

    assert await validate(tracker, domain) == {"description": None}


async def test_a_correction_typed_instead_replaces_it(kb: Database, domain: dict[str, Any]) -> None:
    tracker = tracker_for(
        "是西入口那盏灯，一直在闪",
        intent="report_issue",
        confidence=0.4,
        requested_slot="description",
        slots={"description": UNCONFIRMED + "路灯坏了，晚上很黑"},
    )

    assert await validate(tracker, domain) == {"description": "是西入口那盏灯，一直在闪"}


# --- the phone ----------------------------------------------------------------------------------------------


async def _ask_contact(tracker: Tracker) -> dict[str, Any]:
    dispatcher = CollectingDispatcher()
    await ActionAskContact().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    return message


async def test_a_phone_is_remembered_only_after_yes(kb: Database, domain: dict[str, Any]) -> None:
    typed = await validate(tracker_for("13800138000", requested_slot="contact"), domain)
    assert typed == {"contact": "13800138000", "requested_slot": "contact"}

    consent = await _ask_contact(tracker_for("13800138000", requested_slot="contact", slots=typed))
    assert consent["text"] == t("outreach.ask_consent", "zh-Hans", phone="138…8000")
    assert [b["payload"] for b in consent["buttons"]] == ["/affirm", "/deny"]
    assert person(kb) is None or person(kb).phone is None  # nothing kept before the answer

    yes = tracker_for("/affirm", intent="affirm", requested_slot="contact", slots={"contact": "13800138000"})
    assert await validate(yes, domain) == {"contact": "13800138000"}  # no further question: the form ends
    kept = person(kb)
    assert kept is not None and kept.phone == "13800138000" and kept.phone_consented_at is not None


async def test_no_uses_the_phone_for_this_report_only(kb: Database, domain: dict[str, Any]) -> None:
    no = tracker_for("/deny", intent="deny", requested_slot="contact", slots={"contact": "13800138000"})

    assert await validate(no, domain) == {"contact": "13800138000"}
    assert person(kb) is None or person(kb).phone is None


async def _remembered(db: Database, phone: str = "13800138000") -> None:
    from community.database import utcnow
    from community.outreach.contact import remember_phone

    with db.session() as session:
        who = get_or_create_person(session, KEY, telegram_id=TOURIST, chat_id=str(TOURIST))
        remember_phone(session, who, phone, utcnow())


@pytest.mark.parametrize("language", ["zh-Hans", "en", "ko"])
async def test_next_time_the_saved_phone_is_offered(kb: Database, language: str) -> None:
    await _remembered(kb)

    offer = await _ask_contact(tracker_for("/deny", requested_slot="contact", language=language))

    assert offer["text"] == t("outreach.offer_saved", language, phone="138…8000")
    assert [b["payload"] for b in offer["buttons"]] == [USE_SAVED, OTHER_NUMBER, "/deny"]
    assert offer["buttons"][0]["title"] == t("outreach.use_saved", language, phone="138…8000")


async def test_using_the_saved_phone_asks_nothing_more(kb: Database, domain: dict[str, Any]) -> None:
    await _remembered(kb)

    assert await validate(tracker_for(USE_SAVED, requested_slot="contact"), domain) == {
        "contact": "13800138000"
    }


async def test_another_number_replaces_the_saved_one_with_consent(
    kb: Database, domain: dict[str, Any]
) -> None:
    await _remembered(kb)

    other = await validate(tracker_for(OTHER_NUMBER, requested_slot="contact"), domain)
    assert other == {"contact": None}
    asked = await _ask_contact(tracker_for(OTHER_NUMBER, requested_slot="contact"))
    assert asked["text"] == t("outreach.ask_other_number", "zh-Hans")

    typed = await validate(tracker_for("13900139000", requested_slot="contact"), domain)
    assert typed == {"contact": "13900139000", "requested_slot": "contact"}
    yes = tracker_for("/affirm", intent="affirm", requested_slot="contact", slots={"contact": "13900139000"})
    await validate(yes, domain)
    assert person(kb).phone == "13900139000"  # type: ignore[union-attr]


async def test_typing_the_saved_phone_again_asks_no_consent(kb: Database, domain: dict[str, Any]) -> None:
    await _remembered(kb)

    assert await validate(tracker_for("13800138000", requested_slot="contact"), domain) == {
        "contact": "13800138000"
    }


async def test_skipping_with_a_saved_phone_leaves_it_saved(kb: Database, domain: dict[str, Any]) -> None:
    await _remembered(kb)

    assert await validate(tracker_for("/deny", intent="deny", requested_slot="contact"), domain) == {
        "contact": "none"
    }
    assert person(kb).phone == "13800138000"  # type: ignore[union-attr]


async def test_without_the_bots_proof_nothing_is_remembered_or_offered(
    kb: Database, domain: dict[str, Any]
) -> None:
    await _remembered(kb)
    forged = dict(secret=None)

    offer = await _ask_contact(tracker_for("", requested_slot="contact", **forged))
    assert offer["text"] == t("report.ask_contact", "zh-Hans")
    assert await validate(tracker_for(USE_SAVED, requested_slot="contact", **forged), domain) == {
        "contact": None
    }


async def test_forgetting_deletes_the_phone_and_says_which(kb: Database) -> None:
    await _remembered(kb)

    with kb.session() as session:
        who = session.query(Person).filter_by(external_key=KEY).one()
        assert forget_phone(session, who) == "13800138000"
        assert forget_phone(session, who) is None
    assert person(kb).phone is None and person(kb).phone_consented_at is None  # type: ignore[union-attr]


async def test_a_roster_phone_without_consent_is_not_offered(kb: Database) -> None:
    with kb.session() as session:
        who = get_or_create_person(session, KEY, telegram_id=TOURIST, chat_id=str(TOURIST))
        who.phone = "13700137000"

    offer = await _ask_contact(tracker_for("", requested_slot="contact"))

    assert offer["text"] == t("report.ask_contact", "zh-Hans")


async def test_a_report_with_no_contact_does_not_show_the_remembered_phone(kb: Database) -> None:
    from community.database import utcnow
    from community.tickets.filing import file_report
    from community.tickets.policy import contact_of

    await _remembered(kb)
    with kb.session() as session:
        who = session.query(Person).filter_by(external_key=KEY).one()
        ticket = file_report(
            session,
            reporter=who,
            category_code="sanitation",
            landmark_code="west_entrance",
            description="垃圾桶满了，味道很大",
            contact=None,  # "No contact" pressed
            now=utcnow(),
        ).ticket
        assert contact_of(session, ticket) is None
        # A phone on the profile that did not come through the form (a roster entry's) still shows.
        who.phone_consented_at = None
        assert contact_of(session, ticket) == "13800138000"
