"""The red service map on the web: the map page (`/`, `/map`), its GeoJSON, "near me", a page per service
point with its Telegram link and the QR code for its door.

Filters are query parameters (`type`, `open=1`, `at=` an ISO time for "open at"), so every view has a link,
works without JavaScript (the list) and can be tested at a chosen time.
"""

from __future__ import annotations

import io
import math
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from community.i18n import t
from web.i18n import page_language
from web.map.data import (
    NEAR_LIMIT_MAX,
    Filters,
    make_filters,
    map_geojson,
    nearest_rows,
    point_path,
    point_row,
    point_rows,
    service_type_options,
    telegram_link,
)
from web.templating import render

router = APIRouter()

# Every query parameter is read as text and checked here, so that bad input gets the page's polite answer
# in the reader's language rather than the framework's validation error.
Text = Annotated[str | None, Query()]


def _database(request: Request) -> Any:
    return request.app.state.database


def _bad_request(request: Request, language: str) -> HTMLResponse:
    return render(request, "message.html", {"message": t("web.bad_request", language)}, status_code=400)


def _locked_down(response: HTMLResponse, tile_url: str = "") -> HTMLResponse:
    """A Content-Security-Policy for the map's pages: scripts only from our own files (so a name that slipped
    past escaping still cannot run), images from us and the configured tile server. Inline styles stay
    allowed: Leaflet positions every marker and tile with them."""
    images = "'self' data:"
    tiles = urlsplit(tile_url.replace("{s}.", "subdomain.")) if tile_url else None
    if tiles is not None and tiles.scheme in ("http", "https") and tiles.hostname:
        # Leaflet's "{s}" stands for a, b, c…: any subdomain of the tile host.
        host = tiles.netloc.replace("subdomain.", "*.", 1)
        images += f" {tiles.scheme}://{host}"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src {images}; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _coordinate(value: str | None, limit: float) -> float | None:
    """A latitude or longitude from a query string, or None when it is missing or not one."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


@router.get("/", response_class=HTMLResponse)
@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, type: Text = None, open: Text = None, at: Text = None) -> HTMLResponse:
    language = page_language(request)
    try:
        filters = make_filters(type, open, at)
    except ValueError:
        return _bad_request(request, language)
    with _database(request).session() as session:
        rows = point_rows(session, language, filters)
    query = dict(filters.query, lang=language)
    if at:
        query["at"] = at
    settings = request.app.state.settings
    page = render(
        request,
        "map/index.html",
        {
            "nav": "map",
            "filters": filters,
            "at": at or "",
            "rows": rows,
            "types": service_type_options(language),
            "geojson_url": "/map.geojson?" + urlencode(query),
            "near_url": "/map/near?" + urlencode(query),
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
        },
        language=language,
    )
    return _locked_down(page, settings.map_tile_url)


@router.get("/map.geojson")
def geojson(
    request: Request, type: Text = None, open: Text = None, at: Text = None, lang: Text = None
) -> Response:
    language = page_language(request)
    try:
        filters = make_filters(type, open, at)
    except ValueError:
        return JSONResponse({"error": t("web.bad_request", language)}, status_code=400)
    with _database(request).session() as session:
        data = map_geojson(session, language, filters)
    return JSONResponse(data, media_type="application/geo+json")


@router.get("/map/near")
def near(
    request: Request,
    lat: Text = None,
    lon: Text = None,
    type: Text = None,
    open: Text = None,
    at: Text = None,
    lang: Text = None,
    limit: Text = None,
) -> JSONResponse:
    """The nearest service points to (lat, lon) with distance and walking time, nearest first."""
    language = page_language(request)
    latitude, longitude = _coordinate(lat, 90), _coordinate(lon, 180)
    try:
        filters = make_filters(type, open, at)
        count = int(limit) if limit else 5
    except ValueError:
        filters = None
        count = 0
    if latitude is None or longitude is None or filters is None or not 1 <= count <= NEAR_LIMIT_MAX:
        return JSONResponse({"error": t("web.bad_request", language)}, status_code=400)
    with _database(request).session() as session:
        rows = nearest_rows(session, language, filters, latitude, longitude, count)
    return JSONResponse(
        {
            "points": [dict(r.as_json(), url=f"{r.as_json()['url']}?lang={language}") for r in rows],
            "none_text": t("map.nearby.none", language),
        }
    )


def _public_url(request: Request, code: str) -> str:
    return request.app.state.settings.web_public_url.rstrip("/") + point_path(code)


@router.get("/map/points/{code}", response_class=HTMLResponse)
def point_page(
    request: Request, code: str, lat: Text = None, lon: Text = None, at: Text = None
) -> HTMLResponse:
    language = page_language(request)
    try:
        filters: Filters = make_filters(None, None, at)
    except ValueError:
        return _bad_request(request, language)
    latitude, longitude = _coordinate(lat, 90), _coordinate(lon, 180)
    origin = (latitude, longitude) if latitude is not None and longitude is not None else None
    with _database(request).session() as session:
        row = point_row(session, code, language, filters.at, origin)
    if row is None:
        return render(request, "message.html", {"message": t("web.map.no_point", language)}, status_code=404)
    url = _public_url(request, row.code)
    page = render(
        request,
        "map/point.html",
        {
            "nav": "map",
            "point": row,
            "public_url": url,
            "telegram_url": telegram_link(request.app.state.settings.telegram_bot_username, row.code),
            "qr_svg": segno.make(url, error="m").svg_inline(
                scale=4, border=2, title=row.title, omitsize=True
            ),
        },
        language=language,
    )
    return _locked_down(page)


@router.get("/map/points/{code}/qr.svg")
def point_qr(request: Request, code: str) -> Response:
    """The QR code for the point's door as SVG (prints sharp at any size): its page's public URL."""
    language = page_language(request)
    with _database(request).session() as session:
        row = point_row(session, code, language, make_filters(None, None, None).at)
    if row is None:
        return Response(t("web.map.no_point", language), status_code=404, media_type="text/plain")
    svg = io.BytesIO()
    qr = segno.make(_public_url(request, row.code), error="m")
    qr.save(svg, kind="svg", scale=10, border=4, title=row.title)
    return Response(
        svg.getvalue(),
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'inline; filename="{row.code}-qr.svg"'},
    )


@router.get("/map/points/{code}/door", response_class=HTMLResponse)
def point_door(request: Request, code: str) -> HTMLResponse:
    """A printable sign for the point's door: its name and a large QR code, with a line in each language."""
    language = page_language(request)
    with _database(request).session() as session:
        rows = {
            lang: point_row(session, code, lang, make_filters(None, None, None).at)
            for lang in ("zh-Hans", "en", "ja", "ko", "zh-Hant")
        }
    if rows["en"] is None:
        return render(request, "message.html", {"message": t("web.map.no_point", language)}, status_code=404)
    url = _public_url(request, code)
    page = render(
        request,
        "map/door.html",
        {
            "rows": rows,
            "point": rows["en"],
            "public_url": url,
            "qr_svg": segno.make(url, error="q").svg_inline(
                scale=12, border=4, title=rows["en"].title, omitsize=True
            ),
        },
        language=language,
    )
    return _locked_down(page)
