"""The red service map in a real browser (Debian's Chromium), served with no tile server: what a tourist sees
on a phone. Screenshots go to var/screenshots/."""

from __future__ import annotations

from typing import Any

import segno
from sqlalchemy import func, select

from community.grids.models import Grid, GridLevel
from community.servicemap.hours import is_open
from community.servicemap.models import ServicePoint
from tests.web.conftest import HOSTILE, TEST_BOT_USERNAME, WebSite, screenshot
from web.map.data import parse_moment

# A Saturday, 03:00 in Xijindu: only the points open around the clock are open.
NIGHT = "2026-12-05T03:00"
# About 17 m south of the toilet by the Zhaoguan Pagoda (sp_toilet_2); the next point is 58 m from it.
BESIDE_TOILET_2 = {"latitude": 32.20955, "longitude": 119.42870}


def open_map(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#map[data-ready='true']")


def csp_violations(page: Any) -> list[str]:
    """What the page's Content-Security-Policy blocks from now on (Chromium reports it on the console)."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return blocked


def active_points(site: WebSite) -> list[ServicePoint]:
    with site.database.session() as session:
        points = list(session.scalars(select(ServicePoint).where(ServicePoint.active.is_(True))))
        session.expunge_all()
        return points


def test_without_tiles_the_map_shows_the_12_micro_grids_and_every_service_point(
    web_site: WebSite, page: Any
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    blocked = csp_violations(page)
    open_map(page, f"{web_site.url}/?lang=en")
    with web_site.database.session() as session:
        micro_grids = session.scalar(
            select(func.count()).select_from(Grid).where(Grid.level == GridLevel.MICRO_GRID, Grid.active)
        )
    assert micro_grids == 12
    assert page.locator("path.micro-grid").count() == 12
    assert page.locator(".micro-grid-label").count() == 12
    assert page.locator(".red-grid").count() == 1
    points = active_points(web_site)
    assert page.locator(".sp-marker").count() == len(points) > 30
    assert page.locator("#point-list .point").count() == len(points)
    assert page.locator(".landmark-label").count() > 0
    assert page.locator(".leaflet-tile").count() == 0
    # Everything the page loaded came from our server: no CDN, no tile server.
    assert requested and all(url.startswith(web_site.url) for url in requested), requested
    assert blocked == []  # the page's own scripts and styles pass its Content-Security-Policy
    screenshot(page, f"map-{web_site.backend}")


def test_open_now_keeps_only_the_points_open_at_the_chosen_time(web_site: WebSite, page: Any) -> None:
    open_map(page, f"{web_site.url}/?lang=en&at={NIGHT}")
    everything = page.locator(".sp-marker").count()
    page.check("#filter-open")  # submits the filters: the page comes back with open=1
    page.wait_for_url("**open=1**")
    page.wait_for_selector("#map[data-ready='true']")
    moment = parse_moment(NIGHT)
    assert moment is not None
    open_at_night = {p.code for p in active_points(web_site) if is_open(p.opening_hours, moment)}
    assert 0 < len(open_at_night) < everything
    shown = {
        page.locator(".sp-marker").nth(i).get_attribute("data-code")
        for i in range(page.locator(".sp-marker").count())
    }
    assert shown == open_at_night
    assert "sp_toilet_1" in shown  # open 24 hours
    assert "sp_party_point_1" not in shown  # 08:30–17:30
    listed = page.locator("#point-list .point")
    assert {listed.nth(i).get_attribute("data-code") for i in range(listed.count())} == open_at_night
    assert page.locator("#point-list .badge.closed").count() == 0
    # The filter by type narrows further: toilets open at 03:00.
    page.select_option("#filter-type", "toilet")
    page.wait_for_url("**type=toilet**")
    page.wait_for_selector("#map[data-ready='true']")
    types = page.locator(".sp-marker")
    assert {types.nth(i).get_attribute("data-type") for i in range(types.count())} == {"toilet"}
    assert page.locator("#filter-open").is_checked()


def test_near_me_lists_the_nearest_toilet_first_with_its_walking_time(
    web_site: WebSite, open_page: Any
) -> None:
    page = open_page(geolocation=BESIDE_TOILET_2, permissions=["geolocation"])
    open_map(page, f"{web_site.url}/?lang=en")
    page.click("#near-me")
    page.wait_for_selector("#near-list .near-item")
    first = page.locator("#near-list .near-item").first
    assert first.get_attribute("data-code") == "sp_toilet_2"
    assert first.get_attribute("data-type") == "toilet"
    assert "about 1 min on foot" in first.inner_text()
    assert page.locator("#near-list .near-item").count() == 5
    assert page.locator(".you-are-here").count() == 1


def test_a_point_page_shows_its_hours_its_qr_code_and_the_telegram_deep_link(
    web_site: WebSite, open_page: Any
) -> None:
    page = open_page(geolocation=BESIDE_TOILET_2, permissions=["geolocation"])
    page.goto(f"{web_site.url}/map/points/sp_toilet_2?lang=en")
    assert page.locator("h1").inner_text() == "Public Toilet (Zhaoguan Pagoda)"
    assert page.locator("#hours").inner_text() == "daily 06:00–22:00"
    link = page.locator("#telegram-link")
    assert link.get_attribute("href") == f"https://t.me/{TEST_BOT_USERNAME}?start=point_sp_toilet_2"
    public = f"{web_site.settings.web_public_url}/map/points/sp_toilet_2"
    # The QR code on the page is the point's public URL, encoded.
    svg = page.locator("#qr svg")
    assert svg.is_visible()
    drawn = svg.locator("path").first.get_attribute("d")
    assert drawn == _path_of(segno.make(public, error="m").svg_inline(scale=4, border=2))
    page.click("#walk-button")
    page.wait_for_url("**lat=**")
    assert "about 1 min on foot" in page.locator("#walk").inner_text()
    door = open_page()
    door.goto(f"{web_site.url}/map/points/sp_toilet_2/door?lang=en")
    assert door.locator(".door-qr svg").is_visible()
    assert door.locator(".door-lines li").count() == 5


def _path_of(svg: str) -> str:
    start = svg.index(' d="') + 4
    return svg[start : svg.index('"', start)]


def test_the_language_follows_the_browser_and_the_switch_and_is_remembered(
    web_site: WebSite, open_page: Any
) -> None:
    page = open_page(locale="ja-JP")
    open_map(page, f"{web_site.url}/")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("h1").inner_text() == "レッドサービスマップ"
    page.click(".languages a[data-lang='ko']")
    page.wait_for_url("**lang=ko**")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "레드 서비스 지도"
    assert page.locator("#point-list .point .type").first.inner_text() in {
        "화장실",
        "응급 구호소",
        "충전소",
        "짐 보관소",
        "음수대",
        "해설 안내데스크",
        "자원봉사 쉼터",
        "경찰 초소",
        "ATM",
        "분실물 센터",
        "편의 서비스 포인트",
    }
    open_map(page, f"{web_site.url}/")  # no ?lang=: the cookie keeps Korean over the browser's Japanese
    assert page.locator("html").get_attribute("lang") == "ko"
    traditional = open_page(locale="zh-TW")
    traditional.goto(f"{web_site.url}/map/points/sp_toilet_2")
    assert traditional.locator("html").get_attribute("lang") == "zh-Hant"
    assert traditional.locator("#hours").inner_text() == "每天 06:00–22:00"


def test_a_point_name_with_markup_is_shown_as_text_on_the_map(
    web_site: WebSite, page: Any, hostile_point: str
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_map(page, f"{web_site.url}/?lang=en")
    blocked = csp_violations(page)
    page.click(f".sp-marker[data-code='{hostile_point}']")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert HOSTILE in popup.inner_text()
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == [] and blocked == []
    # Were a name ever to slip past escaping, the page's Content-Security-Policy still runs none of it.
    page.evaluate("""() => {
        document.body.insertAdjacentHTML(
            'beforeend', '<img id="slipped" src="/nowhere.png" onerror="window.pwned = 1">');
        // Runs after the inline handler would have: once it has, the inline one had its chance.
        document.getElementById('slipped').addEventListener('error', () => { window.failed = true; });
    }""")
    page.wait_for_function("() => window.failed === true")
    assert page.evaluate("() => window.pwned") is None
    assert blocked, "no Content-Security-Policy violation reported"


def test_with_a_tile_server_configured_the_map_draws_its_tiles_under_our_geojson(
    web_site: WebSite, page: Any
) -> None:
    # The tile server here is this site itself, answering 404: what matters is that the page asks it.
    template = f"{web_site.url}/tiles-under-test/{{z}}/{{x}}/{{y}}.png"
    settings = web_site.app.state.settings
    web_site.app.state.settings = settings.model_copy(
        update={"map_tile_url": template, "map_tile_attribution": "Test tiles"}
    )
    try:
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        blocked = csp_violations(page)
        open_map(page, f"{web_site.url}/?lang=en")
        page.wait_for_selector(".leaflet-tile", state="attached")
        assert any("/tiles-under-test/" in url for url in asked)
        assert page.locator("path.micro-grid").count() == 12
        assert "Test tiles" in page.locator(".leaflet-control-attribution").inner_text()
        assert blocked == []  # the tile server is allowed by the page's Content-Security-Policy
    finally:
        web_site.app.state.settings = settings
