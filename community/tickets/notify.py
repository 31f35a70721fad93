"""What each change tells whom: outbox payloads in the recipient's language, plus the button protocol.

Payloads are plain JSON for the relay: {"text", "parse_mode": "HTML", "buttons", "venue"/"location",
"photos"}. Everything a person typed (descriptions, notes, names, reasons) is HTML-escaped here, once.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from community.grids.models import Grid, Landmark
from community.grids.service import cached_get, get_grid, get_landmark
from community.i18n import pick, t
from community.outbox.service import enqueue
from community.people.models import Person
from community.servicemap.hours import local_time as community_time
from community.tickets.models import EscalationLevel, IssueCategory, Ticket, TicketState

CALLBACK_MAX_BYTES = 64  # Telegram's limit on callback_data
# Telegram refuses a message longer than 4,096 characters, which would make a notification a dead letter.
# A person's text on a card or in an update is cut to these lengths, which leaves room for the rest.
CARD_TEXT_CHARS = 1500  # description, and its translation, on a task card
PARAM_CHARS = 1000  # a note, a reason, a name in an update
# The bot reads callback data "r:<payload>" as a Rasa payload pressed by the user (bot/telegram/render.py).
RASA_PAYLOAD_PREFIX = "r:"


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=False)


@dataclass
class View:
    """A ticket with what it takes to describe it: category, place, landmark."""

    ticket: Ticket
    category: IssueCategory | None
    micro_grid: Grid | None
    grid: Grid | None
    landmark: Landmark | None


def load_view(session: Session, ticket: Ticket) -> View:
    category = cached_get(session, IssueCategory, ticket.category_code) if ticket.category_code else None
    return View(
        ticket,
        category,
        get_grid(session, ticket.micro_grid_code),
        get_grid(session, ticket.grid_code),
        get_landmark(session, ticket.landmark_code),
    )


# --- button protocol -------------------------------------------------------------------------------------


STAFF_ACTIONS = ("acc", "dec", "res", "esc")


def staff_callback(action: str, ticket_id: int, version: int) -> str:
    assert action in STAFF_ACTIONS
    data = f"tk:{action}:{ticket_id}:{version}"
    assert len(data.encode()) <= CALLBACK_MAX_BYTES
    return data


def rating_callback(ticket_id: int, score: int | None) -> str:
    return f"rt:{ticket_id}:{'nf' if score is None else score}"


@dataclass(frozen=True)
class Callback:
    """A parsed button press: a staff action with the ticket version, or a reporter's rating."""

    kind: str  # "staff" | "rating"
    ticket_id: int
    action: str = ""  # acc | dec | res | esc (staff)
    version: int | None = None
    score: int | None = None  # 1..5 (rating); None with not_fixed
    not_fixed: bool = False


_STAFF_RE = re.compile(r"^tk:(acc|dec|res|esc):(\d{1,12}):(\d{1,9})$")
_RATING_RE = re.compile(r"^rt:(\d{1,12}):([1-5]|nf)$")


def parse_callback(data: str) -> Callback | None:
    """The button behind callback_data, or None when it is not one of ours (or was tampered with)."""
    if m := _STAFF_RE.match(data):
        return Callback("staff", int(m[2]), action=m[1], version=int(m[3]))
    if m := _RATING_RE.match(data):
        if m[2] == "nf":
            return Callback("rating", int(m[1]), not_fixed=True)
        return Callback("rating", int(m[1]), score=int(m[2]))
    return None


def _button(text: str, data: str) -> dict[str, str]:
    return {"text": text, "callback_data": data}


def staff_buttons(ticket: Ticket, language: str, mode: str | None) -> list[list[dict[str, str]]] | None:
    """awaiting: Accept / Can't take; accept_only: Accept; accepted: Resolve / Escalate (while not at top)."""
    v = ticket.version
    if mode == "awaiting":
        return [
            [
                _button(t("ticket.button.accept", language), staff_callback("acc", ticket.id, v)),
                _button(t("ticket.button.decline", language), staff_callback("dec", ticket.id, v)),
            ]
        ]
    if mode == "accept_only":
        return [[_button(t("ticket.button.accept", language), staff_callback("acc", ticket.id, v))]]
    if mode == "accepted":
        from community.tickets.thread_notify import staff_row  # the conversation's buttons

        row = [_button(t("ticket.button.resolve", language), staff_callback("res", ticket.id, v))]
        if ticket.escalation_level < EscalationLevel.TOP and ticket.state != TicketState.WAITING:
            row.append(_button(t("ticket.button.escalate", language), staff_callback("esc", ticket.id, v)))
        rows = [row, staff_row(ticket, language)]
        if ticket.due_at is not None and ticket.state != TicketState.WAITING:
            from community.tickets.clock_notices import extend_button  # it builds on this module

            rows.append([extend_button(ticket, language)])
        return rows
    return None


