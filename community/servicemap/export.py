"""The red service map as data (GeoJSON, RFC 7946) and as a picture (PNG, drawn offline with matplotlib)."""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patches import Polygon as PolygonPatch
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points
from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel, Landmark
from community.i18n import pick, t
from community.servicemap.models import ServicePoint

TITLE_CJK = "西津古渡 红色服务地图 / Xijin Red Service Map"
TITLE_LATIN = "Xijin Red Service Map"

# Marker and colour per service type: shapes differ too, so the legend still works in greyscale print.
POINT_STYLE: dict[str, tuple[str, str]] = {
    "toilet": ("s", "#1f77b4"),
    "first_aid": ("P", "#d62728"),
    "charging": ("^", "#ff7f0e"),
    "luggage": ("D", "#8c564b"),
    "drinking_water": ("v", "#17becf"),
    "guide": ("*", "#9467bd"),
    "volunteer_station": ("o", "#c0392b"),
    "police": ("p", "#2c3e50"),
    "atm": ("h", "#2ca02c"),
    "lost_and_found": ("X", "#7f7f7f"),
    "service_point": ("o", "#e377c2"),
}
RED_FILL = "#e74c3c"
GRID_FILLS = ("#6fa8dc", "#93c47d", "#f6b26b", "#b4a7d6", "#ffd966")

# Fonts known to cover Simplified Chinese (and in Noto's case kana and Hangul too), best first.
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Serif CJK SC",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)


# --- GeoJSON ------------------------------------------------------------------------------------------------


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(ring)) / 2


def _ccw_ring(ring: list[list[float]]) -> list[list[float]]:
    """RFC 7946 §3.1.6: exterior rings counter-clockwise; closed (first = last)."""
    ring = [[float(x), float(y)] for x, y in ring]
    if ring[0] != ring[-1]:
        ring.append(list(ring[0]))
    return ring if _signed_area(ring) > 0 else list(reversed(ring))


