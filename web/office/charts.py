"""The dashboard's charts, drawn on the server as SVG with matplotlib: no chart script in the browser.

Labels are in the viewer's language when a font can draw it (a CJK font for Chinese, Japanese, Korean),
otherwise the grid codes, which every font draws.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on a server; set before pyplot is imported
import matplotlib.pyplot as plt

from community.servicemap.export import cjk_font
from community.tickets.metrics import Metrics

# pyplot keeps global state; the web server renders from a thread pool.
_LOCK = threading.Lock()
COLOURS = ("#b71c1c", "#ef6c00", "#2e7d32")


def _fonts(language: str) -> list[str]:
    family = cjk_font() if language in ("zh-Hans", "zh-Hant", "ja", "ko") else None
    return [family, "DejaVu Sans"] if family else ["DejaVu Sans"]


def _svg(figure: plt.Figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    plt.close(figure)
    return out.getvalue()


def grouped_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    unit: str,
    language: str,
    percent: bool = False,
) -> str:
    """One group of bars per grid, one bar per series; a missing value (no tickets) is left out."""
    with _LOCK, plt.rc_context({"font.family": _fonts(language), "svg.fonttype": "none"}):
        figure, axes = plt.subplots(figsize=(max(4.5, 1.4 * len(labels) + 2), 3.2))
        width = 0.8 / max(1, len(series))
        for index, (name, values) in enumerate(series):
            xs = [i + index * width for i, v in enumerate(values) if v is not None]
            ys = [v * (100 if percent else 1) for v in values if v is not None]
            axes.bar(xs, ys, width=width, label=name, color=COLOURS[index % len(COLOURS)])
        axes.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], list(labels))
        axes.set_ylabel(unit)
        if percent:
            axes.set_ylim(0, 100)
        axes.set_title(title)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        return _svg(figure)


def rate_chart(metrics: Metrics, labels: dict[str, str], texts: dict[str, str], language: str) -> str:
    grids = list(metrics.per_grid)
    return grouped_bars(
        [labels.get(g, g) for g in grids],
        [
            (texts["response"], [metrics.per_grid[g].response_rate for g in grids]),
            (texts["resolution"], [metrics.per_grid[g].resolution_rate for g in grids]),
            (texts["satisfaction"], [metrics.per_grid[g].satisfaction_rate for g in grids]),
        ],
        title=texts["rates_title"],
        unit="%",
        language=language,
        percent=True,
    )


def time_chart(metrics: Metrics, labels: dict[str, str], texts: dict[str, str], language: str) -> str:
    grids = list(metrics.per_grid)
    return grouped_bars(
        [labels.get(g, g) for g in grids],
        [
            (texts["accept"], [metrics.per_grid[g].mean_minutes_to_accept for g in grids]),
            (texts["resolve"], [metrics.per_grid[g].mean_minutes_to_resolve for g in grids]),
        ],
        title=texts["times_title"],
        unit=texts["minutes"],
        language=language,
    )
