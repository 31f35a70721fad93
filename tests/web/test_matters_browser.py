"""The public page of a matter in a real browser (Debian's Chromium): its text, standard, support, meeting,
outcome and whole history, and no personal data — not the raiser's nor the supporters' names, Telegram ids,
phone numbers or keys. Screenshots go to var/screenshots/.

Telegram ids of these tests: 813_200_001 … (the range of the matters tests)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from community.database import utcnow
from community.matters import service
from community.outreach.models import Subscription
from community.people.models import Person, PersonRole, Role
from community.people.service import get_or_create_person
from tests.web.conftest import WebSite, screenshot

GRID = "red_2"
TEXT = "观音洞门口台阶没有扶手，老人下雨天上下很危险，希望加装扶手。"
OUTCOME = "议事会商定：由共建单位本月内加装不锈钢扶手，居民志愿者协助施工期间引导。"
RAISER = ("王秀兰", 813_200_001, "13900001111")
SUPPORTERS = [
    ("李建国", 813_200_002, "13900002222"),
    ("Emily Carter", 813_200_003, "13900003333"),
    ("山田花子", 813_200_004, "13900004444"),
]
DESK = ("服务台小周", 813_200_005, "13900005555")


def _person(session: Any, who: tuple[str, int, str], language: str, *, desk: bool = False) -> Person:
    name, user, phone = who
    person = get_or_create_person(
        session, f"telegram:{user}", telegram_id=user, chat_id=str(user), display_name=name, language=language
    )
    person.phone = phone
    if desk:
        person.roles.append(PersonRole(role=Role.DESK, grid_code="xijin"))
    session.flush()
    if not desk:
        session.add(Subscription(person_id=person.id, grid_code=GRID, created_at=utcnow()))
    return person


def a_decided_matter(site: WebSite) -> str:
    """A matter taken all the way, through the service, by people with names, ids and phones."""
    now = utcnow()
    with site.database.session() as session:
        raiser = _person(session, RAISER, "zh-Hans")
        supporters = [
            _person(session, s, lang) for s, lang in zip(SUPPORTERS, ("zh-Hans", "en", "ja"), strict=True)
        ]
        desk = _person(session, DESK, "zh-Hans", desk=True)
        words = {
            "text": TEXT,
            "language": "zh-Hans",
            "translations": {"en": "The steps at Guanyin Cave need a handrail."},
        }
        matter = service.raise_matter(session, raiser, words, GRID, now, place="观音洞门口")
        ids = {"matter": matter.id, "desk": desk.id, "supporters": [s.id for s in supporters]}
        ref = matter.ref
    with site.database.session() as session:
        service.file_matter(session, ids["matter"], ids["desk"], "facilities", "fac_handrails", now)
    for supporter in ids["supporters"]:
        with site.database.session() as session:
            service.support(session, ids["matter"], supporter, now)
    with site.database.session() as session:
        service.call_meeting(
            session, ids["matter"], ids["desk"], now + timedelta(days=3), "西津渡社区议事厅", now
        )
    with site.database.session() as session:
        service.sign_up(session, ids["matter"], ids["supporters"][0], now)
    with site.database.session() as session:
        outcome = {
            "text": OUTCOME,
            "language": "zh-Hans",
            "translations": {"en": "A handrail is fitted this month."},
        }
        service.record_outcome(session, ids["matter"], ids["desk"], outcome, now)
    return ref


def test_a_matters_page_shows_its_whole_history_and_no_personal_data(
    web_site: WebSite, open_page: Any
) -> None:
    ref = a_decided_matter(web_site)
    page = open_page(locale="en-US")
    page.goto(f"{web_site.url}/matters/{ref}?lang=en")
    page.wait_for_selector("#matter-history li")
    screenshot(page, "matters-page-decided")

    assert page.inner_text("h1") == f"Matter {ref}"
    assert page.inner_text("#matter-state") == "decided"
    assert "The steps at Guanyin Cave need a handrail." in page.inner_text("#matter-text")
    assert TEXT in page.inner_text("#matter-original")
    assert (
        page.inner_text("#matter-standard") == "Public facilities / Handrails on steps and step-free access"
    )
    assert page.inner_text("#matter-support").startswith("3/3")
    assert "西津渡社区议事厅" in page.inner_text("#matter-meeting")
    assert page.inner_text("#matter-outcome") == "A handrail is fitted this month."
    history = [item.split(" ", 2)[-1] for item in page.locator("#matter-history li").all_inner_texts()]
    assert history == [
        "A resident raised the matter (Zhaoguan Pagoda micro-grid)",
        "The desk filed it: Public facilities / Handrails on steps and step-free access",
        "A resident supported it (1 in all)",
        "A resident supported it (2 in all)",
        "A resident supported it (3 in all)",
        "Support reached the threshold (3)",
        history[6],  # the meeting, checked below
        "Someone signed up for the meeting (1 in all)",
        "The meeting decided",
    ]
    assert history[6].startswith("A meeting was called:") and history[6].endswith("西津渡社区议事厅")

    shown = page.content()
    for name, user, phone in [RAISER, *SUPPORTERS, DESK]:
        for secret in (name, str(user), phone, f"telegram:{user}"):
            assert secret not in shown, secret