def rating_buttons(ticket: Ticket, language: str) -> list[list[dict[str, str]]]:
    return [
        [_button(f"{n} ⭐", rating_callback(ticket.id, n)) for n in range(1, 6)],
        [_button(t("ticket.button.not_fixed", language), rating_callback(ticket.id, None))],
    ]


def buttons_for_state(ticket: Ticket) -> str | None:
    if ticket.state in (TicketState.DISPATCHED, TicketState.REOPENED):
        return "awaiting"
    if ticket.state in (TicketState.ACCEPTED, TicketState.WAITING):
        return "accepted"
    return None


# --- wording helpers -------------------------------------------------------------------------------------


def local_time(moment: datetime) -> str:
    """A moment as people here read it: in the community's time zone (the TIMEZONE setting)."""
    return community_time(moment).strftime("%Y-%m-%d %H:%M")


def category_name(view: View, language: str) -> str:
    if view.category is None:
        return t("ticket.category.unknown", language)
    return pick(view.category.names, language) or view.category.code


def place_name(view: View, language: str) -> str:
    micro = pick(view.micro_grid.names, language) if view.micro_grid else ""
    if view.landmark is not None:
        name = pick(view.landmark.names, language)
        return f"{name} · {micro}" if micro and micro != name else name
    if micro:
        return micro
    if view.grid is not None:
        return pick(view.grid.names, language)
    return ""


def level_name(level: int, language: str, desk: bool = False) -> str:
    return t("ticket.level.desk" if desk else f"ticket.level.{level}", language)


def place_payload(view: View, language: str) -> dict[str, Any]:
    ticket = view.ticket
    if ticket.lat is None or ticket.lon is None:
        return {}
    title = place_name(view, language)
    if not title:
        return {"location": {"latitude": ticket.lat, "longitude": ticket.lon}}
    address = " · ".join(pick(g.names, language) for g in (view.micro_grid, view.grid) if g is not None)
    return {
        "venue": {
            "latitude": ticket.lat,
            "longitude": ticket.lon,
            "title": title,
            "address": address or title,
        }
    }


def _payload(text: str, buttons: list[list[dict[str, str]]] | None = None, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if buttons:
        payload["buttons"] = buttons
    payload.update({k: v for k, v in extra.items() if v})
    return payload


def _lines(*lines: str | None) -> str:
    return "\n".join(line for line in lines if line)


def _field(label_key: str, value: str, language: str) -> str:
    return f"{t(label_key, language)}: {value}" if value else ""


# --- staff messages --------------------------------------------------------------------------------------


def shorten(text: str | None, limit: int) -> str:
    """At most `limit` characters of a person's text, cut at a space or line break near the end if one is
    there, with an ellipsis. The full text stays in the database."""
    text = text or ""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(" ", limit - 80, limit - 1), text.rfind("\n", limit - 80, limit - 1))
    return text[: cut if cut > 0 else limit - 1].rstrip() + "…"


def full_text_button(ticket: Ticket, language: str) -> dict[str, str]:
    """Asks the assistant for the ticket's detail (actions/tickets.py reads the ref from the payload)."""
    payload = "/check_ticket" + json.dumps({"ticket_ref": ticket.ref}, separators=(",", ":"))
    data = RASA_PAYLOAD_PREFIX + payload
    assert len(data.encode()) <= CALLBACK_MAX_BYTES
    return _button(t("ticket.button.full_text", language), data)


def task(
    view: View,
    person: Person,
    headline_key: str,
    *,
    buttons: str | None,
    show_contact: bool = False,
    contact: str | None = None,
    reason: str = "",
    desk: bool = False,
    story: Any = None,
) -> dict[str, Any]:
    """A task card: category, place, deadline, description with its Chinese translation, buttons; with
    `story` (community/tickets/story.py) the conversation, the wait and the reopenings too.

    A long description (and its translation) is shortened so that the card stays one Telegram message,
    with a note and a "Full text" button that shows the ticket's detail.
    """
    lang = person.preferred_language
    ticket = view.ticket
    deadline_key = (
        "ticket.label.resolve_by"
        if ticket.state in (TicketState.ACCEPTED, TicketState.WAITING)
        else "ticket.label.accept_by"
    )
    translation = (
        ticket.description_zh if ticket.description_zh and ticket.description_zh != ticket.description else ""
    )
    description = shorten(ticket.description, CARD_TEXT_CHARS)
    shortened = description != ticket.description or shorten(translation, CARD_TEXT_CHARS) != translation
    story_lines = list(story.lines) if story is not None else []
    text = _lines(
        "<b>"
        + t(headline_key, lang, ref=ticket.ref, level=esc(level_name(ticket.escalation_level, lang, desk)))
        + "</b>",
        _field("ticket.label.category", esc(category_name(view, lang)), lang),
        _field("ticket.label.place", esc(place_name(view, lang)), lang),
        _field(deadline_key, local_time(ticket.due_at) if ticket.due_at else "", lang),
        _field("ticket.label.level", esc(level_name(ticket.escalation_level, lang, desk)), lang),
        _field("ticket.label.description", esc(description), lang),
        _field("ticket.label.translation", esc(shorten(translation, CARD_TEXT_CHARS)), lang),
        t("ticket.label.shortened", lang, length=len(ticket.description)) if shortened else "",
        t("ticket.label.photos", lang, count=len(ticket.photo_file_ids)) if ticket.photo_file_ids else "",
        _field("ticket.label.contact", esc(contact), lang) if show_contact else "",
        _field("ticket.label.reason", esc(shorten(reason, PARAM_CHARS)), lang),
        *story_lines,
    )
    rows = list(staff_buttons(ticket, lang, buttons) or [])
    if shortened or (story is not None and story.shortened):
        rows.append([full_text_button(ticket, lang)])
    return _payload(
        text,
        rows or None,
        photos=list(ticket.photo_file_ids or []),
        **place_payload(view, lang),
    )


