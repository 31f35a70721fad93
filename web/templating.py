"""Jinja2 templates (web/templates) with autoescaping, and `render`, which every page uses: it picks the page
language and gives each template what the base layout needs.

In a template: `{{ _("web.nav.map") }}` is a catalogue text in the page language (`_("key", n=3)` with
placeholders), `t(key, language)` the catalogue itself, `pick(names)` a knowledge-base name in the page
language, `lang` the language, `lang_url(code)` this page in another language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException

from community.i18n import CURATED_LANGUAGES, LANGUAGE_NAMES, pick, t
from web.i18n import page_language, remember_language

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Autoescape everywhere (not only for *.html): every value a template prints is escaped unless marked safe.
# StrictUndefined: a misspelt variable is an error in the tests, not an empty string on a public page.
_environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True, undefined=StrictUndefined
)
_environment.globals.update(t=t, pick=pick, LANGUAGES=CURATED_LANGUAGES, LANGUAGE_NAMES=LANGUAGE_NAMES)
templates = Jinja2Templates(env=_environment)


def language_url(request: Request, language: str) -> str:
    """This page's path and query with `lang` set to `language`."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    params.append(("lang", language))
    query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params)
    return f"{request.url.path}?{query}"


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    language: str | None = None,
) -> HTMLResponse:
    """The template `name` in the page language, which a `?lang=` choice also remembers in a cookie."""
    lang = language or page_language(request)
    values: dict[str, Any] = {
        "lang": lang,
        "_": lambda key, /, **params: t(key, lang, **params),
        "lang_url": lambda code: language_url(request, code),
        "settings": request.app.state.settings,
        "nav": "",  # which entry of the top navigation is this page: "map", "chat" or "office"
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    remember_language(request, response, lang)
    response.headers.setdefault("Content-Language", lang)
    return response


def install_error_pages(app: FastAPI) -> None:
    """A page nobody has (a mistyped or stale link) gets a short page in the reader's language, not the
    framework's JSON. Machine interfaces keep JSON: Open311 under /open311, and whoever asks for JSON."""

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        wants_json = "json" in request.headers.get("accept", "") or request.url.path.startswith("/open311")
        if exc.status_code != 404 or wants_json:
            return await http_exception_handler(request, exc)
        language = page_language(request)
        return render(request, "message.html", {"message": t("web.not_found", language)}, status_code=404)
