"""The web side of 有事好商量 over HTTP (the ASGI app in process), on SQLite and PostgreSQL: the form needs
its CSRF token, refuses bad input politely in the page's language, is rate-limited like the web chat, and
answers a raised matter with its public page; an unknown matter is a 404."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from community.database import Database
from community.language.service import set_translator
from community.language.translate import NullTranslator
from community.matters.models import Matter
from community.people.models import Person
from community.settings import Settings
from tests.matters.support import GRID, load_world
from web.app import create_app
from web.chat.routes import MESSAGE_BURST


@pytest.fixture
async def web(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    load_world(db)
    set_translator(NullTranslator())
    settings = Settings(
        _env_file=None, database_url=db.url, translation_backend="null", xijin_channel_secret="s" * 32
    )  # type: ignore[call-arg]
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://matters.test") as client:
        yield client
    set_translator(None)


async def token(web: httpx.AsyncClient, lang: str = "en") -> str:
    page = await web.get(f"/matters/new?lang={lang}")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found[1]


async def test_a_matter_raised_on_the_web_answers_with_its_public_page_and_no_one_is_named(
    web: httpx.AsyncClient, db: Database
) -> None:
    form = {"csrf_token": await token(web), "text": "The bins by the west gate smell in summer", "grid": GRID}
    answer = await web.post("/matters/new?lang=en", data=form | {"place": "west gate"})
    assert answer.status_code == 303
    with db.session() as session:
        matter = session.scalars(select(Matter)).one()
        raiser = session.get(Person, matter.raiser_id)
        assert raiser is not None and raiser.external_key.startswith("web:")
        assert (matter.channel, matter.place, matter.grid_code) == ("web", "west gate", GRID)
    assert answer.headers["location"] == f"/matters/{matter.ref}?raised=1"
    page = await web.get(answer.headers["location"] + "&lang=en")
    assert f"Your matter is {matter.ref}" in page.text
    assert f"/matters/{matter.ref}" in page.text
    assert raiser.external_key.removeprefix("web:") not in page.text
    listing = await web.get("/matters/?lang=en")
    assert matter.ref in listing.text and "The bins by the west gate" in listing.text


async def test_the_form_without_its_csrf_token_is_refused(web: httpx.AsyncClient, db: Database) -> None:
    await token(web)
    answer = await web.post("/matters/new", data={"text": "A matter without a token", "grid": GRID})
    assert answer.status_code == 403
    with db.session() as session:
        assert session.scalars(select(Matter)).first() is None


async def test_bad_input_gets_the_form_again_with_a_polite_answer_in_the_page_language(
    web: httpx.AsyncClient, db: Database
) -> None:
    csrf = await token(web, "ja")
    short = await web.post("/matters/new?lang=ja", data={"csrf_token": csrf, "text": "臭い", "grid": GRID})
    assert short.status_code == 400 and "もう少し詳しく書いてください" in short.text
    nowhere = {"csrf_token": csrf, "text": "街灯が暗すぎて夜道が危ない", "grid": "atlantis"}
    wrong_grid = await web.post("/matters/new?lang=ja", data=nowhere)
    assert wrong_grid.status_code == 400 and "マイクログリッドを選んでください" in wrong_grid.text
    assert "街灯が暗すぎて夜道が危ない" in wrong_grid.text  # what was typed is kept
    with db.session() as session:
        assert session.scalars(select(Matter)).first() is None


async def test_the_form_is_rate_limited_like_the_web_chat(web: httpx.AsyncClient) -> None:
    csrf = await token(web)
    codes = [
        (await web.post("/matters/new", data={"csrf_token": csrf, "text": "x", "grid": GRID})).status_code
        for _ in range(MESSAGE_BURST + 1)
    ]
    assert codes[:MESSAGE_BURST] == [400] * MESSAGE_BURST
    assert codes[-1] == 429


async def test_an_unknown_matter_is_a_404(web: httpx.AsyncClient) -> None:
    assert (await web.get("/matters/mzzzzzz")).status_code == 404
