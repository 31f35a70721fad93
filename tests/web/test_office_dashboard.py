"""The office dashboard without a browser (SQLite and PostgreSQL): /dashboard through the real
Application sends a link to staff only; the link logs in once and expires; each role sees its own scope;
the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from community.database import Database, utcnow
from community.office.login import issue_login
from community.office.models import OfficeLogin
from community.people.models import Person
from tests.integration.conftest import application_without_rasa, feed
from tests.integration.telegram_fake import Call, message_update
from tests.web.office_data import RED_POINT, RIVER_POINT, file_chat_report, roster, run_async, tourist

pytest_plugins = ["tests.web.office_support"]  # loaded, settings, api

LINK = re.compile(r"http://testserver(/office/login/[A-Za-z0-9_-]+)\?lang=[A-Za-z-]+")


def _telegram_id(database: Database, person_id: int) -> int:
    with database.session() as session:
        person = session.get(Person, person_id)
        assert person is not None and person.telegram_id is not None
        person.chat_id = str(person.telegram_id)
        return person.telegram_id


def _logins(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(OfficeLogin)) or 0)


def test_dashboard_sends_a_login_link_to_staff_and_a_polite_no_to_a_tourist(
    loaded: Database, api: TestClient
) -> None:
    member = _telegram_id(loaded, roster(loaded, "gm_red"))
    visitor = 803_000_002
    tourist(loaded, visitor)

    async def send_commands() -> list[Call]:
        async with application_without_rasa(loaded, rate_limiter=False) as app:
            app.bot_data["settings"] = api.app.state.settings  # type: ignore[attr-defined]
            await feed(app, message_update(visitor, "/dashboard", language_code="en"))
            await feed(app, message_update(member, "/dashboard", language_code="zh-hans"))
            return list(app.bot_data["telegram"].calls)

    calls = run_async(send_commands())
    [refusal] = [c for c in calls if c.chat_id == visitor]
    assert "staff" in refusal.text.lower() and "/office/login/" not in refusal.text
    [sent] = [c for c in calls if c.chat_id == member and c.method == "sendMessage"]
    assert "10" in sent.text and sent.params["link_preview_options"]["is_disabled"] is True
    found = LINK.search(sent.text)
    assert found is not None
    assert _logins(loaded) == 1  # the tourist got no link at all
    # The link in the message logs the grid member in.
    assert api.get(found.group(1)).status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', api.get(found.group(1)).text)
    assert csrf is not None
    response = api.post(found.group(1), data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert response.status_code == 303 and "xijin_office" in response.cookies


def _login(api: TestClient, database: Database, person_id: int, *, age: timedelta = timedelta()) -> str:
    with database.session() as session:
        person = session.get(Person, person_id)
        assert person is not None
        token = issue_login(session, person, utcnow() - age)
    return f"/office/login/{token}"


def _press_login(api: TestClient, path: str) -> int:
    page = api.get(path)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    sent = {"csrf_token": csrf.group(1)} if csrf else {}
    return api.post(path, data=sent, follow_redirects=False).status_code


def test_a_login_link_works_once(loaded: Database, api: TestClient) -> None:
    path = _login(api, loaded, roster(loaded, "cm_1"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', api.get(path).text)
    assert csrf is not None
    assert api.post(path, data={"csrf_token": csrf.group(1)}, follow_redirects=False).status_code == 303
    assert api.get("/office/").status_code == 200
    api.cookies.delete("xijin_office", path="/office")
    assert api.post(path, data={"csrf_token": csrf.group(1)}, follow_redirects=False).status_code == 410
    assert api.get(path).status_code == 410  # the page says it is spent
    assert api.get("/office/").status_code == 401


def test_a_login_link_expires_after_ten_minutes(loaded: Database, api: TestClient) -> None:
    committee = roster(loaded, "cm_1")
    fresh = api.get(_login(api, loaded, committee, age=timedelta(minutes=9)))
    assert fresh.status_code == 200  # nine minutes old: still good
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', fresh.text)
    assert csrf is not None
    path = _login(api, loaded, committee, age=timedelta(minutes=11))
    assert api.get(path).status_code == 410
    assert api.post(path, data={"csrf_token": csrf.group(1)}, follow_redirects=False).status_code == 410
    assert api.get("/office/").status_code == 401


def test_a_login_post_without_its_csrf_token_is_refused(loaded: Database, api: TestClient) -> None:
    path = _login(api, loaded, roster(loaded, "cm_1"))
    assert api.post(path, data={}, follow_redirects=False).status_code == 403
    assert _press_login(api, path) == 303  # the link was not spent by the refused POST


def test_a_forged_or_altered_cookie_is_not_a_session(loaded: Database, api: TestClient) -> None:
    committee = roster(loaded, "cm_1")
    api.cookies.set("xijin_office", f"{committee}:9999999999:00.forged", path="/office")
    assert api.get("/office/").status_code == 401
    api.cookies.clear()
    assert _press_login(api, _login(api, loaded, roster(loaded, "gm_red"))) == 303
    real = api.cookies.get("xijin_office", path="/office")
    assert real is not None
    _member, rest = real.split(":", 1)
    api.cookies.clear()
    # Someone else's id with the grid member's expiry, nonce and signature:
    api.cookies.set("xijin_office", f"{committee}:{rest}", path="/office")
    assert api.get("/office/").status_code == 401


def test_a_person_no_longer_staff_is_refused_with_a_live_session(loaded: Database, api: TestClient) -> None:
    member = roster(loaded, "gm_red")
    assert _press_login(api, _login(api, loaded, member)) == 303
    with loaded.session() as session:
        person = session.get(Person, member)
        assert person is not None
        person.roles.clear()
    refused = api.get("/office/")
    assert refused.status_code == 403 and "staff" in refused.text


def _tickets(database: Database) -> tuple[str, str]:
    reporter = tourist(database, 803_000_003)
    now = utcnow()
    red = file_chat_report(database, reporter, "lighting", RED_POINT, now, contact="13700001111")
    river = file_chat_report(database, reporter, "sanitation", RIVER_POINT, now, description="bins full")
    return red.ref, river.ref


def test_each_role_sees_its_scope_on_the_dashboard(loaded: Database, api: TestClient) -> None:
    red, river = _tickets(loaded)
    assert _press_login(api, _login(api, loaded, roster(loaded, "gm_red"))) == 303
    page = api.get("/office/").text
    assert red in page and river not in page
    assert 'data-grid="xijin_red"' in page and 'data-grid="xijin_river"' not in page
    chart = api.get("/office/charts/times.svg").text  # the charts keep to the scope as well
    assert "Old Street Red Grid" in chart and "Riverside" not in chart
    api.cookies.clear()
    assert _press_login(api, _login(api, loaded, roster(loaded, "cm_1"))) == 303
    page = api.get("/office/").text
    assert red in page and river in page
    for grid in ("xijin_red", "xijin_river", "xijin_hill", "red_3", "river_3"):
        assert f'data-grid="{grid}"' in page
    assert "13700001111" not in page  # no reporter contact on the dashboard
    chart = api.get("/office/charts/rates.svg", params={"days": 7})
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert "Old Street Red Grid" in chart.text and "Riverside" in chart.text
    assert "default-src 'self'" in api.get("/office/").headers["content-security-policy"]
    api.cookies.clear()
    assert api.get("/office/charts/rates.svg").status_code == 401


def test_the_csv_export_holds_the_scope_and_no_reporter_data(loaded: Database, api: TestClient) -> None:
    red, _river = _tickets(loaded)
    assert _press_login(api, _login(api, loaded, roster(loaded, "gm_red"))) == 303
    response = api.get("/office/export.csv", params={"days": 7})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["ref"] for r in rows] == [red]
    assert rows[0]["state"] == "dispatched" and rows[0]["grid"] == "xijin_red"
    assert rows[0]["micro_grid"] == "red_3" and rows[0]["category"] == "lighting"
    assert rows[0]["channel"] == "telegram" and rows[0]["overdue"] == "no"
    assert "13700001111" not in response.text and "bins full" not in response.text
    api.cookies.clear()
    assert api.get("/office/export.csv").status_code == 401


def test_a_volunteer_sees_their_micro_grid_at_most(loaded: Database, api: TestClient) -> None:
    red, river = _tickets(loaded)
    # In red_1: the same grid, another micro-grid.
    other = file_chat_report(loaded, tourist(loaded, 803_000_004), "noise", (32.2100, 119.4250), utcnow())
    assert other.micro_grid_code == "red_1"
    assert _press_login(api, _login(api, loaded, roster(loaded, "vol_red_5"))) == 303  # serves red_3
    page = api.get("/office/").text
    assert red in page and river not in page and other.ref not in page
    assert 'data-grid="red_3"' in page
    for grid in ("xijin_red", "red_1", "river_3"):
        assert f'data-grid="{grid}"' not in page
    rows = list(csv.DictReader(io.StringIO(api.get("/office/export.csv").text.lstrip("\ufeff"))))
    assert [r["ref"] for r in rows] == [red]
