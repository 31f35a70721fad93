"""Rendering the office's pages: Jinja2 with autoescape on, texts from community/i18n/office.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from community.i18n import CURATED_LANGUAGES, t

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def render(template: str, language: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    def text(key: str, **params: Any) -> str:
        return t(key, language, **params)

    html = _ENV.get_template(template).render(
        t=text, language=language, languages=CURATED_LANGUAGES, **context
    )
    response = HTMLResponse(html, status_code=status)
    # Staff pages: never cached by a shared proxy or kept in a shared browser's history cache.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
