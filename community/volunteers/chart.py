"""The indices as a picture: one bar chart PNG per grid (people would rather look than read).

Left: the grid's 堡垒指数 and its five parts; right: each member's 先锋指数. Drawn offline with matplotlib
on a figure of its own (no global backend); Chinese labels need a CJK font (the same search as the service
map), and without one the labels fall back to English.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from community.i18n import pick
from community.servicemap.export import _fit, cjk_font
from community.servicemap.hours import local_time
from community.volunteers.indices import GridIndex, IndexReport

# (Chinese, English) labels of the parts; the chart is read by the office, in Chinese where it can be.
FORTRESS_LABELS = {
    "response": ("响应率", "Response"),
    "resolution": ("办结率", "Resolution"),
    "satisfaction": ("满意率", "Satisfaction"),
    "vanguard": ("党员先锋", "Members"),
    "coverage": ("值班覆盖", "Duty coverage"),
}
FORTRESS_TITLE = ("堡垒指数", "Fortress index")
VANGUARD_TITLE = ("先锋指数", "Vanguard index")
RED = "#c0392b"
PART = "#e59866"
MEMBER = "#2e86c1"
MAX_MEMBERS = 25


def _text(pair: tuple[str, str], cjk: bool) -> str:
    return f"{pair[0]} {pair[1]}" if cjk else pair[1]


def _value(value: float | None) -> float:
    return 0.0 if value is None else value


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def period_label(report: IndexReport) -> str:
    """The period as days, the last one included (a month ends at the first moment of the next)."""
    last = report.end - timedelta(seconds=1)
    return f"{local_time(report.start):%Y-%m-%d} – {local_time(last):%Y-%m-%d}"


def render_grid_png(report: IndexReport, grid: GridIndex) -> bytes:
    """One grid's chart as PNG bytes."""
    family = cjk_font()
    cjk = family is not None
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    members = grid.members[:MAX_MEMBERS]
    height = max(4.5, 1.2 + 0.38 * max(len(members), 6))
    figure = Figure(figsize=(13, height), dpi=100)
    FigureCanvasAgg(figure)
    name = pick(grid.names, "zh-Hans") if cjk else pick(grid.names, "en")
    period = period_label(report)
    figure.suptitle(
        f"{name} ({grid.code}) · {_text(FORTRESS_TITLE, cjk)} {_shown(grid.index)} · {period}",
        fontsize=14,
        family=fonts,
    )
    left = figure.add_axes((0.17, 0.1, 0.3, 0.78))
    right = figure.add_axes((0.64, 0.1, 0.33, 0.78))

    labels = [_text(FORTRESS_TITLE, cjk)] + [_text(FORTRESS_LABELS[k], cjk) for k in FORTRESS_LABELS]
    values = [grid.index] + [grid.parts.get(k) for k in FORTRESS_LABELS]
    rows = list(range(len(labels)))[::-1]
    left.barh(rows, [_value(v) for v in values], color=[RED] + [PART] * len(FORTRESS_LABELS))
    for row, value in zip(rows, values, strict=True):
        left.text(_value(value) + 1.5, row, _shown(value), va="center", fontsize=10, family=fonts)
    left.set_yticks(rows, labels, family=fonts, fontsize=10)
    left.set_xlim(0, 115)
    left.set_xlabel("0–100", family=fonts)

    names = [_fit(m.name or f"#{m.person_id}", 22) for m in members]
    # Six rows at least: two members get bars as thin as twenty would, from the top down.
    slots = max(len(members), 6)
    ranks = [slots - 1 - i for i in range(len(members))]
    right.set_ylim(-0.5, slots - 0.5)
    right.barh(ranks, [_value(m.index) for m in members], color=MEMBER)
    for row, member in zip(ranks, members, strict=True):
        right.text(
            _value(member.index) + 1.5, row, _shown(member.index), va="center", fontsize=9, family=fonts
        )
    right.set_yticks(ranks, names, family=fonts, fontsize=9)
    right.set_xlim(0, 115)
    right.set_title(_text(VANGUARD_TITLE, cjk), family=fonts, fontsize=12)
    if not members:
        right.text(50, slots / 2, "—", ha="center", family=fonts)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_charts(report: IndexReport, folder: Path) -> list[Path]:
    """One PNG per grid in `folder`, named by grid and period; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    last = report.end - timedelta(seconds=1)
    stamp = f"{local_time(report.start):%Y%m%d}-{local_time(last):%Y%m%d}"
    written = []
    for grid in report.grids:
        path = folder / f"indices-{grid.code}-{stamp}.png"
        path.write_bytes(render_grid_png(report, grid))
        written.append(path)
    return written
