"""GeoJSON export (RFC 7946) and the PNG map."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import geojson
import pytest
from matplotlib import font_manager, ft2font
from PIL import Image

from community.database import Database
from community.grids.models import Grid
from community.knowledge.loader import load
from community.servicemap import export
from community.servicemap.export import export_geojson, render_map_png
from tests.knowledge import KNOWLEDGE_DIR

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _signed_area(ring: list[list[float]]) -> float:
    # Shoelace formula; positive for counter-clockwise rings in a (lon, lat) plane.
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1] for i in range(len(ring) - 1)) / 2


def _export(db: Database) -> dict[str, Any]:
    with db.session() as session:
        return export_geojson(session)


def test_geojson_is_valid_rfc7946(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    collection = _export(db)
    # Through text and back, as a client would receive it.
    parsed = geojson.loads(json.dumps(collection, ensure_ascii=False))
    assert parsed.is_valid, parsed.errors()
    assert collection["type"] == "FeatureCollection"
    polygons = [f for f in collection["features"] if f["geometry"]["type"] == "Polygon"]
    points = [f for f in collection["features"] if f["geometry"]["type"] == "Point"]
    assert len(polygons) == 16  # the community, 3 grids, 12 micro-grids
    assert len(points) == 38 + 13  # service points and landmarks
    for feature in polygons:
        (ring,) = feature["geometry"]["coordinates"]
        assert ring[0] == ring[-1], feature["id"]
        assert len(ring) >= 4
        assert _signed_area(ring) > 0, f"{feature['id']} is not counter-clockwise"
        for lon, lat in ring:
            assert 119.4 < lon < 119.5 and 32.2 < lat < 32.22  # [lon, lat], not [lat, lon]
    for feature in points:
        lon, lat = feature["geometry"]["coordinates"]
        assert 119.4 < lon < 119.5 and 32.2 < lat < 32.22
        assert feature["properties"]["id"] == feature["id"]
        assert feature["properties"]["names"]["en"]
    red = [f["id"] for f in polygons if f["properties"]["red"] and f["properties"]["level"] == "grid"]
    assert red == ["xijin_red"]
    toilet = next(f for f in points if f["id"] == "sp_toilet_3")
    assert toilet["properties"]["type"] == "toilet" and toilet["properties"]["kind"] == "service_point"


def test_clockwise_rings_are_turned_counter_clockwise(db: Database) -> None:
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        grid = session.get(Grid, "red_2")
        assert grid is not None
        grid.polygon = list(reversed(grid.polygon))
    assert (
        _signed_area(
            next(f for f in _export(db)["features"] if f["id"] == "red_2")["geometry"]["coordinates"][0]
        )
        > 0
    )


def _check_png(path: Path) -> Image.Image:
    assert path.exists()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert 50_000 < path.stat().st_size < 5_000_000
    image = Image.open(path).convert("RGB")
    width, height = image.size
    assert width >= 1200 and height >= 800
    return image


def _has(image: Image.Image, test: Any) -> bool:
    small = image.resize((image.width // 2, image.height // 2), Image.Resampling.NEAREST)
    colours: list[tuple[int, tuple[int, int, int]]] = small.getcolors(maxcolors=1 << 20) or []  # type: ignore[assignment]
    return any(test(r, g, b) for _count, (r, g, b) in colours)


def test_png_renders_with_distinct_colours(db: Database, tmp_path: Path) -> None:
    load(db, KNOWLEDGE_DIR)
    with db.session() as session:
        path = render_map_png(session, tmp_path / "out" / "map.png")
    assert path == tmp_path / "out" / "map.png"
    image = _check_png(path)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    assert _has(image, lambda r, g, b: r > 200 and 120 < g < 190 and 120 < b < 190)  # the red grid's fill
    assert _has(image, lambda r, g, b: b > 200 and r < 230 and b - r > 15)  # a blue-ish grid
    assert _has(image, lambda r, g, b: g > r + 20 and g > b + 10)  # a green grid


def test_png_without_a_cjk_font_falls_back_to_english(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(db, KNOWLEDGE_DIR)
    monkeypatch.setattr(export, "cjk_font", lambda: None)
    with db.session() as session:
        path = render_map_png(session, tmp_path / "map_en.png")
    _check_png(path)


def test_the_cjk_font_found_has_chinese_glyphs() -> None:
    # The set-up installs fonts-noto-cjk; without it the map falls back to English (tested above).
    family = export.cjk_font()
    if family is None:
        message = "no CJK font installed (apt-get install fonts-noto-cjk; scripts/test.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must test the Chinese labels", pytrace=False)
        pytest.skip(message)
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    font = ft2font.FT2Font(path)
    assert all(font.get_char_index(ord(ch)) for ch in "西津古渡红色服务地图")
