"""Open311 GeoReport v2 in domain terms: our categories as services, tickets as public requests, and a
POSTed request filed as a ticket routed like any other (channel "open311").

Public means public: a request shows no name, phone number, email or contact. A description is shown only
for requests filed through Open311 (their clients know the spec publishes it), with phone numbers and email
addresses blanked; reports from the chat were written to the community, not to the world. Emergency
categories (first aid, a missing person, fire) are not Open311 services: they need 110/119/120 and our
chat, and their tickets are never listed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.grids.models import Grid, Landmark
from community.grids.service import locate
from community.office.models import Open311Client
from community.people.service import get_or_create_person
from community.tickets.filing import MAX_DESCRIPTION_CHARS, file_report
from community.tickets.models import IssueCategory, Ticket, TicketState

S = TicketState
CHANNEL = "open311"
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)
# The spec limits a description to 4,000 characters; our tickets keep 2,000 (community/tickets/filing.py).
MAX_DESCRIPTION = min(4000, MAX_DESCRIPTION_CHARS)
OPEN_STATES = (S.NEW, S.DISPATCHED, S.ACCEPTED, S.REOPENED)
CLOSED_STATES = (S.RESOLVED, S.CLOSED, S.CANCELLED, S.DUPLICATE)
LANDMARK_ATTRIBUTE = "landmark"

_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


class Open311Error(Exception):
    """An answer the spec describes: an HTTP status and a description for the client."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _name(names: dict[str, str] | None, language: str, fallback: str) -> str:
    names = names or {}
    return names.get(language) or names.get("en") or names.get("zh-Hans") or fallback


def _w3(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def public_categories(session: Session) -> list[IssueCategory]:
    return list(
        session.scalars(
            select(IssueCategory)
            .where(IssueCategory.active.is_(True), IssueCategory.emergency.is_(False))
            .order_by(IssueCategory.code)
        )
    )


def services(session: Session, language: str) -> list[dict[str, Any]]:
    rows = []
    for category in public_categories(session):
        keywords = (category.keywords or {}).get(language) or (category.keywords or {}).get("en") or []
        rows.append(
            {
                "service_code": category.code,
                "service_name": _name(category.names, language, category.code),
                "description": _name(category.names, language, category.code),
                "metadata": True,
                "type": "realtime",
                "keywords": ", ".join(keywords),
                "group": category.skill,
            }
        )
    return rows


def service_definition(session: Session, code: str, language: str) -> dict[str, Any]:
    """The attributes of a service: the landmark it is at, when the client has no point."""
    category = session.get(IssueCategory, code)
    if category is None or not category.active or category.emergency:
        raise Open311Error(404, f"service_code {code} not found")
    landmarks = session.scalars(select(Landmark).where(Landmark.active.is_(True)).order_by(Landmark.code))
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": LANDMARK_ATTRIBUTE,
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "A landmark of the community, when lat/long are not given",
                "order": 1,
                "description": "Where is it? (a landmark, if you have no exact point)",
                "values": [{"key": m.code, "name": _name(m.names, language, m.code)} for m in landmarks],
            }
        ],
    }


def _public_description(ticket: Ticket) -> str:
    if ticket.channel != CHANNEL:
        return ""
    return _EMAIL.sub("[…]", _PHONE.sub("[…]", ticket.description))[:MAX_DESCRIPTION]


def _updated(ticket: Ticket) -> datetime:
    moments = [
        ticket.created_at,
        ticket.dispatched_at,
        ticket.accepted_at,
        ticket.resolved_at,
        ticket.closed_at,
    ]
    return max(m for m in moments if m is not None)


@dataclass
class Lookup:
    categories: dict[str, IssueCategory]
    grids: dict[str, Grid]


def lookup(session: Session) -> Lookup:
    return Lookup(
        {c.code: c for c in session.scalars(select(IssueCategory))},
        {g.code: g for g in session.scalars(select(Grid))},
    )


def public_request(ticket: Ticket, ref: Lookup, language: str) -> dict[str, Any]:
    """The fields of GET requests: no reporter, no contact, no owner."""
    category = ref.categories.get(ticket.category_code or "")
    grid = ref.grids.get(ticket.grid_code or "")
    notes = {S.DUPLICATE: "duplicate of an earlier request", S.CANCELLED: "cancelled"}.get(
        S(ticket.state), ""
    )
    return {
        "service_request_id": ticket.ref,
        "status": "open" if ticket.state in OPEN_STATES else "closed",
        "status_notes": notes or ticket.state,
        "service_name": _name(category.names, language, category.code) if category else "",
        "service_code": ticket.category_code or "",
        "description": _public_description(ticket),
        "agency_responsible": _name(grid.names, language, grid.code) if grid else "",
        "service_notice": "",
        "requested_datetime": _w3(ticket.created_at),
        "updated_datetime": _w3(_updated(ticket)),
        "expected_datetime": _w3(ticket.due_at) if ticket.state in OPEN_STATES else None,
        "address": "",
        "address_id": ticket.landmark_code or "",
        "zipcode": "",
        "lat": round(ticket.lat, 5) if ticket.lat is not None else None,
        "long": round(ticket.lon, 5) if ticket.lon is not None else None,
        "media_url": "",
    }


