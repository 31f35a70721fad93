"""The map's HTTP interface without a browser: the GeoJSON, "near me", the point pages, the QR code, and
bad or hostile input, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
import segno

from tests.web.conftest import HOSTILE, WebSite

NIGHT = "2026-12-05T03:00"  # a Saturday, 03:00 in Xijindu


def features(data: dict, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [f for f in data["features"] if f["properties"]["kind"] == kind]


def test_the_geojson_has_the_grids_and_the_points_with_texts_in_the_readers_language(
    client: httpx.Client,
) -> None:
    response = client.get("/map.geojson", params={"lang": "ko"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    data = response.json()
    grids = features(data, "grid")
    assert len([g for g in grids if g["properties"]["level"] == "micro_grid"]) == 12
    assert all(g["geometry"]["type"] == "Polygon" for g in grids)
    points = features(data, "service_point")
    toilet = next(p for p in points if p["id"] == "sp_toilet_2")["properties"]
    assert toilet["title"] == "공중화장실(자오관 석탑)"
    assert toilet["type_label"] == "화장실"
    assert toilet["url"] == "/map/points/sp_toilet_2?lang=ko"
    assert features(data, "landmark")


def test_the_geojson_filters_by_type_and_by_what_is_open_at_a_time(client: httpx.Client) -> None:
    every = features(client.get("/map.geojson").json(), "service_point")
    toilets = features(client.get("/map.geojson", params={"type": "toilet"}).json(), "service_point")
    assert {p["properties"]["type"] for p in toilets} == {"toilet"} and len(toilets) == 5
    night = client.get("/map.geojson", params={"open": "1", "at": NIGHT}).json()
    open_at_night = features(night, "service_point")
    assert 0 < len(open_at_night) < len(every)
    assert all(p["properties"]["open_now"] for p in open_at_night)
    assert "sp_toilet_1" in {p["id"] for p in open_at_night}  # open 24 hours
    assert "sp_toilet_2" not in {p["id"] for p in open_at_night}  # 06:00–22:00
    # The grids are never filtered away: the map still shows where things are.
    assert len(features(night, "grid")) == len(features(client.get("/map.geojson").json(), "grid"))
    # An offset is understood: 03:00 in Xijindu is 19:00 UTC the day before.
    utc = client.get("/map.geojson", params={"open": "1", "at": "2026-12-04T19:00+00:00"}).json()
    assert {p["id"] for p in features(utc, "service_point")} == {p["id"] for p in open_at_night}


def test_near_me_answers_nearest_first_with_distance_and_walking_time(client: httpx.Client) -> None:
    response = client.get(
        "/map/near", params={"lat": "32.20955", "lon": "119.42870", "lang": "en", "limit": "3"}
    )
    points = response.json()["points"]
    assert points[0]["id"] == "sp_toilet_2"
    assert len(points) == 3
    assert [p["distance_m"] for p in points] == sorted(p["distance_m"] for p in points)
    assert points[0]["walk_min"] == 1 and points[0]["distance_text"] == "20 m"
    toilets = client.get(
        "/map/near", params={"lat": "32.2071", "lon": "119.4294", "type": "toilet", "open": "1", "at": NIGHT}
    ).json()["points"]
    assert [p["id"] for p in toilets] == ["sp_toilet_1"]  # the only toilet open at 03:00, however far


@pytest.mark.parametrize(
    "params",
    [
        {"lat": "abc", "lon": "119.43"},
        {"lat": "91", "lon": "119.43"},
        {"lat": "nan", "lon": "119.43"},
        {"lat": "32.2", "lon": "inf"},
        {"lon": "119.43"},
        {"lat": "32.2", "lon": "119.43", "type": "spaceship"},
        {"lat": "32.2", "lon": "119.43", "at": "yesterday"},
        {"lat": "32.2", "lon": "119.43", "limit": "1000"},
        {"lat": "32.2", "lon": "119.43", "limit": "-1"},
    ],
)
def test_near_me_with_bad_input_gets_a_polite_answer_in_the_readers_language(
    client: httpx.Client, params: dict[str, str]
) -> None:
    response = client.get("/map/near", params=dict(params, lang="ja"))
    assert response.status_code == 400
    assert response.json() == {"error": "リクエストに誤りがあります。確認してもう一度お試しください。"}


@pytest.mark.parametrize(
    "path",
    ["/map?type=spaceship&lang=en", "/map?at=tomorrow&lang=en", "/map/points/sp_toilet_2?at=x&lang=en"],
)
def test_a_page_with_bad_filters_says_so_politely(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "Something in the request is not right" in response.text


def test_an_unknown_point_is_a_polite_404_that_echoes_nothing(client: httpx.Client) -> None:
    response = client.get("/map/points/sp_nowhere", params={"lang": "zh-Hans"})
    assert response.status_code == 404 and "没有这个服务点。" in response.text
    for path in ("/map/points/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/no/such/page/<b>"):
        response = client.get(path, params={"lang": "zh-Hans"})
        assert response.status_code == 404
        assert "找不到这个页面。" in response.text and "<script>alert" not in response.text
        assert "<b>" not in response.text.split("<main", 1)[1]
    # A program asking for JSON still gets JSON.
    assert client.get("/no/such/page", headers={"Accept": "application/json"}).json() == {
        "detail": "Not Found"
    }
    assert client.get("/map/points/sp_nowhere/qr.svg").status_code == 404
    assert client.get("/map/points/sp_nowhere/door").status_code == 404


def test_the_qr_code_for_the_door_encodes_the_points_public_page(
    client: httpx.Client, web_site: WebSite
) -> None:
    response = client.get("/map/points/sp_toilet_2/qr.svg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    svg = response.text
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    public = f"{web_site.settings.web_public_url}/map/points/sp_toilet_2"
    expected = segno.make(public, error="m").svg_inline(scale=10, border=4)
    path = expected[expected.index(' d="') : expected.index('"', expected.index(' d="') + 4)]
    assert path in svg
    door = client.get("/map/points/sp_toilet_2/door", params={"lang": "en"}).text
    assert public in door
    for line in (
        "扫码查看本服务点",
        "Scan for this service point",
        "スキャンして",
        "스캔하면",
        "掃碼查看本服務點",
    ):
        assert line in door


def test_the_point_page_gives_the_walking_time_from_a_position(client: httpx.Client) -> None:
    page = client.get("/map/points/sp_toilet_5", params={"lang": "en", "lat": "32.2071", "lon": "119.4305"})
    assert "100 m from you, about 2 min on foot" in page.text
    nowhere = client.get("/map/points/sp_toilet_5", params={"lang": "en", "lat": "999", "lon": "x"})
    assert nowhere.status_code == 200 and "Share your location" in nowhere.text


def test_names_with_markup_are_shown_as_text_not_run(client: httpx.Client, hostile_point: str) -> None:
    for path in ("/map?lang=en", f"/map/points/{hostile_point}?lang=en"):
        page = client.get(path).text
        assert HOSTILE not in page and "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
