"""The indices as text, for `xijin stats` and /stats, in the reader's language."""

from __future__ import annotations

from community.i18n import pick, t
from community.volunteers.chart import period_label
from community.volunteers.indices import GridIndex, IndexReport, MemberIndex


def _n(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def member_line(member: MemberIndex, language: str) -> str:
    parts = member.parts
    return t(
        "points.stats.member_line",
        language,
        name=member.name or f"#{member.person_id}",
        index=_n(member.index),
        response=_n(parts["response"]),
        resolution=_n(parts["resolution"]),
        satisfaction=_n(parts["satisfaction"]),
        points=member.points,
        hours=f"{member.figures.duty_hours:.1f}",
    )


def grid_line(grid: GridIndex, language: str) -> str:
    parts = grid.parts
    return t(
        "points.stats.grid_line",
        language,
        grid=f"{pick(grid.names, language)} ({grid.code})",
        index=_n(grid.index),
        response=_n(parts["response"]),
        resolution=_n(parts["resolution"]),
        satisfaction=_n(parts["satisfaction"]),
        vanguard=_n(parts["vanguard"]),
        coverage=_n(parts["coverage"]),
    )


def format_indices(
    report: IndexReport,
    language: str,
    grids: list[GridIndex] | None = None,
    *,
    community: bool = True,
    max_members: int | None = None,
) -> str:
    """Both indices: each grid's 堡垒指数 and its members' 先锋指数 (at most `max_members` per grid, for a
    chat message), then the community's own members."""
    lines = [t("points.stats.title", language, period=period_label(report))]
    for grid in report.grids if grids is None else grids:
        lines.append(grid_line(grid, language))
        shown = grid.members if max_members is None else grid.members[:max_members]
        lines += [member_line(m, language) for m in shown]
        if len(shown) < len(grid.members):
            lines.append(t("points.stats.more", language, n=len(grid.members) - len(shown)))
    if community and report.community:
        lines.append(t("points.stats.community", language))
        lines += [member_line(m, language) for m in report.community]
    return "\n".join(lines)
