"""How a message on a ticket reads to each person, and the buttons of the conversation.

Each reader reads in their own language: a canned reply in its curated text, else a (cached) machine
translation, else the original with a one-line note that it is untranslated. Staff always see the original
too. Texts are plain here and HTML-escaped by the payload builders below, once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from community.i18n import t
from community.people.models import Person
from community.tickets import notify
from community.tickets.models import Ticket
from community.tickets.names import name_for_reporters
from community.tickets.notify import CALLBACK_MAX_BYTES, esc, shorten

# Fan-out keys of the conversation (community/tickets/fanout.py): who hears a message depends on who wrote it.
STAFF_WROTE = "message.staff"  # to the reporter only (a question, a private word)
STAFF_WROTE_PUBLIC = "message.staff.public"  # to the reporter and the reporters of duplicates
REPORTER_WROTE = "message.reporter"  # to the holder and the staff on the ticket

# --- button protocol: "th:<action>:<ticket id>[:<version>][:<canned id>]" ------------------------------
#
# Staff: ask (ask the reporter, the ticket waits), msg (write to the reporter), cn (list progress notes),
# cp (send progress note <canned id>), cr (resolve with note <canned id>, carrying the version), sv (keep what
# one just wrote as a note for the category: sv:<ticket id>:progress|resolution).
# Reporter: add (write on the ticket / answer), can (cancel: asks to confirm), cy (cancel, confirmed).

PREFIX = "th:"
_RE = re.compile(
    r"^th:(ask|msg|cn|cp|cr|sv|add|can|cy):(\d{1,12})(?::(\d{1,9}))?(?::([a-z][a-z0-9_]{0,23}))?$"
)


@dataclass(frozen=True)
class Press:
    action: str
    ticket_id: int
    version: int | None = None
    canned: str | None = None


def callback(action: str, ticket_id: int, version: int | None = None, canned: str | None = None) -> str:
    data = f"{PREFIX}{action}:{ticket_id}"
    if version is not None:
        data += f":{version}"
    if canned is not None:
        data += f":{canned}"
    assert _RE.match(data) and len(data.encode()) <= CALLBACK_MAX_BYTES, data
    return data


def parse(data: str) -> Press | None:
    """The press behind callback data, or None when it is not one of ours (or was tampered with)."""
    m = _RE.match(data or "")
    if m is None:
        return None
    return Press(m[1], int(m[2]), int(m[3]) if m[3] else None, m[4])


def _button(key: str, language: str, data: str) -> dict[str, str]:
    return {"text": t(key, language), "callback_data": data}


def staff_row(ticket: Ticket, language: str) -> list[dict[str, str]]:
    """The conversation's buttons on a task card the holder works on."""
    return [
        _button("thread.button.ask", language, callback("ask", ticket.id)),
        _button("thread.button.message", language, callback("msg", ticket.id)),
        _button("thread.button.progress", language, callback("cn", ticket.id)),
    ]


def reporter_buttons(ticket: Ticket, language: str) -> list[list[dict[str, str]]]:
    return [
        [
            _button("thread.button.add", language, callback("add", ticket.id)),
            _button("thread.button.cancel", language, callback("can", ticket.id)),
        ]
    ]


# --- reading a message ----------------------------------------------------------------------------------


def reads(data: Mapping[str, Any], language: str, *, staff: bool) -> str:
    """The message as this reader reads it (plain text)."""
    original = str(data.get("text") or "")
    if not original:
        return ""
    translations: Mapping[str, str] = data.get("translations") or {}
    if language == data.get("language"):
        return original
    if language in translations:
        shown = translations[language]
        if data.get("canned"):
            return shown  # curated: nothing to flag
        if staff:
            return f"{shown}\n{t('thread.label.original', language)}: {original}"
        return f"{shown}\n{t('thread.note.machine', language)}"
    return f"{original}\n{t('thread.note.untranslated', language)}"


def _body(data: Mapping[str, Any], language: str, staff: bool) -> str:
    return esc(shorten(reads(data, language, staff=staff), notify.PARAM_CHARS * 2))


def _place(data: Mapping[str, Any]) -> dict[str, Any]:
    where = data.get("location")
    return {"location": {"latitude": where[0], "longitude": where[1]}} if where else {}


def to_reporter(
    view: notify.View, person: Person, actor: Person | None, data: Mapping[str, Any], *, follower: bool
) -> dict[str, Any]:
    """A staff message to the reporter (a question, an update), or the same update to a follower."""
    lang = person.preferred_language
    ticket = view.ticket
    name = name_for_reporters(actor, lang) if actor is not None else ""
    if follower:
        key = "thread.follower.message"
    else:
        key = "thread.reporter.question" if data.get("asks") else "thread.reporter.message"
    head = t(key, lang, ref=ticket.ref, category=esc(notify.category_name(view, lang)), name=esc(name))
    text = f"{head}\n{_body(data, lang, staff=False)}"
    buttons = None if follower else reporter_buttons(ticket, lang)
    return {"text": text, "parse_mode": "HTML", **({"buttons": buttons} if buttons else {})}


def to_staff(view: notify.View, person: Person, data: Mapping[str, Any], *, holder: bool) -> dict[str, Any]:
    """The reporter's message (an answer, a detail, a photo, a place) to the staff on the ticket."""
    lang = person.preferred_language
    ticket = view.ticket
    key = "thread.staff.answer" if data.get("answers") else "thread.staff.message"
    head = t(key, lang, ref=ticket.ref, category=esc(notify.category_name(view, lang)))
    lines = [head, _body(data, lang, staff=True)]
    if data.get("photos"):
        lines.append(t("ticket.label.photos", lang, count=len(data["photos"])))
    if data.get("due_at"):
        lines.append(t("thread.staff.resumed", lang, time=notify.local_time(_moment(data["due_at"]))))
    payload: dict[str, Any] = {"text": "\n".join(x for x in lines if x), "parse_mode": "HTML"}
    if holder:
        payload["buttons"] = [staff_row(ticket, lang)]
    if data.get("photos"):
        payload["photos"] = list(data["photos"])
    return payload | _place(data)


def _moment(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


def resolution_note(params: Mapping[str, Any], person: Person) -> str:
    """The resolution note as this reporter reads it: curated, translated, or the original with a note."""
    words = params.get("words")
    if not words:
        return str(params["note"])
    return reads(words, person.preferred_language, staff=False)