def staff_info(
    view: View, person: Person, key: str, *, buttons: str | None = None, **params: str
) -> dict[str, Any]:
    """A one-line update for staff who follow a ticket; params are escaped here."""
    lang = person.preferred_language
    escaped = {k: esc(shorten(v, PARAM_CHARS)) for k, v in params.items()}
    text = t(key, lang, ref=view.ticket.ref, category=esc(category_name(view, lang)), **escaped)
    return _payload(text, staff_buttons(view.ticket, lang, buttons))


# --- reporter messages -----------------------------------------------------------------------------------


def reporter_received(view: View, person: Person, who_key: str, *, emergency: bool) -> dict[str, Any]:
    lang = person.preferred_language
    place = place_name(view, lang)
    who = t(who_key, lang, place=esc(place) if place else t("ticket.place.your_area", lang))
    text = t(
        "ticket.reporter.received",
        lang,
        ref=view.ticket.ref,
        category=esc(category_name(view, lang)),
        who=who,
    )
    if emergency:
        text = _lines(t("ticket.reporter.emergency", lang), text)
    return _payload(text)


def reporter_duplicate(original: View, person: Person, *, emergency: bool = False) -> dict[str, Any]:
    """Already being handled; for an emergency the emergency numbers come first all the same."""
    lang = person.preferred_language
    text = t(
        "ticket.reporter.duplicate",
        lang,
        ref=original.ticket.ref,
        category=esc(category_name(original, lang)),
    )
    if emergency:
        text = _lines(t("ticket.reporter.emergency", lang), text)
    return _payload(text)


def reporter_update(view: View, person: Person, key: str, **params: str) -> dict[str, Any]:
    lang = person.preferred_language
    escaped = {k: esc(shorten(v, PARAM_CHARS)) for k, v in params.items()}
    return _payload(t(key, lang, ref=view.ticket.ref, category=esc(category_name(view, lang)), **escaped))


def reporter_resolved(
    view: View, person: Person, note: str, photos: list[str], *, ask_rating: bool
) -> dict[str, Any]:
    lang = person.preferred_language
    key = "ticket.reporter.resolved" if ask_rating else "ticket.reporter.resolved_follower"
    note = esc(shorten(note, PARAM_CHARS))
    text = t(key, lang, ref=view.ticket.ref, category=esc(category_name(view, lang)), note=note)
    return _payload(text, rating_buttons(view.ticket, lang) if ask_rating else None, photos=photos)


def ticket_line(view: View, language: str) -> str:
    """One line for a list of tickets: ref · category · state (HTML)."""
    return t(
        "ticket.summary",
        language,
        ref=view.ticket.ref,
        category=esc(category_name(view, language)),
        state=t(f"ticket.state.{view.ticket.state}", language),
    )


# --- sending ---------------------------------------------------------------------------------------------


class Notifier:
    """The notifications of one change: at most one message per person, the first (most specific) wins."""

    def __init__(self, session: Session, ticket: Ticket, now: datetime) -> None:
        self.session = session
        self.ticket = ticket
        self.now = now
        self._done: set[int] = set()

    def skip(self, person_id: int | None) -> None:
        """The person acted themselves; the bot answers them directly."""
        if person_id is not None:
            self._done.add(person_id)

    def wants(self, person: Person | None) -> bool:
        return person is not None and person.id not in self._done

    def send(self, person: Person | None, kind: str, payload: dict[str, Any]) -> None:
        if person is None or person.id in self._done:
            return
        self._done.add(person.id)
        enqueue(self.session, person, kind, payload, ticket_id=self.ticket.id, now=self.now)
