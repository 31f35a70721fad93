"""有事好商量 on the web: the list of matters (`/matters/`), a matter's public page (`/matters/<ref>`) and the
form to raise one (`/matters/new`: CSRF, rate-limited like the web chat).

The pages show no personal data: a matter's text, where it is filed, its support count, meeting and outcome
and its history (web/matters/view.py). A web raiser is the browser's person (the web chat's signed cookie),
so the outcome waits for them in the web chat's inbox; the answer to the form is the matter's public page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from bot.offload import run_sync
from community.database import Database, utcnow
from community.grids.service import micro_grids
from community.i18n import CURATED_LANGUAGES, pick
from community.matters import notify, service
from community.matters.service import MatterError
from community.people.service import get_or_create_person
from community.tickets.thread import prepare_words
from web.chat.identity import web_user
from web.chat.routes import MESSAGE_BURST, MESSAGES_PER_MINUTE
from web.i18n import page_language
from web.matters.view import MatterView, matter_view
from web.security import PAGE_HEADERS, csrf_token, rate_limit, require_csrf
from web.templating import render

router = APIRouter()
LIMIT = Depends(rate_limit("matters", per_minute=MESSAGES_PER_MINUTE, burst=MESSAGE_BURST))
MAX_FIELD_CHARS = 4000  # longer than any field may be: the service refuses the rest politely


def _database(request: Request) -> Database:
    return request.app.state.database


def _list(database: Database, language: str) -> list[dict[str, Any]]:
    with database.session() as session:
        return [
            {
                "ref": m.ref,
                "state": m.state,
                "state_text": notify.say(f"matters.state.{m.state}", language),
                "text": notify.matter_text(m, language).split("\n")[0],
                "grid": notify.grid_name(session, m, language),
                "area": notify.area_name(session, m, language),
                "supporters": m.supporters,
                "threshold": m.threshold,
            }
            for m in service.public_matters(session)
        ]


@router.get("/matters/")
@router.get("/matters")
async def matters_page(request: Request) -> Response:
    language = page_language(request)
    rows = await run_sync(_list, _database(request), language)
    response = render(request, "matters/list.html", {"matters": rows, "nav": "matters"}, language=language)
    response.headers.update(PAGE_HEADERS)
    return response


def _grids(database: Database, language: str) -> list[tuple[str, str]]:
    with database.session() as session:
        return [(g.code, pick(g.names, language)) for g in micro_grids(session)]


async def _form(
    request: Request, error: str = "", values: dict[str, str] | None = None, status: int = 200
) -> Response:
    language = page_language(request)
    cookies = Response()
    context = {
        "nav": "matters",
        "csrf": csrf_token(request, cookies),
        "grids": await run_sync(_grids, _database(request), language),
        "error": error,
        "values": values or {},
    }
    page = render(request, "matters/new.html", context, status_code=status, language=language)
    for value in cookies.headers.getlist("set-cookie"):
        page.headers.append("set-cookie", value)
    page.headers["Cache-Control"] = "no-store"
    page.headers.update(PAGE_HEADERS)
    return page


@router.get("/matters/new")
async def new_matter_page(request: Request) -> Response:
    return await _form(request)


def _raise(
    database: Database, key: str, chat_id: str, language: str, words: dict[str, Any], grid: str, place: str
) -> str:
    with database.session() as session:
        raiser = get_or_create_person(session, key, chat_id=chat_id, language=language)
        return service.raise_matter(session, raiser, words, grid, utcnow(), place=place, channel="web").ref


@router.post("/matters/new", dependencies=[Depends(require_csrf), LIMIT])
async def new_matter(request: Request) -> Response:
    language = page_language(request)
    form = await request.form()  # read (and kept) by the CSRF check already
    values = {name: str(form.get(name) or "").strip()[:MAX_FIELD_CHARS] for name in ("text", "grid", "place")}
    try:
        text = service.check_text(values["text"])
        words = (await prepare_words(text, language, CURATED_LANGUAGES)).data()
        response = Response()
        user = web_user(request, response)
        ref = await run_sync(
            _raise,
            _database(request),
            user.key,
            user.chat_id,
            language,
            words,
            values["grid"],
            values["place"],
        )
    except MatterError as refused:
        return await _form(request, notify.say(refused.key, language, **refused.params), values, status=400)
    redirect = RedirectResponse(f"/matters/{quote(ref)}?raised=1", status_code=303)
    for value in response.headers.getlist("set-cookie"):
        redirect.headers.append("set-cookie", value)
    return redirect


def _load(database: Database, ref: str, language: str) -> MatterView | None:
    with database.session() as session:
        found = service.by_ref(session, ref)
        return matter_view(session, found, language) if found is not None else None


@router.get("/matters/{ref}")
async def matter_page(request: Request, ref: str, raised: int = 0) -> Response:
    language = page_language(request)
    view = await run_sync(_load, _database(request), ref[:16], language)
    if view is None:
        response = render(
            request, "matters/not_found.html", {"nav": "matters"}, status_code=404, language=language
        )
    else:
        settings = request.app.state.settings
        bot = getattr(settings, "telegram_bot_username", "")
        support = f"https://t.me/{bot}?start=mt_{view.ref}" if bot and view.state == "filed" else ""
        context = {"matter": view, "raised": bool(raised), "support_url": support, "nav": "matters"}
        context["page_url"] = f"{settings.web_public_url.rstrip('/')}/matters/{view.ref}"
        response = render(request, "matters/matter.html", context, language=language)
    response.headers.update(PAGE_HEADERS)
    return response
