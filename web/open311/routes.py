"""Open311 GeoReport v2 at /open311/v2/: services, service definitions, requests (GET and POST), one request.

Only POST needs an API key (made with `xijin open311 key add`). Its body is refused with 413 from the
Content-Length header, or as soon as more than MAX_BODY_BYTES have arrived, before the rest is read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from community.database import Database, utcnow
from community.i18n import is_curated, t
from community.language import normalise_code
from community.language.service import to_chinese_for_staff
from community.open311 import keys
from community.open311.requests import (
    NewRequest,
    Open311Error,
    file_request,
    get_request,
    search_requests,
    service_definition,
    services,
)
from community.settings import Settings
from community.tickets.notify import local_time
from community.tickets.status_links import status_link
from web.open311.render import answer, error
from web.security import client_key, security_of

router = APIRouter(prefix="/open311/v2")

FORMATS = ("json", "xml")
# A form of a few fields: 64 KB is far above any honest request (media are URLs in GeoReport v2).
MAX_BODY_BYTES = 64 * 1024
# Filings a minute (and at once) per client address and per API key: a city hotline forwarding its calls
# files a few a minute; a runaway client is stopped long before it floods the volunteers.
POSTS_PER_MINUTE = 20
POSTS_BURST = 10


def _database(request: Request) -> Database:
    return request.app.state.database


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _language(request: Request) -> str:
    """From `locale` (an Open311 extension) or Accept-Language; English when neither is ours."""
    wanted = request.query_params.get("locale") or request.headers.get("accept-language", "")
    for part in wanted.split(","):
        code = normalise_code(part.split(";")[0]) if part.strip() else ""
        if code and is_curated(code):
            return code
    return "en"


def _format(fmt: str) -> str | None:
    return fmt.lower() if fmt.lower() in FORMATS else None


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    form = _format(fmt)
    if form is None:
        return error("json", 404, f"format {fmt} not supported: use json or xml")
    base = _settings(request).web_public_url.rstrip("/") + "/open311/v2"
    value = {
        "changeset": "2026-12-05T00:00:00Z",
        "contact": "Xijin Ancient Ferry community desk",
        "key_service": "API keys from the community desk",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-12-05T00:00:00Z",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return answer(form, "discovery", value)


@router.get("/services.{fmt}")
async def list_services(request: Request, fmt: str) -> Response:
    form = _format(fmt)
    if form is None:
        return error("json", 404, f"format {fmt} not supported: use json or xml")

    def read() -> list[dict[str, Any]]:
        with _database(request).session() as session:
            return services(session, _language(request))

    return answer(form, "services", await run_in_threadpool(read))


@router.get("/services/{code}.{fmt}")
async def get_service(request: Request, code: str, fmt: str) -> Response:
    form = _format(fmt)
    if form is None:
        return error("json", 404, f"format {fmt} not supported: use json or xml")

    def read() -> dict[str, Any]:
        with _database(request).session() as session:
            return service_definition(session, code, _language(request))

    try:
        return answer(form, "service_definition", await run_in_threadpool(read))
    except Open311Error as exc:
        return error(form, exc.status, exc.description)


@router.get("/requests.{fmt}")
async def list_requests(request: Request, fmt: str) -> Response:
    form = _format(fmt)
    if form is None:
        return error("json", 404, f"format {fmt} not supported: use json or xml")
    q = request.query_params

    def read() -> list[dict[str, Any]]:
        with _database(request).session() as session:
            return search_requests(
                session,
                now=utcnow(),
                language=_language(request),
                service_request_id=q.get("service_request_id"),
                service_code=q.get("service_code"),
                start_date=q.get("start_date"),
                end_date=q.get("end_date"),
                status=q.get("status"),
            )

    try:
        return answer(form, "service_requests", await run_in_threadpool(read))
    except Open311Error as exc:
        return error(form, exc.status, exc.description)


@router.get("/requests/{request_id}.{fmt}")
async def one_request(request: Request, request_id: str, fmt: str) -> Response:
    form = _format(fmt)
    if form is None:
        return error("json", 404, f"format {fmt} not supported: use json or xml")

    def read() -> dict[str, Any]:
        with _database(request).session() as session:
            return get_request(session, request_id, _language(request))

    try:
        return answer(form, "service_requests", [await run_in_threadpool(read)])
    except Open311Error as exc:
        return error(form, exc.status, exc.description)


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    """The body, refused (BodyTooLarge) from its declared length or once more than the limit has arrived."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge
    return bytes(body)


def _form(body: bytes, query: dict[str, str]) -> dict[str, str]:
    fields = dict(query)
    for key, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields[key] = value
    return fields


def _new_request(fields: dict[str, str]) -> NewRequest:
    given = {name: fields.get(name, "") for name in NewRequest.__dataclass_fields__ if name != "landmark"}
    return NewRequest(**given, landmark=fields.get("attribute[landmark]", ""))


@router.post("/requests.{fmt}")
async def post_request(request: Request, fmt: str) -> Response:
    form = _format(fmt)
    if form is None:
        return error("json", 404, f"format {fmt} not supported: use json or xml")
    try:
        body = await _read_body(request)
    except BodyTooLarge:
        response = error(form, 413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        response.headers["Connection"] = "close"
        return response
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type not in ("application/x-www-form-urlencoded", ""):
        return error(form, 400, "send the fields as application/x-www-form-urlencoded, as GeoReport v2 says")
    fields = _form(body, dict(request.query_params))
    limits = security_of(request)
    if wait := limits.limiter("open311-address", POSTS_PER_MINUTE, POSTS_BURST).take(client_key(request)):
        return _too_many(form, wait)
    database = _database(request)
    client = await run_in_threadpool(_client, database, fields.get("api_key"))
    if client is None:
        return error(form, 403, "api_key is missing, wrong or revoked")
    if wait := limits.limiter("open311-key", POSTS_PER_MINUTE, POSTS_BURST).take(f"key:{client[0]}"):
        return _too_many(form, wait)
    new = _new_request(fields)
    language = _language(request)
    # Translated for staff before the transaction that files it: no lock is held across the network.
    description_zh = await to_chinese_for_staff(new.description, language) if new.description else None
    try:
        ref, notice = await run_in_threadpool(_file, request, client[0], new, language, description_zh)
    except Open311Error as exc:
        return error(form, exc.status, exc.description)
    return answer(
        form,
        "service_requests",
        [{"service_request_id": ref, "service_notice": notice, "account_id": new.account_id or None}],
        status=201,
    )


def _too_many(form: str, wait: float) -> Response:
    response = error(form, 429, "too many requests: try again later")
    response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


def _client(database: Database, key: str | None) -> tuple[int, str] | None:
    with database.session() as session:
        client = keys.client_for_key(session, key)
        return (client.id, client.name) if client else None


def _file(
    request: Request, client_id: int, new: NewRequest, language: str, description_zh: str | None
) -> tuple[str, str]:
    from community.office.models import Open311Client

    settings = _settings(request)
    with _database(request).session() as session:
        client = session.get(Open311Client, client_id)
        assert client is not None
        ticket = file_request(
            session, client, new, language=language, description_zh=description_zh, now=utcnow()
        )
        link = status_link(session, ticket, settings.web_public_url)
        due = local_time(ticket.due_at) if ticket.due_at else None
        notice = t("office.open311.notice", language, ref=ticket.ref, link=link)
        if due:
            notice += " " + t("office.open311.due", language, due=due)
        return ticket.ref, notice