def _listed() -> Any:
    public = select(IssueCategory.code).where(IssueCategory.emergency.is_(False))
    return Ticket.category_code.in_(public)


def get_request(session: Session, request_id: str, language: str) -> dict[str, Any]:
    ticket = session.scalar(select(Ticket).where(Ticket.ref == request_id.strip().upper(), _listed()))
    if ticket is None:
        raise Open311Error(404, f"service_request_id {request_id} not found")
    return public_request(ticket, lookup(session), language)


def _parse_w3(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{field} must be a W3C datetime such as 2026-01-01T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _codes(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def search_requests(
    session: Session,
    *,
    now: datetime,
    language: str,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """GET requests: by ids (which overrides the rest), else by codes, a window of at most 90 days (the
    last 90 by default) and status; newest first, at most 1,000."""
    query = select(Ticket).where(_listed())
    ids = [i.upper() for i in _codes(service_request_id)]
    if ids:
        query = query.where(Ticket.ref.in_(ids[:MAX_RESULTS]))
    else:
        end = _parse_w3(end_date, "end_date") if end_date else now
        start = _parse_w3(start_date, "start_date") if start_date else end - DEFAULT_WINDOW
        if end - start > DEFAULT_WINDOW:
            raise Open311Error(400, "start_date and end_date may not span more than 90 days")
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        query = query.where(Ticket.created_at >= start, Ticket.created_at <= end)
        if codes := _codes(service_code):
            query = query.where(Ticket.category_code.in_(codes))
        statuses = {s.lower() for s in _codes(status)}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status must be open or closed")
        if statuses == {"open"}:
            query = query.where(Ticket.state.in_(OPEN_STATES))
        elif statuses == {"closed"}:
            query = query.where(Ticket.state.in_(CLOSED_STATES))
    tickets = session.scalars(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_RESULTS))
    ref = lookup(session)
    return [public_request(t, ref, language) for t in tickets]


@dataclass
class NewRequest:
    """A POSTed request, as the client gave it (all strings; validated by `file_request`)."""

    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    landmark: str = ""
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    description: str = ""
    media_url: str = ""


def _float(value: str, field: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{field} must be a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Open311Error(400, f"{field} must be a number")
    return number


def _reporter_key(client: Open311Client, form: NewRequest) -> str:
    """One person per client and reporter identity the client gives (hashed: no email in a key)."""
    who = form.account_id or form.email.lower() or form.device_id or form.phone
    if not who:
        return f"open311:{client.id}:anonymous"
    return f"open311:{client.id}:" + hashlib.sha256(who.encode()).hexdigest()[:32]


def file_request(
    session: Session,
    client: Open311Client,
    form: NewRequest,
    *,
    language: str,
    now: datetime,
    description_zh: str | None = None,
) -> Ticket:
    """Validate a POSTed request and file it: routed to a volunteer like a report from the chat."""
    category = session.get(IssueCategory, form.service_code.strip()) if form.service_code.strip() else None
    if category is None or not category.active:
        raise Open311Error(400, f"service_code {form.service_code or '(none)'} is not a service of ours")
    if category.emergency:
        raise Open311Error(
            400, "emergencies are not taken here: call 110 (police), 119 (fire) or 120 (ambulance)"
        )
    lat = lon = None
    landmark = (form.landmark or form.address_id).strip() or None
    if form.lat or form.long:
        if not (form.lat and form.long):
            raise Open311Error(400, "give both lat and long")
        lat, lon = _float(form.lat, "lat"), _float(form.long, "long")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Open311Error(400, "lat/long out of range")
        if locate(session, lat, lon) is None:
            raise Open311Error(400, "the point is outside the Xijin community")
    elif landmark is not None:
        known = session.get(Landmark, landmark)
        if known is None or not known.active:
            raise Open311Error(
                400, f"address_id {landmark} is not a landmark of ours (see services/{category.code})"
            )
    else:
        raise Open311Error(400, "a location is required: lat and long, or address_id (a landmark code)")
    description = form.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    if form.address_string.strip():
        description = f"{description}\n[{form.address_string.strip()[:200]}]".strip()
    reporter = get_or_create_person(
        session,
        _reporter_key(client, form),
        display_name=" ".join(p for p in (form.first_name.strip(), form.last_name.strip()) if p)[:120],
        language=language,
    )
    # The phone or email goes with the ticket only (its holder calls back; retention erases it when the
    # ticket has ended), never onto the person, where nothing would erase it.
    contact = form.phone.strip() or form.email.strip() or None
    result = file_report(
        session,
        reporter=reporter,
        category_code=category.code,
        lat=lat,
        lon=lon,
        landmark_code=landmark if lat is None else None,
        description=description,
        description_language=language,
        description_zh=description_zh,
        contact=contact[:80] if contact else None,
        channel=CHANNEL,
        now=now,
    )
    return result.ticket
