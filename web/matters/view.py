"""What the public page of a matter shows: its text, area and standard, support, meeting, outcome and
history, in the page's language. Built from the matter's public columns and its events' public data only:
no names, phone numbers, Telegram ids, nor who raised or supported it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from community.grids.models import Grid
from community.i18n import pick, t
from community.matters import notify, service
from community.matters.models import Matter, MatterStandard
from community.tickets.notify import local_time


@dataclass(frozen=True)
class Step:
    at: str
    text: str


@dataclass(frozen=True)
class MatterView:
    ref: str
    state: str
    state_text: str
    text: str
    original: str | None  # the text as written, when the page shows a translation
    grid: str
    place: str
    area: str
    standard: str
    supporters: int
    threshold: int
    meeting_time: str
    meeting_place: str
    outcome: str
    history: list[Step]


def _name(session: Session, code: str | None, language: str) -> str:
    found = session.get(MatterStandard, code) if code else None
    return pick(found.names, language) if found is not None else ""


def _step(session: Session, kind: str, data: dict[str, object], language: str) -> str:
    key = f"matters.event.{kind}"
    if kind == "raised":
        grid = session.get(Grid, str(data.get("grid") or ""))
        return t(key, language, grid=pick(grid.names, language) if grid else "")
    if kind == "filed":
        area = _name(session, str(data.get("area") or ""), language)
        return t(key, language, area=area, standard=_name(session, str(data.get("standard") or ""), language))
    if kind == "meeting_called":
        at = datetime.fromisoformat(str(data.get("at")))
        return t(key, language, time=local_time(at), place=str(data.get("place") or ""))
    return t(key, language, count=data.get("count", ""))


def matter_view(session: Session, matter: Matter, language: str) -> MatterView:
    # A translation is marked as such, with the original under it; a language without one gets the original.
    shown = matter.translations.get(language) if language != matter.language else None
    decided = matter.outcome or {}
    outcome = (
        (decided.get("translations") or {}).get(language) if language != decided.get("language") else None
    )
    return MatterView(
        ref=matter.ref,
        state=matter.state,
        state_text=t(f"matters.state.{matter.state}", language),
        text=shown or matter.text,
        original=matter.text if shown else None,
        grid=notify.grid_name(session, matter, language),
        place=matter.place,
        area=notify.area_name(session, matter, language),
        standard=notify.standard_name(session, matter, language),
        supporters=matter.supporters,
        threshold=matter.threshold,
        meeting_time=local_time(matter.meeting_at) if matter.meeting_at else "",
        meeting_place=matter.meeting_place,
        outcome=outcome or str(decided.get("text") or ""),
        history=[
            Step(local_time(e.at), _step(session, e.kind, e.data or {}, language))
            for e in service.events(session, matter)
        ],
    )