def export_geojson(session: Session) -> dict[str, Any]:
    """Active grids (Polygons), landmarks and service points (Points), coordinates [lon, lat]."""
    features: list[dict[str, Any]] = []
    grids = session.scalars(select(Grid).where(Grid.active.is_(True)).order_by(Grid.code)).all()
    level_order = {GridLevel.COMMUNITY: 0, GridLevel.GRID: 1, GridLevel.MICRO_GRID: 2}
    for grid in sorted(grids, key=lambda g: (level_order.get(GridLevel(g.level), 9), g.code)):
        features.append(
            {
                "type": "Feature",
                "id": grid.code,
                "geometry": {"type": "Polygon", "coordinates": [_ccw_ring(grid.polygon)]},
                "properties": {
                    "id": grid.code,
                    "kind": "grid",
                    "level": grid.level,
                    "parent": grid.parent_code,
                    "red": grid.red,
                    "name": grid.names.get("zh-Hans", ""),
                    "names": grid.names,
                },
            }
        )
    for landmark in session.scalars(
        select(Landmark).where(Landmark.active.is_(True)).order_by(Landmark.code)
    ):
        features.append(
            {
                "type": "Feature",
                "id": landmark.code,
                "geometry": {"type": "Point", "coordinates": [landmark.lon, landmark.lat]},
                "properties": {
                    "id": landmark.code,
                    "kind": "landmark",
                    "micro_grid": landmark.grid_code,
                    "name": landmark.names.get("zh-Hans", ""),
                    "names": landmark.names,
                    "aliases": landmark.aliases,
                },
            }
        )
    query = select(ServicePoint).where(ServicePoint.active.is_(True)).order_by(ServicePoint.code)
    for point in session.scalars(query):
        features.append(
            {
                "type": "Feature",
                "id": point.code,
                "geometry": {"type": "Point", "coordinates": [point.lon, point.lat]},
                "properties": {
                    "id": point.code,
                    "kind": "service_point",
                    "type": point.type,
                    "name": point.names.get("zh-Hans", ""),
                    "names": point.names,
                    "address": point.address,
                    "opening_hours": point.opening_hours,
                    "services": point.services,
                    "languages": point.languages,
                    "landmark": point.landmark_code,
                    "sample": point.sample,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- PNG ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed CJK font, or None. Asks fontconfig as well, because matplotlib's
    font cache may predate the font's installation (e.g. fonts-noto-cjk installed after first use)."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in known:
            return family
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # Regular faces first: a family known to matplotlib only in bold makes it warn at every label.
    for line in sorted(listing.splitlines(), key=lambda line: ("Regular" not in line, line)):
        path = line.split(":", 1)[0].strip()
        if not path:
            continue
        try:
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
    return None


def _label(names: dict[str, str], cjk: bool, width: int = 40) -> str:
    return _fit(pick(names, "zh-Hans") if cjk else pick(names, "en"), width)


def _fit(text: str, width: int) -> str:
    """Cut to `width` columns (CJK characters count two) with an ellipsis: English names are long, and a
    label that runs into its neighbour helps nobody."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used > width:
            return text[: max(index - 1, 1)].rstrip(" (–-") + "…"
    return text


def render_map_png(session: Session, path: Path) -> Path:
    """Draw grids (the red grid red), micro-grid ids, landmarks and numbered service points, with an index
    and a legend. Falls back to English labels when no CJK font is installed."""
    path = Path(path)
    family = cjk_font()
    cjk = family is not None
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    language = "zh-Hans" if cjk else "en"

    grids = session.scalars(select(Grid).where(Grid.active.is_(True)).order_by(Grid.code)).all()
    landmarks = session.scalars(
        select(Landmark).where(Landmark.active.is_(True)).order_by(Landmark.code)
    ).all()
    points = session.scalars(
        select(ServicePoint)
        .where(ServicePoint.active.is_(True))
        .order_by(ServicePoint.type, ServicePoint.code)
    ).all()

    figure = Figure(figsize=(17, 10.5), dpi=110)
    FigureCanvasAgg(figure)  # Agg attached to this figure only: no global backend, no display needed
    ax = figure.add_axes((0.03, 0.07, 0.66, 0.84))
    index_ax = figure.add_axes((0.71, 0.07, 0.28, 0.84))
    index_ax.axis("off")

    top = [g for g in grids if g.level == GridLevel.GRID]
    micro = [g for g in grids if g.level == GridLevel.MICRO_GRID]
    community = [g for g in grids if g.level == GridLevel.COMMUNITY]
    fill_of: dict[str, str] = {}
    others = iter(GRID_FILLS * 10)
    for grid in top:
        fill_of[grid.code] = RED_FILL if grid.red else next(others)
        ax.add_patch(
            PolygonPatch(
                grid.polygon, closed=True, facecolor=fill_of[grid.code], alpha=0.45 if grid.red else 0.3, lw=0
            )
        )
    for grid in micro:
        ax.add_patch(
            PolygonPatch(grid.polygon, closed=True, fill=False, edgecolor="#555555", lw=0.8, linestyle="--")
        )
        # The id goes in the lower-right corner of the cell: the centre is where the street and points are.
        cell = Polygon(grid.polygon)
        min_x, min_y, max_x, max_y = cell.bounds
        anchor = Point(max_x - (max_x - min_x) * 0.06, min_y + (max_y - min_y) * 0.1)
        inner = cell.buffer(-min(max_x - min_x, max_y - min_y) * 0.08)
        if not inner.is_empty and not inner.contains(anchor):
            anchor = nearest_points(inner, anchor)[0]  # slanted edges: pull the corner back inside
        ax.text(
            anchor.x,
            anchor.y,
            grid.code,
            fontsize=8,
            color="#333333",
            ha="right",
            va="bottom",
            family=fonts,
            alpha=0.85,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.6},
            zorder=2,
        )
    for grid in top:
        ax.add_patch(
            PolygonPatch(
                grid.polygon,
                closed=True,
                fill=False,
                edgecolor="#b71c1c" if grid.red else "#37474f",
                lw=2.2 if grid.red else 1.4,
            )
        )
    for grid in community:
        ax.add_patch(PolygonPatch(grid.polygon, closed=True, fill=False, edgecolor="black", lw=2.6))

    # Grid names at the outer (west) edge of each band, out of the way of the points.
    for grid in top:
        shape = Polygon(grid.polygon)
        min_x, min_y, _max_x, max_y = shape.bounds
        ax.text(
            min_x + 0.00012,
            (min_y + max_y) / 2,
            _label(grid.names, cjk, 20),
            fontsize=10,
            fontweight="bold",
            color="#7f0000" if grid.red else "#263238",
            ha="left",
            va="center",
            family=fonts,
            rotation=90,
            zorder=2,
        )

    for landmark in landmarks:
        ax.plot(landmark.lon, landmark.lat, marker="^", ms=5, color="black", zorder=4)
        ax.annotate(
            _label(landmark.names, cjk, 24),
            (landmark.lon, landmark.lat),
            xytext=(4, -9),
            textcoords="offset points",
            fontsize=8,
            style="italic",
            color="#111111",
            family=fonts,
            zorder=5,
        )

    index_lines: list[tuple[str, str, str]] = []
    for number, point in enumerate(points, start=1):
        marker, colour = POINT_STYLE.get(point.type, ("o", "black"))
        ax.plot(
            point.lon,
            point.lat,
            marker=marker,
            ms=9,
            color=colour,
            markeredgecolor="white",
            mew=0.8,
            zorder=6,
        )
        ax.annotate(
            str(number),
            (point.lon, point.lat),
            xytext=(5, 4),
            textcoords="offset points",
            fontsize=7,
            fontweight="bold",
            color=colour,
            family=fonts,
            zorder=7,
        )
        index_lines.append((str(number), _label(point.names, cjk, 36), point.type))

    # Keep east–west distances true: one degree of longitude is cos(latitude) of one of latitude.
    lats = [y for g in grids for _, y in g.polygon] or [p.lat for p in points] or [32.21]
    ax.set_aspect(1 / math.cos(math.radians(sum(lats) / len(lats))))
    ax.autoscale_view()
    ax.margins(0.05)
    ax.tick_params(labelsize=7)
    ax.set_xlabel("longitude", fontsize=8)
    ax.set_ylabel("latitude", fontsize=8)
    ax.ticklabel_format(useOffset=False)
    _scale_bar(ax, fonts)

    # Numbered index of the service points, two columns so that every name fits.
    rows_per_column = math.ceil(len(index_lines) / 2) if index_lines else 1
    index_ax.set_xlim(0, 2)
    index_ax.set_ylim(rows_per_column + 1, 0)
    index_ax.text(
        0, 0, t("map.legend.points", language), fontsize=10, fontweight="bold", family=fonts, va="top"
    )
    for i, (label, name, type_) in enumerate(index_lines):
        column, row = divmod(i, rows_per_column)
        colour = _darker(POINT_STYLE.get(type_, ("o", "black"))[1])
        index_ax.text(
            column, row + 1, f"{label:>2}  {name}", fontsize=7.5, color=colour, family=fonts, va="top"
        )

    handles: list[Any] = [
        Patch(facecolor=RED_FILL, alpha=0.45, edgecolor="#b71c1c", label=_legend("map.legend.red_grid", cjk)),
        Patch(facecolor=GRID_FILLS[0], alpha=0.3, edgecolor="#37474f", label=_legend("map.legend.grid", cjk)),
        Line2D([], [], color="#555555", linestyle="--", label=_legend("map.legend.micro_grid", cjk)),
        Line2D([], [], marker="^", color="black", linestyle="", label=_legend("map.legend.landmark", cjk)),
    ]
    for type_ in sorted({p.type for p in points}):
        marker, colour = POINT_STYLE.get(type_, ("o", "black"))
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                color=colour,
                linestyle="",
                ms=8,
                label=_legend(f"map.type.{type_}", cjk),
            )
        )
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0, -0.06),
        ncol=8,
        fontsize=7.5,
        frameon=False,
        prop={"family": fonts, "size": 7.5},
    )
    figure.suptitle(TITLE_CJK if cjk else TITLE_LATIN, fontsize=16, fontweight="bold", family=fonts, y=0.97)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", facecolor="white")
    return path


def _darker(colour: str, factor: float = 0.75) -> str:
    """The same hue, darker: pale marker colours are hard to read as text on white."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(round(v * factor) for v in (r, g, b)))


def _legend(key: str, cjk: bool) -> str:
    # Bilingual where the font allows: staff read Chinese, visitors English.
    return f"{t(key, 'zh-Hans')} {t(key, 'en')}" if cjk else t(key, "en")


def _scale_bar(ax: Any, fonts: list[str]) -> None:
    """A 200 m bar in the lower-right corner; the map has no tiles, so distances need a reference."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lat = (y0 + y1) / 2
    length_deg = 200 / (111_320 * math.cos(math.radians(lat)))
    start = x1 - (x1 - x0) * 0.04 - length_deg
    y = y0 + (y1 - y0) * 0.04
    ax.plot([start, start + length_deg], [y, y], color="black", lw=3, solid_capstyle="butt", zorder=8)
    ax.text(start + length_deg / 2, y + (y1 - y0) * 0.012, "200 m", ha="center", fontsize=8, family=fonts)
    # North arrow in the top-left corner, where the community's outline leaves the frame empty.
    ax.annotate(
        "N",
        xy=(x0 + (x1 - x0) * 0.015, y1 - (y1 - y0) * 0.015),
        xytext=(x0 + (x1 - x0) * 0.015, y1 - (y1 - y0) * 0.09),
        arrowprops={"arrowstyle": "-|>", "color": "black"},
        ha="center",
        fontsize=10,
        family=fonts,
    )
