"""Opening hours and the red service map queries (database tests run on SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from community.database import Database
from community.i18n import CURATED_LANGUAGES
from community.knowledge.loader import load
from community.servicemap.hours import HoursError, describe, is_open, parse_hours
from community.servicemap.models import ServicePoint
from community.servicemap.service import (
    Nearby,
    UnknownLandmark,
    find_by_name,
    haversine_m,
    nearest,
    points_near_landmark,
    render_nearby,
    venue_payload,
    walking_minutes,
)
from tests.knowledge import KNOWLEDGE_DIR, entry, read_yaml

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2025-11-26 is a Wednesday, 2025-11-28 a Friday, 2025-11-29 a Saturday.
WEDNESDAY = datetime(2025, 11, 26, tzinfo=SHANGHAI)
DAILY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2025, 11, day, hour, minute, tzinfo=SHANGHAI)


# --- Opening hours ------------------------------------------------------------------------------------------


def test_midnight_closing_place_at_2359_and_0001() -> None:
    hours = [{"days": DAILY, "open": "06:00", "close": "24:00"}]
    assert is_open(hours, at(26, 23, 59))
    assert not is_open(hours, at(27, 0, 1))
    assert not is_open(hours, at(27, 5, 59))
    assert is_open(hours, at(27, 6, 0))


def test_midnight_closing_place_from_the_real_file() -> None:
    # sp_toilet_3 closes at midnight: the data the bot uses behaves as the sign says.
    points = read_yaml(KNOWLEDGE_DIR, "service_points.yml")["service_points"]
    hours = entry(points, "sp_toilet_3")["opening_hours"]
    assert is_open(hours, at(26, 23, 59)) and not is_open(hours, at(27, 0, 1))


def test_24h_is_always_open() -> None:
    for moment in (at(26, 0, 0), at(26, 3, 17), at(29, 23, 59)):
        assert is_open("24h", moment)


def test_span_past_midnight_belongs_to_the_previous_day() -> None:
    hours = [
        {"days": ["mon", "tue", "wed", "thu", "sun"], "open": "17:00", "close": "23:00"},
        {"days": ["fri", "sat"], "open": "17:00", "close": "02:00"},
    ]
    assert is_open(hours, at(28, 23, 30))  # Friday evening
    assert is_open(hours, at(29, 1, 59))  # Saturday 01:59: still Friday's night
    assert not is_open(hours, at(29, 2, 0))
    assert is_open(hours, at(30, 1, 0))  # Sunday 01:00: Saturday's night
    assert not is_open(
        hours, datetime(2025, 12, 1, 1, 0, tzinfo=SHANGHAI)
    )  # Monday 01:00: Sunday closes at 23
    assert not is_open(hours, at(27, 1, 0))  # Thursday 01:00: Wednesday closed at 23:00


def test_times_are_read_in_shanghai() -> None:
    hours = [{"days": DAILY, "open": "06:00", "close": "24:00"}]
    assert is_open(hours, datetime(2025, 11, 26, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    assert not is_open(hours, datetime(2025, 11, 26, 16, 1, tzinfo=UTC))  # 00:01 in Shanghai
    assert is_open(hours, datetime(2025, 11, 26, 23, 59))  # naive means Shanghai wall-clock time


def test_parse_rejects_bad_hours() -> None:
    with pytest.raises(HoursError) as info:
        parse_hours([{"days": ["mon"], "open": "9:00", "close": "18:00"}])
    assert info.value.path == "[0].open"
    with pytest.raises(HoursError):
        parse_hours([])
    with pytest.raises(HoursError):
        parse_hours([{"days": [], "open": "09:00", "close": "18:00"}])


def test_describe_in_every_language() -> None:
    hours = [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "09:00", "close": "17:00"},
        {"days": ["fri", "sat"], "open": "18:00", "close": "02:00"},
    ]
    assert describe(hours, "en") == "Mon–Fri 09:00–17:00; Fri, Sat 18:00–02:00 (next day)"
    assert describe(hours, "zh-Hans") == "周一至周五 09:00–17:00；周五、周六 18:00–02:00（次日）"
    assert describe("24h", "ja") == "24時間営業"
    assert describe([{"days": DAILY, "open": "06:00", "close": "24:00"}], "ko") == "매일 06:00–24:00"
    for language in CURATED_LANGUAGES:
        assert "09:00" in describe(hours, language)


# --- Distances ----------------------------------------------------------------------------------------------


def test_haversine_and_walking_time() -> None:
    # One degree of latitude on the mean sphere: R·π/180.
    assert haversine_m(32.0, 119.43, 33.0, 119.43) == pytest.approx(6371008.8 * math.pi / 180, rel=1e-9)
    # 150 m × 1.3 detour = 195 m at 75 m/min = 2.6 → 3 minutes.
    assert walking_minutes(150) == 3
    assert walking_minutes(1) == 1
    assert walking_minutes(1000) == 18  # 1300 m / 75 m/min = 17.3 → 18


def _toilets_from_file() -> dict[str, tuple[float, float]]:
    points = read_yaml(KNOWLEDGE_DIR, "service_points.yml")["service_points"]
    return {p["id"]: (p["location"]["lat"], p["location"]["lon"]) for p in points if p["type"] == "toilet"}


def _flat_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular approximation — a different formula from the code's, exact enough at 1 km."""
    k = 6371008.8 * math.pi / 180
    dx = (lon2 - lon1) * k * math.cos(math.radians((lat1 + lat2) / 2))
    dy = (lat2 - lat1) * k
    return math.hypot(dx, dy)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(32.2100, 119.4290), (32.2101, 119.4352), (32.2080, 119.4300), (32.2118, 119.4245)],
)
def test_nearest_toilet_is_the_right_one(db: Database, lat: float, lon: float) -> None:
    load(db, KNOWLEDGE_DIR)
    toilets = _toilets_from_file()
    by_hand = sorted(toilets, key=lambda code: _flat_metres(lat, lon, *toilets[code]))
    with db.session() as session:
        found = nearest(session, lat, lon, "toilet", limit=5)
        assert [n.point.code for n in found] == by_hand[:5]
        first = found[0]
        assert first.distance_m == pytest.approx(_flat_metres(lat, lon, *toilets[by_hand[0]]), rel=2e-3)
        assert first.walk_min == max(1, math.ceil(first.distance_m * 1.3 / 75))
        assert all(n.point.type == "toilet" for n in found)


