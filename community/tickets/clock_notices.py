"""What the clock tells whom: the reporter's expected time and "still on it", the holder's warning, the
extension (延期) request card and its decision. Times are in the community's time zone, in the reader's
language (community/i18n/clock.yml); everything a person typed is escaped by notify.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from community.i18n import t
from community.outbox.service import enqueue
from community.people.models import Person
from community.tickets import notify
from community.tickets.clock import community_zone, expected_by
from community.tickets.models import ExtensionRequest, Ticket, TicketState

PREFIX = "xt:"
_CALLBACK = re.compile(r"^xt:(ask|d|ok|no):(\d{1,12})(?::(\d{1,2}))?$")


def when(moment: datetime, language: str) -> str:
    """ "Tue 8 Dec, 10:00" / "12月8日（周二）10:00" in the community's zone."""
    local = moment.astimezone(community_zone())
    weekdays = t("clock.weekdays", language).split()
    months = t("clock.months", language).split()
    return t(
        "clock.when",
        language,
        weekday=weekdays[local.weekday()],
        month=months[local.month - 1],
        day=local.day,
        time=local.strftime("%H:%M"),
    )


# --- buttons ---------------------------------------------------------------------------------------------


def callback(action: str, number: int, days: int | None = None) -> str:
    data = f"{PREFIX}{action}:{number}" + (f":{days}" if days is not None else "")
    assert _CALLBACK.match(data) and len(data.encode()) <= notify.CALLBACK_MAX_BYTES
    return data


def parse(data: str) -> tuple[str, int, int | None] | None:
    """(action, ticket or request id, days) of an extension button, or None when it is not one."""
    m = _CALLBACK.match(data or "")
    if m is None:
        return None
    return m[1], int(m[2]), int(m[3]) if m[3] else None


def extend_button(ticket: Ticket, language: str) -> dict[str, str]:
    return {"text": t("clock.button.extend", language), "callback_data": callback("ask", ticket.id)}


def days_buttons(ticket: Ticket, choices: list[int], language: str) -> list[list[dict[str, str]]]:
    return [
        [
            {
                "text": t("clock.button.days", language, days=days),
                "callback_data": callback("d", ticket.id, days),
            }
            for days in choices
        ]
    ]


# --- the reporter ----------------------------------------------------------------------------------------


def expected_line(session: Session, ticket: Ticket, language: str) -> str:
    moment = expected_by(session, ticket)
    return t("clock.reporter.expected", language, when=when(moment, language)) if moment else ""


def with_expected(
    session: Session, ticket: Ticket, person: Person, payload: dict[str, Any]
) -> dict[str, Any]:
    """A reporter's message with the expected time as its last line (the acceptance tells it)."""
    line = expected_line(session, ticket, person.preferred_language)
    return {**payload, "text": f"{payload['text']}\n{line}"} if line else payload


def expected_changed(session: Session, ticket: Ticket, person: Person, why: str) -> dict[str, Any] | None:
    moment = expected_by(session, ticket)
    if moment is None:
        return None
    lang = person.preferred_language
    view = notify.load_view(session, ticket)
    text = t(
        "clock.reporter.expected_changed",
        lang,
        ref=ticket.ref,
        category=notify.esc(notify.category_name(view, lang)),
        why=t(f"clock.why.{why}", lang),
        when=when(moment, lang),
    )
    return {"text": text, "parse_mode": "HTML"}


def tell_reporter(session: Session, ticket: Ticket, now: datetime, why: str) -> None:
    """The reporter hears the new expected time (an extension, a reopened ticket)."""
    reporter = session.get(Person, ticket.reporter_id)
    payload = expected_changed(session, ticket, reporter, why) if reporter else None
    if reporter is not None and payload is not None:
        enqueue(session, reporter, "clock.expected", payload, ticket_id=ticket.id, now=now)


def still_on_it(session: Session, ticket: Ticket, person: Person) -> dict[str, Any]:
    lang = person.preferred_language
    view = notify.load_view(session, ticket)
    moment = expected_by(session, ticket)
    params: dict[str, Any] = {"ref": ticket.ref, "category": notify.esc(notify.category_name(view, lang))}
    if moment is None:
        return {"text": t("clock.reporter.still_on_it_plain", lang, **params), "parse_mode": "HTML"}
    return {
        "text": t("clock.reporter.still_on_it", lang, **params, when=when(moment, lang)),
        "parse_mode": "HTML",
    }


# --- staff -----------------------------------------------------------------------------------------------


def warning_card(session: Session, ticket: Ticket, person: Person) -> dict[str, Any]:
    """The holder's task card under a warning headline, with the buttons of its state (unchanged version)."""
    accepted = ticket.state == TicketState.ACCEPTED
    headline = "clock.headline.warning_resolve" if accepted else "clock.headline.warning_accept"
    return notify.task(
        notify.load_view(session, ticket), person, headline, buttons=notify.buttons_for_state(ticket)
    )


def extended_card(session: Session, ticket: Ticket, person: Person) -> dict[str, Any]:
    """The holder's card after an approved extension: the new deadline, and fresh buttons."""
    return notify.task(
        notify.load_view(session, ticket), person, "clock.headline.extended", buttons="accepted"
    )


def request_card(
    session: Session,
    ticket: Ticket,
    request: ExtensionRequest,
    requester: Person,
    decider: Person,
    new_due: datetime,
) -> dict[str, Any]:
    lang = decider.preferred_language
    view = notify.load_view(session, ticket)
    text = t(
        "clock.request_card",
        lang,
        ref=ticket.ref,
        category=notify.esc(notify.category_name(view, lang)),
        name=notify.esc(requester.display_name),
        days=request.working_days,
        reason=notify.esc(notify.shorten(request.reason, notify.PARAM_CHARS)),
        due=when(request.due_at, lang),
        new_due=when(new_due, lang),
    )
    buttons = [
        [
            {"text": t("clock.button.approve", lang), "callback_data": callback("ok", request.id)},
            {"text": t("clock.button.refuse", lang), "callback_data": callback("no", request.id)},
        ]
    ]
    return {"text": text, "parse_mode": "HTML", "buttons": buttons}


def refused(ticket: Ticket, holder: Person, decider: Person) -> dict[str, Any]:
    lang = holder.preferred_language
    assert ticket.due_at is not None
    text = t(
        "clock.holder.refused",
        lang,
        ref=ticket.ref,
        name=notify.esc(decider.display_name),
        when=when(ticket.due_at, lang),
    )
    return {"text": text, "parse_mode": "HTML"}
