"""The knowledge files: complete, consistent, and every mistake rejected with file, entry and field named."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

from community.i18n import CURATED_LANGUAGES
from community.knowledge.schema import KnowledgeBase, KnowledgeError, load_knowledge
from tests.knowledge import KNOWLEDGE_DIR, copy_knowledge, edit_yaml, entry, micro_grid, read_yaml

FAQ_TOPICS = (
    "opening_hours",
    "entry_fee",
    "history",
    "attractions",
    "getting_there",
    "parking",
    "food",
    "guide_service",
    "luggage",
    "wifi",
    "accessibility",
    "volunteer",
    "consultation",
)
LANDMARKS = (
    "zhaoguan_pagoda",
    "british_consulate",
    "daidu_pavilion",
    "lifesaving_museum",
    "guanyin_cave",
    "yuntai_pavilion",
    "xiaomatou_street",
    "love_station",
    "east_entrance",
    "west_entrance",
    "fifty_three_steps",
    "chaoan_temple",
    "yingjiang_road",
)
CATEGORIES = (
    "lighting",
    "sanitation",
    "water_leak",
    "road_damage",
    "noise",
    "safety_hazard",
    "lost_item",
    "elderly_help",
    "vendor_dispute",
    "other",
    "first_aid",
    "missing_person",
    "fire",
)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE_DIR)


def _rejected(directory: Path) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return info.value


# --- The real files --------------------------------------------------------------------------------------


def test_real_knowledge_is_valid_and_complete(kb: KnowledgeBase) -> None:
    assert [f.id for f in kb.faq] == list(FAQ_TOPICS)
    assert {lm.id for lm in kb.landmarks} >= set(LANDMARKS)
    assert {c.id for c in kb.categories} == set(CATEGORIES)
    assert kb.community.id == "xijin"
    assert len(kb.grids) >= 3
    assert len(kb.micro_grids) >= 12
    assert [g.id for g in kb.grids if g.red] == ["xijin_red"]


@pytest.mark.parametrize("topic", FAQ_TOPICS)
def test_every_faq_topic_is_answered_in_all_five_languages(kb: KnowledgeBase, topic: str) -> None:
    answers = next(f for f in kb.faq if f.id == topic).answers.as_dict()
    assert tuple(answers) == CURATED_LANGUAGES
    for language, text in answers.items():
        assert len(text) >= 30, (topic, language)
    # Two to five sentences (quoted questions and parenthesised notes make the count approximate).
    english = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"])", answers["en"]) if s]
    assert 2 <= len(english) <= 5, english
    chinese = [s for s in re.split(r"(?<=[。！])", answers["zh-Hans"]) if s.strip()]
    assert 2 <= len(chinese) <= 5, chinese


def test_traditional_chinese_corrections_hold(kb: KnowledgeBase) -> None:
    texts = {f.id: f.answers.zh_Hant for f in kb.faq}
    joined = "".join(texts.values())
    assert "社群" not in joined  # s2twp's "online community" for 社区
    assert "鍋蓋麵" in texts["food"] and "鍋蓋面" not in joined
    assert "肴肉" in texts["food"] and "餚肉" not in joined
    assert "“" not in joined and "「" in joined
    assert texts["history"] != next(f for f in kb.faq if f.id == "history").answers.zh_Hans


def test_sample_details_are_flagged(kb: KnowledgeBase) -> None:
    for f in kb.faq:
        if "sample" in f.answers.en.lower():
            assert f.sample, f"{f.id} mentions sample information but is not sample: true"
    assert all(p.sample for p in kb.service_points)
    assert all(p.sample for p in kb.people)


def test_service_points_cover_the_red_service_posts(kb: KnowledgeBase) -> None:
    points = kb.service_points
    assert len(points) >= 32
    by_type: dict[str, int] = {}
    for p in points:
        by_type[p.type] = by_type.get(p.type, 0) + 1
    assert by_type["toilet"] >= 3
    for type_ in (
        "first_aid",
        "police",
        "luggage",
        "charging",
        "drinking_water",
        "guide",
        "lost_and_found",
        "atm",
    ):
        assert by_type.get(type_, 0) >= 1, type_
    ids = {p.id for p in points}
    assert "sp_love_station" in ids
    assert len([i for i in ids if i.startswith("sp_party_point_")]) == 5
    assert len([i for i in ids if i.startswith("sp_party_shop_")]) == 6
    stations = [i for i in ids if i.startswith("sp_station_")]
    assert sorted(s.removeprefix("sp_station_") for s in stations) == sorted(kb.micro_grids)
    hours = [p.opening_hours for p in points]
    assert "24h" in hours
    assert any(isinstance(h, list) and any(span["close"] == "24:00" for span in h) for h in hours)
    assert any(isinstance(h, list) and any(span["close"] < span["open"] for span in h) for h in hours)


def test_roster_covers_every_micro_grid_and_skill(kb: KnowledgeBase) -> None:
    people = kb.people
    for mid in kb.micro_grids:
        assert any(
            p.on_duty and any(r.role == "volunteer" and r.grid == mid for r in p.roles) for p in people
        ), mid
    for grid in kb.grids:
        assert any(r.role == "grid_member" and r.grid == grid.id for p in people for r in p.roles)
    assert sum(any(r.role == "committee_member" for r in p.roles) for p in people) >= 2
    assert any(r.role == "desk" for p in people for r in p.roles)
    assert all(str(p.telegram_id).startswith("9000") and len(str(p.telegram_id)) == 9 for p in people)


# --- Geometry, checked independently of the loader -------------------------------------------------------


def _shapes() -> tuple[Polygon, dict[str, Polygon], dict[str, dict[str, Polygon]], list[dict[str, Any]]]:
    data = read_yaml(KNOWLEDGE_DIR, "grids.yml")
    community = Polygon(data["community"]["polygon"])
    grids = {g["id"]: Polygon(g["polygon"]) for g in data["grids"]}
    micro = {g["id"]: {m["id"]: Polygon(m["polygon"]) for m in g["micro_grids"]} for g in data["grids"]}
    return community, grids, micro, data["landmarks"]


def test_polygons_tile_the_street_without_gaps_or_overlaps() -> None:
    community, grids, micro, _ = _shapes()
    assert community.is_valid
    assert abs(unary_union(list(grids.values())).area - community.area) <= 1e-9 * community.area
    for grid_id, grid in grids.items():
        children = list(micro[grid_id].values())
        assert abs(unary_union(children).area - grid.area) <= 1e-9 * grid.area
        for i, a in enumerate(children):
            for b in children[i + 1 :]:
                assert a.intersection(b).area <= 1e-12 * grid.area
    # Random interior points: each lies in exactly one micro-grid.
    every_micro = [shape for children in micro.values() for shape in children.values()]
    rng = random.Random(7)
    min_x, min_y, max_x, max_y = community.bounds
    tried = 0
    while tried < 400:
        p = Point(rng.uniform(min_x, max_x), rng.uniform(min_y, max_y))
        if community.contains(p):
            tried += 1
            assert sum(shape.contains(p) for shape in every_micro) == 1, p


def test_the_street_lies_in_the_red_grid() -> None:
    _, grids, micro, landmarks = _shapes()
    on_street = ("west_entrance", "zhaoguan_pagoda", "xiaomatou_street", "love_station", "east_entrance")
    for landmark in landmarks:
        if landmark["id"] in on_street:
            where = Point(landmark["location"]["lon"], landmark["location"]["lat"])
            assert grids["xijin_red"].contains(where), landmark["id"]
            assert landmark["micro_grid"] in micro["xijin_red"]
    # About 1 km east–west between the two entrances, centred near 32.21 N, 119.43 E.
    ends = {lm["id"]: lm["location"] for lm in landmarks if lm["id"] in ("west_entrance", "east_entrance")}
    metres = (ends["east_entrance"]["lon"] - ends["west_entrance"]["lon"]) * 111_320 * 0.8462
    assert 800 < metres < 1200
    centre = grids["xijin_red"].centroid
    assert abs(centre.y - 32.21) < 0.003 and abs(centre.x - 119.43) < 0.003


# --- Broken copies ---------------------------------------------------------------------------------------


def test_missing_language_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: entry(d["service_points"], "sp_toilet_3")["names"].pop("ja"),
    )
    error = _rejected(directory)
    assert "knowledge/service_points.yml: entry 'sp_toilet_3': field 'names.ja': required but missing" in str(
        error
    )


def test_missing_faq_language_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "faq.yml", lambda d: entry(d["faq"], "wifi")["answers"].update({"ko": " "}))
    assert "knowledge/faq.yml: entry 'wifi': field 'answers.ko'" in str(_rejected(directory))


def test_bad_coordinate_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: entry(d["service_points"], "sp_toilet_3")["location"].update(lat=132.2),
    )
    message = str(_rejected(directory))
    assert "knowledge/service_points.yml: entry 'sp_toilet_3': field 'location.lat'" in message
    assert "132.2" in message


def test_point_outside_the_community_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    # Swapped by a careless hand: still a valid latitude/longitude pair, but in the Yangtze.
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: entry(d["service_points"], "sp_atm_1")["location"].update(lat=32.2200),
    )
    message = str(_rejected(directory))
    assert (
        "knowledge/service_points.yml: entry 'sp_atm_1': field 'location': lies outside the community"
        in message
    )


def test_overlapping_polygons_are_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)

    def push_east(data: dict[str, Any]) -> None:
        ring = micro_grid(data, "red_2")["polygon"]
        # The two eastern vertices of red_2 (shared with red_3) move 50 m east, into red_3.
        for vertex in ring:
            if vertex[0] > 119.4298:
                vertex[0] += 0.0005

    edit_yaml(directory, "grids.yml", push_east)
    message = str(_rejected(directory))
    assert "knowledge/grids.yml: entry 'red_3': field 'polygon': overlaps micro-grid 'red_2'" in message


def test_gap_between_micro_grids_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)

    def drop_one(data: dict[str, Any]) -> None:
        red = entry(data["grids"], "xijin_red")
        red["micro_grids"] = [m for m in red["micro_grids"] if m["id"] != "red_4"]
        # Keep the rest consistent so that the gap is the problem under test.
        data["landmarks"] = [lm for lm in data["landmarks"] if lm["micro_grid"] != "red_4"]

    edit_yaml(directory, "grids.yml", drop_one)
    message = str(_rejected(directory))
    assert (
        "knowledge/grids.yml: entry 'xijin_red': field 'micro_grids': the micro-grids leave a gap" in message
    )


def test_invalid_polygon_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)

    def bowtie(data: dict[str, Any]) -> None:
        ring = micro_grid(data, "hill_2")["polygon"]
        ring[1], ring[2] = ring[2], ring[1]

    edit_yaml(directory, "grids.yml", bowtie)
    assert "entry 'hill_2': field 'polygon': not a valid polygon" in str(_rejected(directory))


def test_unclosed_ring_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "grids.yml", lambda d: micro_grid(d, "river_1")["polygon"].pop())
    assert "entry 'river_1': field 'polygon': ring is not closed" in str(_rejected(directory))


def test_unknown_landmark_reference_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: entry(d["service_points"], "sp_toilet_2").update(landmark="leaning_tower"),
    )
    message = str(_rejected(directory))
    assert (
        "knowledge/service_points.yml: entry 'sp_toilet_2': field 'landmark': "
        "unknown landmark 'leaning_tower'" in message
    )


def test_landmark_in_the_wrong_micro_grid_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory, "grids.yml", lambda d: entry(d["landmarks"], "zhaoguan_pagoda").update(micro_grid="hill_4")
    )
    assert "entry 'zhaoguan_pagoda': field 'location': lies outside its micro-grid 'hill_4'" in str(
        _rejected(directory)
    )


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: d["service_points"].append(dict(entry(d["service_points"], "sp_toilet_1"))),
    )
    message = str(_rejected(directory))
    assert (
        "knowledge/service_points.yml: entry 'sp_toilet_1': field 'id': duplicate id (also entry #" in message
    )


def test_duplicate_id_across_grid_levels_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "grids.yml", lambda d: micro_grid(d, "hill_1").update(id="xijin_hill"))
    assert "entry 'xijin_hill': field 'id': used at more than one level" in str(_rejected(directory))


@pytest.mark.parametrize(
    ("hours", "field", "words"),
    [
        (
            [{"days": ["mon"], "open": "09:00", "close": "25:00"}],
            "opening_hours[0].close",
            "not a time of day",
        ),
        ([{"days": ["mon"], "open": 540, "close": "18:00"}], "opening_hours[0].open", "quote times"),
        (
            [{"days": ["mon", "funday"], "open": "09:00", "close": "18:00"}],
            "opening_hours[0].days[1]",
            "funday",
        ),
        ([{"days": ["mon"], "open": "09:00", "close": "00:00"}], "opening_hours[0].close", "24:00"),
        ([{"days": ["mon"], "open": "09:00", "close": "09:00"}], "opening_hours[0].close", "equals open"),
        ("always", "opening_hours", "24h"),
    ],
)
def test_bad_opening_hours_are_rejected(tmp_path: Path, hours: Any, field: str, words: str) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: entry(d["service_points"], "sp_water_1").update(opening_hours=hours),
    )
    message = str(_rejected(directory))
    assert f"knowledge/service_points.yml: entry 'sp_water_1': field '{field}'" in message
    assert words in message


def test_unquoted_time_in_yaml_is_caught(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    path = directory / "service_points.yml"
    text = path.read_text(encoding="utf-8")
    # YAML 1.1 reads 17:30 unquoted as 1050; the schema must not accept it silently.
    path.write_text(text.replace("close: '17:30'", "close: 17:30", 1), encoding="utf-8")
    message = str(_rejected(directory))
    assert "field 'opening_hours[0].close'" in message and "1050" in message


def test_roster_reference_to_a_grid_level_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "roster.yml",
        lambda d: entry(d["people"], "vol_red_1")["roles"][0].update(grid="xijin_red"),
    )
    message = str(_rejected(directory))
    assert (
        "knowledge/roster.yml: entry 'vol_red_1': field 'roles[0].grid': unknown micro-grid 'xijin_red'"
        in message
    )


def test_skill_missing_in_a_grid_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)

    def no_fire_on_the_hill(data: dict[str, Any]) -> None:
        for person in data["people"]:
            if person["id"].startswith("vol_hill_"):
                person["skills"] = [s for s in person["skills"] if s != "fire"]

    edit_yaml(directory, "roster.yml", no_fire_on_the_hill)
    message = str(_rejected(directory))
    assert (
        "knowledge/categories.yml: entry 'fire': field 'skill': no on-duty volunteer in grid 'xijin_hill'"
        in message
    )


def test_micro_grid_without_volunteer_on_duty_is_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)

    def off_duty(data: dict[str, Any]) -> None:
        for person in data["people"]:
            if any(r["grid"] == "hill_3" for r in person["roles"]):
                person["on_duty"] = False

    edit_yaml(directory, "roster.yml", off_duty)
    assert "knowledge/roster.yml: micro-grid 'hill_3' has no on-duty volunteer" in str(_rejected(directory))


def test_emergency_flag_must_match_urgency(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "categories.yml", lambda d: entry(d["categories"], "fire").update(emergency=False))
    assert "knowledge/categories.yml: entry 'fire': field 'emergency'" in str(_rejected(directory))


def test_unknown_field_and_wrong_type_are_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(
        directory,
        "categories.yml",
        lambda d: entry(d["categories"], "noise").update(accept_sla_minutes="soon", colour="red"),
    )
    message = str(_rejected(directory))
    assert "entry 'noise': field 'accept_sla_minutes'" in message
    assert "entry 'noise': field 'colour': unknown field" in message


def test_all_problems_are_listed_at_once(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    edit_yaml(directory, "faq.yml", lambda d: entry(d["faq"], "food")["answers"].pop("zh-Hant"))
    edit_yaml(
        directory,
        "service_points.yml",
        lambda d: entry(d["service_points"], "sp_police_1").update(type="cops"),
    )
    error = _rejected(directory)
    assert len(error.problems) == 2
    assert str(error).startswith("2 problems in the knowledge files:")
    assert {p.entry for p in error.problems} == {"food", "sp_police_1"}


def test_missing_file_and_broken_yaml_are_rejected(tmp_path: Path) -> None:
    directory = copy_knowledge(tmp_path)
    (directory / "roster.yml").unlink()
    (directory / "faq.yml").write_text("faq: [unclosed\n", encoding="utf-8")
    message = str(_rejected(directory))
    assert "knowledge/roster.yml: file not found" in message
    assert "knowledge/faq.yml: not valid YAML" in message
