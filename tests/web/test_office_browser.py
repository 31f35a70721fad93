"""The office dashboard in a real browser (Debian's Chromium, the live server of tests/web/conftest.py, on
SQLite and PostgreSQL): it refuses a tourist, shows a grid member their grid only and the committee
everything, with the map drawn by Leaflet without tiles, the rates as charts and the CSV export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from community.database import Database, utcnow
from community.office.login import issue_login
from community.people.models import Person, PersonRole, Role
from community.tickets.queries import get_ticket
from community.tickets.service import accept
from tests.web.conftest import WebSite, screenshot
from tests.web.office_data import RED_POINT, RIVER_POINT, file_chat_report, roster, tourist

_tourist_ids = iter(range(803_000_101, 803_000_200))
# Other categories each time: the same category within 50 m and 2 hours is a duplicate, not a new ticket.
_categories = iter(
    [("lighting", "sanitation"), ("water_leak", "road_damage"), ("noise", "safety_hazard")] * 3
)


def _link(site: WebSite, person_id: int) -> str:
    with site.database.session() as session:
        person = session.get(Person, person_id)
        assert person is not None
        return f"{site.url}/office/login/{issue_login(session, person, utcnow())}?lang=en"


def _log_in(open_page: Callable[..., Any], site: WebSite, person_id: int) -> Any:
    page = open_page(viewport={"width": 1280, "height": 900})
    page.goto(_link(site, person_id))
    page.click("#login")
    return page


@pytest.fixture
def reports(web_site: WebSite) -> dict[str, str]:
    """A report in the red grid (accepted, so the rates have something) and one by the river."""
    database: Database = web_site.database
    reporter = tourist(database, next(_tourist_ids))
    now = utcnow()
    red_category, river_category = next(_categories)
    red = file_chat_report(database, reporter, red_category, RED_POINT, now, contact="13700001111")
    river = file_chat_report(database, reporter, river_category, RIVER_POINT, now, description="bins full")
    with database.session() as session:
        ticket = get_ticket(session, red.ref)
        assert ticket is not None and ticket.owner_id is not None
        owner = session.get(Person, ticket.owner_id)
        assert owner is not None
        accept(session, ticket.id, owner, ticket.version, now=utcnow())
    return {"red": red.ref, "river": river.ref}


def test_the_dashboard_refuses_a_tourist(web_site: WebSite, open_page: Callable[..., Any]) -> None:
    page = open_page()
    page.goto(f"{web_site.url}/office/")
    expect(page.locator("#refused")).to_contain_text("log in")
    screenshot(page, f"office-not-logged-in-{web_site.backend}")
    # A link sent to someone who was staff then, and is a tourist now: refused politely on use.
    person_id = tourist(web_site.database, next(_tourist_ids))
    with web_site.database.session() as session:
        person = session.get(Person, person_id)
        assert person is not None
        person.roles.append(PersonRole(role=Role.VOLUNTEER, grid_code="red_1"))
    link = _link(web_site, person_id)
    with web_site.database.session() as session:
        person = session.get(Person, person_id)
        assert person is not None
        person.roles = [PersonRole(role=Role.TOURIST)]
    page.goto(link)
    page.click("#login")
    expect(page.locator("#refused")).to_contain_text("for community staff and volunteers only")
    assert page.locator("#tickets").count() == 0


def test_a_grid_member_sees_their_grid_only(
    web_site: WebSite, open_page: Callable[..., Any], reports: dict[str, str]
) -> None:
    page = _log_in(open_page, web_site, roster(web_site.database, "gm_red"))
    expect(page.locator("#who")).to_contain_text("Scope: Old Street Red Grid")
    expect(page.locator("#map")).to_have_attribute("data-ready", "4")  # the red grid's four micro-grids
    expect(page.locator(f'#tickets tr[data-ref="{reports["red"]}"]')).to_have_count(1)
    expect(page.locator(f'#tickets tr[data-ref="{reports["river"]}"]')).to_have_count(0)
    grids = page.locator("#grids tbody tr").evaluate_all("rows => rows.map(r => r.dataset.grid)")
    assert grids == ["xijin_red", "red_1", "red_2", "red_3", "red_4"]  # the grid, then its micro-grids
    for chart in ("#chart-rates", "#chart-times"):  # drawn on the server, loaded as pictures
        expect(page.locator(chart)).to_be_visible()
        assert page.locator(chart).evaluate("img => img.complete && img.naturalWidth > 100")
    assert "13700001111" not in page.content()
    screenshot(page, f"office-grid-member-{web_site.backend}")
    page.goto(f"{web_site.url}/office/?lang=zh-Hans")
    expect(page.locator("#who")).to_contain_text("古街红色网格")
    expect(page.locator("#totals")).to_contain_text("未办结")
    screenshot(page, f"office-grid-member-zh-{web_site.backend}")


def test_the_committee_sees_everything_and_exports_csv(
    web_site: WebSite, open_page: Callable[..., Any], reports: dict[str, str]
) -> None:
    page = _log_in(open_page, web_site, roster(web_site.database, "cm_1"))
    expect(page.locator("#who")).to_contain_text("whole community")
    expect(page.locator("#map")).to_have_attribute("data-ready", "12")  # every micro-grid
    for ref in reports.values():
        expect(page.locator(f'#tickets tr[data-ref="{ref}"]')).to_have_count(1)
    grids = page.locator("#grids tbody tr").evaluate_all("rows => rows.map(r => r.dataset.grid)")
    assert {"xijin_red", "xijin_river", "xijin_hill"} <= set(grids) and len(grids) == 15
    expect(page.locator('#rates-table tr[data-grid="xijin_red"]')).to_have_count(1)
    expect(page.locator("#volunteers tbody tr").first).to_be_visible()
    page.click("button[name=days][value='7']")
    expect(page.locator("button[name=days][value='7']")).to_have_attribute("aria-pressed", "true")
    page.wait_for_load_state("load")  # the chart pictures too
    for chart in ("#chart-rates", "#chart-times"):
        assert page.locator(chart).evaluate("img => img.complete && img.naturalWidth > 100")
    screenshot(page, f"office-committee-{web_site.backend}")
    with page.expect_download() as download:
        page.click("#export")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    assert text.startswith("ref,created_at,state,category")
    assert reports["red"] in text and reports["river"] in text and "13700001111" not in text
    # Logging out ends the session.
    page.click("#logout")
    expect(page.locator("#refused")).to_be_visible()
