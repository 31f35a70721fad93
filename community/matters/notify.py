"""What a matter tells people, each in their own language, through the outbox (kind "matter").

The matter's text and the outcome are free text: each reader reads the curated-language translation made
when it was written (community/tickets/thread.py prepare_words), or the original with a note
(community/tickets/thread_notify.py reads). Texts are HTML-escaped here, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from community.grids.models import Grid
from community.i18n import is_curated, pick, t
from community.matters.models import Matter, MatterStandard
from community.outbox.service import WEB_KEY_PREFIX, enqueue
from community.people.models import Person
from community.tickets.notify import PARAM_CHARS, esc, local_time, shorten
from community.tickets.thread_notify import reads

KIND = "matter"
PREFIX = "mt:"


def callback(action: str, matter_id: int, extra: str = "") -> str:
    data = f"{PREFIX}{action}:{matter_id}" + (f":{extra}" if extra else "")
    assert len(data.encode()) <= 64, data
    return data


def lang_of(person: Person) -> str:
    return person.preferred_language if is_curated(person.preferred_language) else "en"


def say(key: str, language: str, **params: Any) -> str:
    return t(key, language if is_curated(language) else "en", **params)


def matter_text(matter: Matter, language: str) -> str:
    """The matter's text as this reader reads it (plain)."""
    data = {"text": matter.text, "language": matter.language, "translations": matter.translations}
    return reads(data, language, staff=False)


def outcome_text(matter: Matter, language: str) -> str:
    return reads(matter.outcome or {}, language, staff=False) if matter.outcome else ""


def _name(session: Session, model: type[Any], code: str | None, language: str) -> str:
    found = session.get(model, code) if code else None
    return pick(found.names, language) if found is not None else ""


def grid_name(session: Session, matter: Matter, language: str) -> str:
    return _name(session, Grid, matter.grid_code, language)


def area_name(session: Session, matter: Matter, language: str) -> str:
    return _name(session, MatterStandard, matter.area_code, language)


def standard_name(session: Session, matter: Matter, language: str) -> str:
    return _name(session, MatterStandard, matter.standard_code, language)


def _body(matter: Matter, language: str) -> str:
    return esc(shorten(matter_text(matter, language), PARAM_CHARS))


def _button(key: str, language: str, data: str) -> dict[str, str]:
    return {"text": say(key, language), "callback_data": data}


def _send(
    session: Session, person: Person, text: str, now: datetime, buttons: list[Any] | None = None
) -> None:
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    # The web chat has no use for these buttons (it answers only its own): a web raiser reads the text.
    if buttons and not person.external_key.startswith(WEB_KEY_PREFIX):
        payload["buttons"] = buttons
    enqueue(session, person, KIND, payload, now=now)


def head(session: Session, matter: Matter, language: str) -> dict[str, str]:
    return {
        "ref": matter.ref,
        "grid": esc(grid_name(session, matter, language)),
        "area": esc(area_name(session, matter, language)),
        "standard": esc(standard_name(session, matter, language)),
    }


def to_desk_raised(session: Session, matter: Matter, desk: Person, now: datetime) -> None:
    lang = lang_of(desk)
    text = say("matters.desk.raised", lang, **head(session, matter, lang)) + "\n" + _body(matter, lang)
    if matter.place:
        text += "\n" + say("matters.label.place", lang, place=esc(matter.place))
    _send(session, desk, text, now, [[_button("matters.button.file", lang, callback("f", matter.id))]])


def filed(session: Session, matter: Matter, residents: list[Person], now: datetime) -> None:
    """The raiser hears where it was filed; the residents of the micro-grid get it with a Support button."""
    for person in residents:
        if person.id == matter.raiser_id:
            continue
        lang = lang_of(person)
        text = say("matters.announce", lang, threshold=matter.threshold, **head(session, matter, lang))
        text += "\n" + _body(matter, lang)
        _send(
            session, person, text, now, [[_button("matters.button.support", lang, callback("s", matter.id))]]
        )
    raiser = session.get(Person, matter.raiser_id) if matter.raiser_id else None
    if raiser is not None:
        lang = lang_of(raiser)
        text = say("matters.raiser.filed", lang, threshold=matter.threshold, **head(session, matter, lang))
        _send(session, raiser, text, now)


def to_desk_threshold(session: Session, matter: Matter, desk: Person, now: datetime) -> None:
    lang = lang_of(desk)
    text = say("matters.desk.threshold", lang, count=matter.supporters, **head(session, matter, lang))
    text += "\n" + _body(matter, lang)
    buttons = [
        [
            _button("matters.button.meeting", lang, callback("m", matter.id)),
            _button("matters.button.close", lang, callback("c", matter.id)),
        ]
    ]
    _send(session, desk, text, now, buttons)


def _meeting(session: Session, matter: Matter, lang: str) -> dict[str, str]:
    assert matter.meeting_at is not None
    return {
        "time": local_time(matter.meeting_at),
        "place": esc(matter.meeting_place),
        **head(session, matter, lang),
    }


def invitation(session: Session, matter: Matter, person: Person, kind: str, now: datetime) -> None:
    lang = lang_of(person)
    as_ = esc(_name(session, MatterStandard, kind, lang))
    text = say("matters.meeting.invitation", lang, kind=as_, **_meeting(session, matter, lang))
    text += "\n" + _body(matter, lang)
    _send(session, person, text, now, [[_button("matters.button.signup", lang, callback("j", matter.id))]])


def meeting_notice(session: Session, matter: Matter, person: Person, now: datetime) -> None:
    lang = lang_of(person)
    text = say("matters.meeting.notice", lang, **_meeting(session, matter, lang)) + "\n" + _body(matter, lang)
    _send(session, person, text, now, [[_button("matters.button.signup", lang, callback("j", matter.id))]])


def signed_up(session: Session, matter: Matter, person: Person, now: datetime) -> None:
    lang = lang_of(person)
    _send(session, person, say("matters.signup.confirmed", lang, **_meeting(session, matter, lang)), now)


def outcome(session: Session, matter: Matter, person: Person, now: datetime) -> None:
    lang = lang_of(person)
    key = "matters.outcome.decided" if matter.state == "decided" else "matters.outcome.closed"
    body = esc(shorten(outcome_text(matter, lang), PARAM_CHARS))
    _send(session, person, say(key, lang, **head(session, matter, lang)) + "\n" + body, now)
