"""The public pages of community projects in a real browser (SQLite, then PostgreSQL): the list and a
project's page with its history render in the page language, name the partner, and show no personal data —
not the requester's or the claimant's name, phone or Telegram id, nor the claimant's note."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from community.database import utcnow
from community.knowledge.loader import ROSTER_PREFIX
from community.people.models import Person
from community.projects import service
from tests.web.conftest import WebSite, screenshot

REQUESTER_NAME = "Kim Minji 김민지"
REQUESTER_PHONE = "13800138011"
REQUESTER_TELEGRAM = 811_300_001
CLAIMANT_NAME = "Tanaka Sachiko"
CLAIMANT_TELEGRAM = 811_300_002
NOTE = "Call Sachiko at 13900139022 for the keys"


def _project(site: WebSite) -> int:
    """A project asked for by a resident, claimed and confirmed, with a progress note, at the merchant's."""
    now = utcnow()
    with site.database.session() as session:
        desk = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + "desk_1"))
        assert desk is not None
        requester = Person(
            external_key=f"telegram:{REQUESTER_TELEGRAM}",
            telegram_id=REQUESTER_TELEGRAM,
            display_name=REQUESTER_NAME,
            phone=REQUESTER_PHONE,
            preferred_language="ko",
        )
        claimant = Person(
            external_key=f"telegram:{CLAIMANT_TELEGRAM}",
            telegram_id=CLAIMANT_TELEGRAM,
            display_name=CLAIMANT_NAME,
            preferred_language="ja",
        )
        session.add_all([requester, claimant])
        session.flush()
        service.set_contact(session, desk, "old_ferry_repairs", claimant, now)
        draft = {"what": "修理后巷的木栅栏", "grid": "xijin_red", "micro_grid": "red_1", "hands": 2}
        draft["skills"] = ["repairs"]
        project = service.new_own(session, desk, draft, "zh-Hans", now)
        project.requester_id = requester.id
        words = {
            "title": {
                "text": "修理后巷的木栅栏",
                "language": "zh-Hans",
                "translations": {"en": "Mend the fence"},
            },
        }
        service.publish(session, desk, project.id, words, now)
        claim = service.claim(session, claimant, project.id, 2, now)
        service.decide(session, desk, claim.id, True, now)
        note = {"text": NOTE, "language": "en", "translations": {}}
        service.report(session, claimant, project.id, False, note, now)
        return project.id


def test_the_project_list_and_page_render_with_their_history_and_no_personal_data(
    web_site: WebSite, open_page: Any
) -> None:
    project_id = _project(web_site)
    page = open_page(locale="en-US")
    page.goto(f"{web_site.url}/projects/?lang=en")
    item = page.locator(f'.project-item[data-project="{project_id}"]')
    assert item.count() == 1
    assert "Mend the fence" in item.inner_text() and "In progress" in item.inner_text()
    screenshot(page, f"projects-list-{web_site.backend}")

    item.locator("a").click()
    page.wait_for_url(f"**/projects/{project_id}")
    body = page.locator("body").inner_text()
    history = page.locator("#project-history li")
    assert history.count() == 4  # published, claimed, confirmed, progress
    assert "Old Ferry repair shop (sample) reported progress" in history.nth(3).inner_text()
    assert page.locator("#project-state").inner_text() == "In progress"
    assert "2 claimed of 2" in body
    for private in (
        REQUESTER_NAME,
        REQUESTER_PHONE,
        str(REQUESTER_TELEGRAM),
        CLAIMANT_NAME,
        str(CLAIMANT_TELEGRAM),
    ):
        assert private not in page.content()
    assert "13900139022" not in page.content() and "Sachiko" not in page.content()
    screenshot(page, f"projects-page-{web_site.backend}")

    # The page language: the same page in Korean, with the title in Chinese where no translation was made.
    page.goto(f"{web_site.url}/projects/{project_id}?lang=ko")
    assert page.locator("#project-state").inner_text() == "진행 중"
    assert "修理后巷的木栅栏" in page.locator("h1").inner_text()


def test_an_unknown_or_draft_project_is_not_found(web_site: WebSite, open_page: Any) -> None:
    with web_site.database.session() as session:
        desk = session.scalar(select(Person).where(Person.external_key == ROSTER_PREFIX + "desk_1"))
        assert desk is not None
        draft_id = service.new_own(session, desk, {"what": "草稿"}, "zh-Hans", utcnow()).id
    page = open_page(locale="en-US")
    for path in (f"/projects/{draft_id}", "/projects/999999", "/projects/abc"):
        response = page.goto(f"{web_site.url}{path}?lang=en")
        assert response is not None and response.status == 404
