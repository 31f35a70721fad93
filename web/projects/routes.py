"""The public pages of community projects (便民服务联认): `/projects/` lists the published, claimed and
completed ones, `/projects/{id}` shows one with its history. No personal data: partners are named, people
never (community/projects/public.py). A project's page links to the bot (`/start pj_<id>`) to support it.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from bot.offload import run_sync
from community.database import Database
from community.i18n import t
from community.projects.public import PublicProject, public_project, public_projects
from web.i18n import page_language
from web.security import PAGE_HEADERS
from web.templating import render

router = APIRouter()
_ID = re.compile(r"^\d{1,9}$")


def _list(database: Database, language: str) -> list[PublicProject]:
    with database.session() as session:
        return public_projects(session, language)


def _one(database: Database, project_id: int, language: str) -> PublicProject | None:
    with database.session() as session:
        return public_project(session, project_id, language)


def support_link(bot_username: str, project_id: int) -> str | None:
    if not bot_username:
        return None
    return f"https://t.me/{quote(bot_username.lstrip('@'), safe='')}?start=pj_{project_id}"


@router.get("/projects/")
@router.get("/projects")
async def projects_page(request: Request) -> Response:
    language = page_language(request)
    projects = await run_sync(_list, request.app.state.database, language)
    response = render(
        request, "projects/list.html", {"projects": projects, "nav": "projects"}, language=language
    )
    response.headers.update(PAGE_HEADERS)
    return response


@router.get("/projects/{raw_id}")
async def project_page(request: Request, raw_id: str) -> Response:
    language = page_language(request)
    project = None
    if _ID.match(raw_id):
        project = await run_sync(_one, request.app.state.database, int(raw_id), language)
    if project is None:
        response = render(request, "message.html", {"message": t("web.not_found", language)}, status_code=404)
    else:
        link = support_link(request.app.state.settings.telegram_bot_username, project.id)
        context = {"project": project, "support_link": link, "nav": "projects"}
        response = render(request, "projects/project.html", context, language=language)
    response.headers.update(PAGE_HEADERS)
    return response