def test_nearest_toilet_from_the_pagoda_by_hand(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    # From the pagoda (32.2100, 119.4290) to sp_toilet_2 (32.2097, 119.4287): 0.0003° each way,
    # i.e. 33.4 m north–south and 28.3 m east–west → about 43.8 m.
    with db.session() as session:
        (first,) = nearest(session, 32.2100, 119.4290, "toilet", limit=1)
        assert first.point.code == "sp_toilet_2"
        assert first.distance_m == pytest.approx(43.8, abs=0.5)
        assert first.walk_min == 1


def test_open_at_filters_closed_places(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    three_am = at(26, 3, 0)
    with db.session() as session:
        # At 03:00 only the 24-hour toilet by the west entrance is open, however far.
        found = nearest(session, 32.2100, 119.4290, "toilet", open_at=three_am)
        assert [n.point.code for n in found] == ["sp_toilet_1"]
        assert found[0].open_now
        # Without the filter all are listed, with their state at this moment.
        everything = nearest(session, 32.2100, 119.4290, "toilet", limit=10)
        assert len(everything) == 5
        late = nearest(session, 32.2106, 119.4322, "toilet", open_at=at(26, 23, 59), limit=1)
        assert late[0].point.code == "sp_toilet_3"


def test_inactive_points_and_unknown_types(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        point = session.get(ServicePoint, "sp_toilet_2")
        assert point is not None
        point.active = False
        session.flush()
        found = nearest(session, 32.2100, 119.4290, "toilet", limit=1)
        assert found[0].point.code != "sp_toilet_2"
        with pytest.raises(ValueError, match="unknown service point type"):
            nearest(session, 32.21, 119.43, "sauna")
        mixed = nearest(session, 32.2098, 119.4312, None, limit=3)
        assert mixed[0].point.code == "sp_love_station"  # standing at it


def test_points_near_landmark(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        found = points_near_landmark(session, "zhaoguan_pagoda", "toilet")
        assert found[0].point.code == "sp_toilet_2"
        aid = points_near_landmark(session, "east_entrance", "first_aid", limit=1)
        assert aid[0].point.code == "sp_first_aid_2"
        with pytest.raises(UnknownLandmark):
            points_near_landmark(session, "eiffel_tower", "toilet")


@pytest.mark.parametrize(
    ("text", "language", "kind", "code"),
    [
        ("昭关石塔在哪", "zh-Hans", "landmark", "zhaoguan_pagoda"),
        ("昭關石塔怎麼走", "zh-Hant", "landmark", "zhaoguan_pagoda"),
        ("where is the Zhaoguan Pagoda?", "en", "landmark", "zhaoguan_pagoda"),
        ("観音洞はどこですか", "ja", "landmark", "guanyin_cave"),
        ("영국 영사관 어디예요", "ko", "landmark", "british_consulate"),
        ("xiaomatou", "en", "landmark", "xiaomatou_street"),
        ("where is the ATM", "en", "service_point", "sp_atm_1"),
        ("失物招领处", "zh-Hans", "service_point", "sp_lost_found"),
        ("Multilingual Guide Desk", "en", "service_point", "sp_guide_desk"),
    ],
)
def test_find_by_name(db: Database, text: str, language: str, kind: str, code: str) -> None:
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        matches = find_by_name(session, text, language)
        assert matches, text
        assert (matches[0].kind, matches[0].code) == (kind, code)
        assert matches[0].title  # in the asker's language


def test_find_by_name_needs_whole_latin_words(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        assert not [m for m in find_by_name(session, "the treatment room", "en") if m.code == "sp_atm_1"]
        assert find_by_name(session, "塔", "zh-Hans") == []  # one character matches half the map


def _sample_nearby() -> list[Nearby]:
    point = ServicePoint(
        code="sp_x",
        type="toilet",
        names={
            "zh-Hans": "公共厕所（测试）",
            "zh-Hant": "公共廁所（測試）",
            "en": "Public Toilet (test)",
            "ja": "公衆トイレ（テスト）",
            "ko": "공중화장실(테스트)",
        },
        address={
            "zh-Hans": "西津渡街1号",
            "zh-Hant": "西津渡街1號",
            "en": "1 Xijindu Street",
            "ja": "西津渡街1号",
            "ko": "시진두 거리 1호",
        },
        lat=32.21,
        lon=119.43,
        opening_hours=[{"days": DAILY, "open": "06:00", "close": "24:00"}],
    )
    return [Nearby(point, 123.4, 3, True), Nearby(point, 1534.0, 27, False)]


@pytest.mark.parametrize("language", CURATED_LANGUAGES)
def test_render_nearby_in_every_language(language: str) -> None:
    text = render_nearby(_sample_nearby(), language)
    lines = text.splitlines()
    assert len(lines) == 1 + 2 * 3
    assert _sample_nearby()[0].point.names[language] in lines[1]
    assert "120" in lines[1] and "3" in lines[1]
    assert "1.5" in lines[4]  # kilometres beyond 1000 m
    assert "06:00–24:00" in text
    assert render_nearby([], language)  # an empty result still says something useful


def test_render_nearby_english_wording() -> None:
    text = render_nearby(_sample_nearby(), "en")
    assert text.splitlines()[0] == "Nearest toilet:"
    assert text.splitlines()[1] == "1. Public Toilet (test) — 120 m, about 3 min on foot, open now"
    assert "closed now" in text.splitlines()[4]


def test_venue_payload() -> None:
    payload = venue_payload(_sample_nearby()[0], "ja")
    assert payload == {
        "type": "venue",
        "latitude": 32.21,
        "longitude": 119.43,
        "title": "公衆トイレ（テスト）",
        "address": "西津渡街1号",
        "distance_m": 123,
        "walk_min": 3,
        "open_now": True,
        "map_url": "https://www.openstreetmap.org/?mlat=32.210000&mlon=119.430000#map=18/32.210000/119.430000",
    }
