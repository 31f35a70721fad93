"""The office dashboard at /office/: a one-time login link from the bot's /dashboard, then one page with the
open, overdue and escalated tickets per grid (map and list), the rates and mean times per grid over a chosen
period (server-drawn SVG charts), the volunteers on duty and a CSV export — each within the viewer's scope
(community/office/scope.py), read from their roles in the database on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from community.database import Database, utcnow
from community.i18n import t
from community.office.board import board, export_csv, metrics_in_scope, visible_grids, volunteers_on_duty
from community.office.login import login_is_pending, redeem_login
from community.office.scope import Scope, scope_of
from community.people.models import Person
from community.servicemap.export import cjk_font
from community.servicemap.hours import local_time
from web.i18n import page_language
from web.office import charts
from web.office.session import COOKIE, SESSION_SECONDS, make_cookie, read_cookie
from web.security import PAGE_HEADERS, csrf_token, rate_limit, require_csrf, secure_cookies
from web.templating import render

router = APIRouter(prefix="/office")

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
# Login and logout POSTs per client address: a person logs in a few times a day.
LOGIN_LIMIT = Depends(rate_limit("office-login", per_minute=10, burst=5))


def _database(request: Request) -> Database:
    return request.app.state.database


def _page(
    request: Request, name: str, context: dict[str, Any], *, status: int = 200, language: str | None = None
) -> HTMLResponse:
    """A page of the office: the shared layout, a CSRF token for its forms, never cached."""
    cookies = Response()
    values = {"nav": "office", "csrf": csrf_token(request, cookies), **context}
    page = render(request, name, values, status_code=status, language=language)
    for value in cookies.headers.getlist("set-cookie"):
        page.headers.append("set-cookie", value)
    page.headers["Cache-Control"] = "no-store"
    page.headers["Referrer-Policy"] = "same-origin"
    page.headers.update(PAGE_HEADERS)
    return page


@dataclass
class Viewer:
    person_id: int
    name: str
    language: str
    scope: Scope


@dataclass
class NotStaff:
    """A valid session of someone who is not (or no longer) staff."""


def _viewer(request: Request) -> Viewer | NotStaff | None:
    """The logged-in staff member; None without a valid session; NotStaff for a resident or tourist."""
    session_ = read_cookie(request)
    if session_ is None:
        return None
    with _database(request).session() as session:
        person = session.get(Person, session_.person_id)
        if person is None:
            return None
        if not person.is_staff:
            return NotStaff()
        return Viewer(
            person.id,
            person.display_name or f"#{person.id}",
            page_language(request),
            scope_of(session, person),
        )


def _refusal(request: Request, viewer: NotStaff | None) -> HTMLResponse:
    if viewer is None:
        return _page(request, "office/refused.html", {"reason": "office.login_needed"}, status=401)
    return _page(request, "office/refused.html", {"reason": "office.staff_only"}, status=403)


# --- logging in ------------------------------------------------------------------------------------------


@router.get("/login/{token}", response_class=HTMLResponse)
async def login_page(request: Request, token: str) -> HTMLResponse:
    """A page with a button: a GET never spends the link, so a link preview cannot use it up."""

    def pending() -> bool:
        with _database(request).session() as session:
            return login_is_pending(session, token, utcnow())

    if not await run_in_threadpool(pending):
        return _page(request, "office/refused.html", {"reason": "office.link_spent"}, status=410)
    return _page(request, "office/login.html", {"token": token})


@router.post("/login/{token}", dependencies=[Depends(require_csrf), LOGIN_LIMIT])
async def login(request: Request, token: str) -> Response:
    def redeem() -> tuple[int, bool] | None:
        with _database(request).session() as session:
            person = redeem_login(session, token, utcnow())
            return (person.id, person.is_staff) if person else None

    redeemed = await run_in_threadpool(redeem)
    if redeemed is None:
        return _page(request, "office/refused.html", {"reason": "office.link_spent"}, status=410)
    person_id, is_staff = redeemed
    if not is_staff:  # no longer staff since the link was sent
        return _page(request, "office/refused.html", {"reason": "office.staff_only"}, status=403)
    response = RedirectResponse("/office/", status_code=303)
    response.set_cookie(
        COOKIE,
        make_cookie(request, person_id),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/office",
    )
    return response


@router.post("/logout", dependencies=[Depends(require_csrf), LOGIN_LIMIT])
async def logout(request: Request) -> Response:
    response = RedirectResponse("/office/", status_code=303)
    response.delete_cookie(COOKIE, path="/office")
    return response


# --- the dashboard ---------------------------------------------------------------------------------------


def _period(request: Request) -> tuple[int, datetime, datetime]:
    raw = request.query_params.get("days", "")
    days = int(raw) if raw.isdigit() and int(raw) in PERIODS else DEFAULT_DAYS
    end = utcnow()
    return days, end - timedelta(days=days), end


def _chart_texts(language: str) -> dict[str, str]:
    keys = (
        "response",
        "resolution",
        "satisfaction",
        "rates_title",
        "accept",
        "resolve",
        "times_title",
        "minutes",
    )
    return {k: t(f"office.chart.{k}", language) for k in keys}


def _chart_labels(session: Session, viewer: Viewer) -> dict[str, str]:
    """Grid names where the chart font can measure them (Latin always, CJK with a CJK font), else codes."""
    drawable = viewer.language == "en" or cjk_font() is not None
    return {
        g.code: (g.names.get(viewer.language) if drawable else None) or g.code
        for g in visible_grids(session, viewer.scope)
    }


def _dashboard(request: Request, viewer: Viewer) -> dict[str, Any]:
    days, start, end = _period(request)
    with _database(request).session() as session:
        now = utcnow()
        shown = board(session, viewer.scope, now, viewer.language)
        metrics = metrics_in_scope(session, viewer.scope, start, end)
        volunteers = volunteers_on_duty(session, viewer.scope)
        labels = _chart_labels(session, viewer)
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": g.code,
                    "name": g.name,
                    "level": g.level,
                    "open": g.open,
                    "overdue": g.overdue,
                    "escalated": g.escalated,
                },
                "geometry": {"type": "Polygon", "coordinates": [g.polygon]},
            }
            for g in shown.grids
            if g.polygon
        ],
    }
    # The scope by name: a grid member's grid (its micro-grids go without saying), a volunteer's micro-grids.
    scope_names = [
        g.name
        for g in shown.grids
        if g.code in viewer.scope.grids
        or (g.code in viewer.scope.micro_grids and g.parent_code not in viewer.scope.grids)
    ]
    return {
        "viewer": viewer,
        "scope_names": scope_names,
        "board": shown,
        "geo": geo,
        "metrics": metrics,
        "labels": labels,
        "has_rates": bool(metrics.per_grid),
        "volunteers": volunteers,
        "days": days,
        "periods": PERIODS,
        "start": local_time(start),
        "end": local_time(end),
        "pct": lambda r: "—" if r is None else f"{r * 100:.0f}%",
        "mins": lambda m: "—" if m is None else f"{m:.0f}",
    }


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    viewer = await run_in_threadpool(_viewer, request)
    if not isinstance(viewer, Viewer):
        return _refusal(request, viewer)
    context = await run_in_threadpool(_dashboard, request, viewer)
    return _page(request, "office/dashboard.html", context)


CHARTS = {"rates": charts.rate_chart, "times": charts.time_chart}


@router.get("/charts/{kind}.svg")
async def chart(request: Request, kind: str) -> Response:
    """A chart of the rates or the mean times per grid, as an SVG picture (an image of its own: the page's
    Content-Security-Policy allows no inline styles, and matplotlib's SVG is full of them)."""
    draw = CHARTS.get(kind)
    if draw is None:
        return Response(status_code=404)
    viewer = await run_in_threadpool(_viewer, request)
    if not isinstance(viewer, Viewer):
        return Response(status_code=401 if viewer is None else 403)
    _days, start, end = _period(request)

    def render_chart() -> str:
        with _database(request).session() as session:
            metrics = metrics_in_scope(session, viewer.scope, start, end)
            labels = _chart_labels(session, viewer)
        return draw(metrics, labels, _chart_texts(viewer.language), viewer.language)

    svg = await run_in_threadpool(render_chart)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/export.csv")
async def export(request: Request) -> Response:
    viewer = await run_in_threadpool(_viewer, request)
    if not isinstance(viewer, Viewer):
        return _refusal(request, viewer)
    days, start, end = _period(request)

    def write() -> str:
        with _database(request).session() as session:
            return export_csv(session, viewer.scope, start, end, utcnow())

    body = await run_in_threadpool(write)
    name = f"xijin-tickets-{local_time(end):%Y%m%d}-{days}d.csv"
    return Response(
        "\ufeff" + body,  # a BOM, so that spreadsheet programs read the Chinese as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
