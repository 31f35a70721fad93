"""Open311 GeoReport v2 as a client sees it (TestClient on the real app, SQLite and PostgreSQL): services,
filing with and without a key, the spec's errors, and public reads that carry no personal data."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.telegram.jobs import relay_once
from community.database import Database, utcnow
from community.open311.keys import add_client, revoke_client
from community.people.models import Person
from community.tickets.models import Ticket
from tests.integration.conftest import application_without_rasa
from tests.integration.telegram_fake import Call
from tests.web.office_data import RED_POINT, file_chat_report, run_async, tourist
from web.open311 import routes

pytest_plugins = ["tests.web.office_support"]  # loaded, settings, api

BASE = "/open311/v2"


@pytest.fixture
def api_key(loaded: Database) -> str:
    with loaded.session() as session:
        _client, key = add_client(session, "city 12345 hotline", utcnow())
        return key


def _form(api_key: str | None, **fields: str) -> dict[str, str]:
    form = {"service_code": "lighting", "lat": str(RED_POINT[0]), "long": str(RED_POINT[1]), **fields}
    if api_key is not None:
        form["api_key"] = api_key
    return form


def _error(response, status: int) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["code"] == status
    assert set(body[0]) == {"code", "description"}
    return str(body[0]["description"])


# --- services ------------------------------------------------------------------------------------------


def test_services_are_our_categories_without_the_emergencies(api: TestClient) -> None:
    services = api.get(f"{BASE}/services.json").json()
    codes = {s["service_code"] for s in services}
    assert {"lighting", "sanitation", "water_leak", "elderly_help"} <= codes
    assert not codes & {"first_aid", "missing_person", "fire"}
    lighting = next(s for s in services if s["service_code"] == "lighting")
    assert lighting["service_name"] == "Broken lighting"
    assert lighting["metadata"] is True and lighting["type"] == "realtime"


def test_discovery_names_the_endpoint_and_an_unknown_format_is_404(api: TestClient) -> None:
    [endpoint] = api.get(f"{BASE}/discovery.json").json()["endpoints"]
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    discovery = ET.fromstring(api.get(f"{BASE}/discovery.xml").content)
    assert discovery.findtext("endpoints/endpoint/formats/format") == "application/json"
    assert "format" in _error(api.get(f"{BASE}/services.csv"), 404)


def test_a_service_definition_lists_the_landmarks_and_an_unknown_code_is_404(api: TestClient) -> None:
    definition = api.get(f"{BASE}/services/lighting.json").json()
    attribute = definition["attributes"][0]
    assert definition["service_code"] == "lighting"
    assert attribute["code"] == "landmark" and attribute["datatype"] == "singlevaluelist"
    assert len(attribute["values"]) >= 10 and {"key", "name"} == set(attribute["values"][0])
    assert "nowhere" in _error(api.get(f"{BASE}/services/nowhere.json"), 404)
    assert "first_aid" in _error(api.get(f"{BASE}/services/first_aid.json"), 404)


# --- filing --------------------------------------------------------------------------------------------


def test_a_request_with_a_key_is_routed_to_a_volunteer_who_receives_it(
    api: TestClient, loaded: Database, api_key: str
) -> None:
    response = api.post(f"{BASE}/requests.json", data=_form(api_key, description="The lantern is dark"))
    assert response.status_code == 201
    [created] = response.json()
    ref = created["service_request_id"]
    # The reporter follows it by the status page link in the notice: it opens, with its token.
    link = re.search(r"http://testserver(/status/\S+)", created["service_notice"])
    assert link is not None and f"/status/{ref}?t=" in link.group(1)
    status_page = api.get(link.group(1))
    assert status_page.status_code == 200 and ref in status_page.text
    with loaded.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref))
        assert ticket is not None
        assert (ticket.channel, ticket.state, ticket.micro_grid_code) == ("open311", "dispatched", "red_3")
        owner = session.get(Person, ticket.owner_id)
        assert owner is not None and ("volunteer", "red_3") in {(r.role, r.grid_code) for r in owner.roles}
        owner.chat_id = str(owner.telegram_id)  # the volunteer has written to the bot before
        chat = int(owner.telegram_id or 0)

    # The real relay sends the task card through the (faked) Telegram Bot API.
    async def relay() -> list[Call]:
        async with application_without_rasa(loaded, rate_limiter=False) as app:
            await relay_once(app.bot, loaded)
            return [c for c in app.bot_data["telegram"].calls if c.chat_id == chat]

    cards = run_async(relay())
    assert any(ref in card.text and "The lantern is dark" in card.text for card in cards)


def test_a_landmark_instead_of_a_point_is_routed_by_the_landmark(
    api: TestClient, loaded: Database, api_key: str
) -> None:
    form = {"api_key": api_key, "service_code": "sanitation", "address_id": "west_entrance"}
    response = api.post(f"{BASE}/requests.json", data=form)
    assert response.status_code == 201
    with loaded.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == response.json()[0]["service_request_id"]))
        assert ticket is not None and ticket.landmark_code == form["address_id"]
        assert ticket.micro_grid_code is not None and ticket.owner_id is not None


def test_a_missing_wrong_or_revoked_key_is_403_and_files_nothing(
    api: TestClient, loaded: Database, api_key: str
) -> None:
    assert "api_key" in _error(api.post(f"{BASE}/requests.json", data=_form(None)), 403)
    assert "api_key" in _error(api.post(f"{BASE}/requests.json", data=_form(api_key + "x")), 403)
    with loaded.session() as session:
        _c, other = add_client(session, "old partner", utcnow())
        revoke_client(session, _c.id, utcnow())
    _error(api.post(f"{BASE}/requests.json", data=_form(other)), 403)
    with loaded.session() as session:
        assert session.scalar(select(Ticket.id)) is None


def test_a_bad_category_an_emergency_and_a_point_outside_the_community_are_400(
    api: TestClient, loaded: Database, api_key: str
) -> None:
    assert "potholes" in _error(
        api.post(f"{BASE}/requests.json", data=_form(api_key, service_code="potholes")), 400
    )
    assert "120" in _error(api.post(f"{BASE}/requests.json", data=_form(api_key, service_code="fire")), 400)
    # The Bund in Shanghai: far outside Xijin.
    outside = _form(api_key, lat="31.2400", long="121.4900")
    assert "outside" in _error(api.post(f"{BASE}/requests.json", data=outside), 400)
    assert "location" in _error(
        api.post(f"{BASE}/requests.json", data={"api_key": api_key, "service_code": "lighting"}), 400
    )
    assert "number" in _error(api.post(f"{BASE}/requests.json", data=_form(api_key, lat="north")), 400)
    with loaded.session() as session:
        assert session.scalar(select(Ticket.id)) is None


def test_a_ten_megabyte_body_is_413(api: TestClient, loaded: Database, api_key: str) -> None:
    body = f"api_key={api_key}&service_code=lighting&lat=32.21&long=119.43&description=".encode()
    body += b"x" * (10 * 1024 * 1024)
    response = api.post(
        f"{BASE}/requests.xml", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
    root = ET.fromstring(response.content)
    assert root.tag == "errors" and root.find("error/code").text == "413"  # type: ignore[union-attr]
    with loaded.session() as session:
        assert session.scalar(select(Ticket.id)) is None


def test_posts_beyond_the_limit_get_429(
    api: TestClient, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "POSTS_BURST", 2)
    statuses = [api.post(f"{BASE}/requests.json", data=_form(api_key)).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    refused = api.post(f"{BASE}/requests.json", data=_form(api_key))
    assert "too many" in _error(refused, 429) and int(refused.headers["Retry-After"]) >= 1


# --- reading -------------------------------------------------------------------------------------------


def test_requests_json_carries_no_personal_data(api: TestClient, loaded: Database, api_key: str) -> None:
    personal = ["Meiling", "Zhou", "13912345678", "meiling.zhou@example.cn", "device-77", "acct-99"]
    form = _form(
        api_key,
        first_name="Meiling",
        last_name="Zhou",
        phone="13912345678",
        email="meiling.zhou@example.cn",
        device_id="device-77",
        account_id="acct-99",
        description="Dark lane; call me on 13912345678 or meiling.zhou@example.cn",
    )
    assert api.post(f"{BASE}/requests.json", data=form).status_code == 201
    # A chat report with a contact and a personal description: the world sees neither.
    reporter = tourist(loaded, 803_000_001, name="Grandma Wang")
    chat = file_chat_report(
        loaded,
        reporter,
        "elderly_help",
        (32.2130, 119.4300),
        utcnow(),
        description="Grandma Wang at No. 12 fell, her son is 13700001111",
        contact="13700001111",
    )
    raw = api.get(f"{BASE}/requests.json").text
    for secret in [*personal, "Grandma Wang", "13700001111", "No. 12"]:
        assert secret not in raw, secret
    payload = json.loads(raw)
    assert {r["service_request_id"] for r in payload} >= {chat.ref}
    chat_row = next(r for r in payload if r["service_request_id"] == chat.ref)
    assert chat_row["description"] == "" and chat_row["status"] == "open"
    open311_row = next(r for r in payload if r["service_request_id"] != chat.ref)
    assert open311_row["description"].startswith("Dark lane; call me on")
    for row in payload:
        assert not {"first_name", "last_name", "phone", "email", "contact", "account_id"} & set(row)
    single = api.get(f"{BASE}/requests/{chat.ref}.json").text
    assert "13700001111" not in single and "Grandma" not in single
    # The phone stays with the ticket (retention erases it there), not on the reporter's person.
    with loaded.session() as session:
        reporter_row = session.scalar(select(Person).where(Person.external_key.like("open311:%")))
        assert reporter_row is not None and reporter_row.phone is None
        assert session.scalar(select(Ticket.contact).where(Ticket.channel == "open311")) == "13912345678"


def test_requests_filters_and_one_request(api: TestClient, loaded: Database, api_key: str) -> None:
    first = api.post(f"{BASE}/requests.json", data=_form(api_key)).json()[0]["service_request_id"]
    second = api.post(f"{BASE}/requests.json", data=_form(api_key, service_code="sanitation")).json()[0][
        "service_request_id"
    ]
    by_code = api.get(f"{BASE}/requests.json", params={"service_code": "sanitation"}).json()
    assert [r["service_request_id"] for r in by_code] == [second]
    by_ids = api.get(f"{BASE}/requests.json", params={"service_request_id": f"{first},{second}"}).json()
    assert {r["service_request_id"] for r in by_ids} == {first, second}
    assert api.get(f"{BASE}/requests.json", params={"status": "closed"}).json() == []
    assert len(api.get(f"{BASE}/requests.json", params={"status": "open"}).json()) == 2
    wide = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-31T00:00:00Z"}
    assert "90 days" in _error(api.get(f"{BASE}/requests.json", params=wide), 400)
    assert "W3C" in _error(api.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}), 400)
    [one] = api.get(f"{BASE}/requests/{first}.json").json()
    assert one["service_request_id"] == first and one["service_code"] == "lighting"
    assert "XJNOTHING" in _error(api.get(f"{BASE}/requests/XJNOTHING.json"), 404)


def test_xml_answers_are_well_formed_and_shaped_as_the_spec(
    api: TestClient, loaded: Database, api_key: str
) -> None:
    services = ET.fromstring(api.get(f"{BASE}/services.xml").content)
    assert services.tag == "services"
    service = services.find("service")
    assert service is not None
    assert {c.tag for c in service} == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert service.findtext("metadata") == "true"
    definition = ET.fromstring(api.get(f"{BASE}/services/lighting.xml").content)
    assert definition.tag == "service_definition"
    assert definition.find("attributes/attribute/values/value/key") is not None

    posted = api.post(f"{BASE}/requests.xml", data=_form(api_key, description="a < b & c"))
    assert posted.status_code == 201 and posted.headers["content-type"].startswith("text/xml")
    created = ET.fromstring(posted.content)
    assert created.tag == "service_requests"
    ref = created.findtext("request/service_request_id")
    assert ref and created.find("request/service_notice") is not None

    listing = ET.fromstring(api.get(f"{BASE}/requests.xml").content)
    assert listing.tag == "service_requests" and [r.tag for r in listing] == ["request"]
    request = listing.find("request")
    assert request is not None
    assert request.findtext("service_request_id") == ref and request.findtext("status") == "open"
    assert request.findtext("description") == "a < b & c"  # escaped on the wire, intact when parsed
    for tag in (
        "requested_datetime",
        "updated_datetime",
        "lat",
        "long",
        "service_code",
        "agency_responsible",
    ):
        assert request.find(tag) is not None, tag
    assert request.findtext("requested_datetime", "").endswith("Z")

    error = ET.fromstring(api.get(f"{BASE}/requests/XJNOTHING.xml").content)
    assert error.tag == "errors" and error.findtext("error/code") == "404"
