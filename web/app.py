"""The ASGI application: every router wired in one place."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from community.database import Database, get_database
from community.settings import Settings, get_settings
from web.chat.routes import router as chat_router
from web.map.routes import router as map_router
from web.matters.routes import router as matters_router  # 有事好商量 (issue #17)
from web.office.routes import router as office_router
from web.open311.routes import router as open311_router
from web.projects.routes import router as projects_router  # community projects (issue #17)
from web.status.routes import router as status_router
from web.templating import install_error_pages

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Xijin Community Assistant", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.database = database or get_database()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    routers = (map_router, chat_router, status_router, office_router, open311_router)
    for router in (*routers, matters_router, projects_router):
        app.include_router(router)
    install_error_pages(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
