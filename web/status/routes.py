"""The ticket status page: `/status/{ref}?t={token}`, the link the reporter got when filing.

Nothing is shown without the ticket's token: a wrong token, a missing one and an unknown ref all get the same
404 page. The token is in the URL, so the page tells browsers to send no Referer and keep no copy, and asks
search engines to stay away.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bot.offload import run_sync
from community.database import Database, utcnow
from community.tickets.status_links import ticket_by_link
from web.i18n import page_language
from web.security import PAGE_HEADERS
from web.status.view import StatusView, status_view
from web.templating import render

router = APIRouter()

PRIVATE_HEADERS = {
    **PAGE_HEADERS,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _load(database: Database, ref: str, token: str | None, language: str) -> StatusView | None:
    with database.session() as session:
        ticket = ticket_by_link(session, ref.strip().upper(), token)
        if ticket is None:
            return None
        return status_view(session, ticket, language, utcnow())


@router.get("/status/{ref}")
async def status_page(request: Request, ref: str, t: str | None = None) -> Response:
    language = page_language(request)
    view = await run_sync(_load, request.app.state.database, ref, t, language)
    if view is None:
        # Nothing of the request is echoed (its language links keep no path or query): every refusal reads
        # the same, whatever ref and token were tried.
        unlinked = {"lang_url": lambda code: f"?lang={code}"}
        response = render(request, "status/not_found.html", unlinked, status_code=404, language=language)
    else:
        response = render(request, "status/status.html", {"ticket": view}, language=language)
    response.headers.update(PRIVATE_HEADERS)
    return response
