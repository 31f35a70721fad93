"""The conversation on a ticket: the holder writes to the reporter or asks for details (the ticket waits, its
SLA clock paused), the reporter answers, adds text, photos or a place. Every message is one TicketEvent of
kind "message" (data: text, language, public, photos, translations, untranslated, canned) and reaches its
readers through the outbox, each in their own language (thread_notify.py renders it).

Translation happens before the transaction (`prepare_words`, async, through the cached translator): no
transaction is ever open while Google answers, or does not. The steps themselves are synchronous and take
the finished `Words`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.i18n import CURATED_LANGUAGES
from community.language.service import get_translator
from community.language.translate import TranslationUnavailable
from community.people.models import Person
from community.tickets import clock, policy
from community.tickets.canned import CannedReply
from community.tickets.errors import InvalidInput
from community.tickets.fanout import announce, people, staff_audience
from community.tickets.models import Follower, Ticket, TicketState
from community.tickets.notify import Notifier
from community.tickets.states import Step
from community.tickets.story import waiting_since
from community.tickets.thread_notify import REPORTER_WROTE, STAFF_WROTE, STAFF_WROTE_PUBLIC
from community.tickets.transition import FOLLOW_DUPLICATE, begin, change, serial

S = TicketState
logger = logging.getLogger(__name__)

MAX_TEXT = 4000  # a message longer than this is cut before it is stored (Telegram's own limit is 4,096)


@dataclass(frozen=True)
class Words:
    """A message as written, and how it reads in the languages of the people who will read it.

    `translations` holds curated texts for a canned reply and machine translations otherwise;
    `untranslated` the languages for which no translation could be had (the reader then gets the original
    with a note saying so)."""

    text: str
    language: str
    translations: dict[str, str] = field(default_factory=dict)
    untranslated: list[str] = field(default_factory=list)
    canned: str | None = None

    def data(self) -> dict[str, Any]:
        return asdict(self)


# --- before the transaction: who reads it, and in which languages -------------------------------------


def reader_languages(session: Session, ticket: Ticket, actor: Person, *, public: bool = True) -> set[str]:
    """The languages of the people a message from `actor` on this ticket goes to."""
    if policy.is_reporter(actor, ticket):
        readers = staff_audience(session, ticket)
    else:
        readers = people(session, [ticket.reporter_id])
        if public:
            readers += people(session, _duplicate_followers(session, ticket))
    return {p.preferred_language for p in readers if p.id != actor.id}


def _duplicate_followers(session: Session, ticket: Ticket) -> list[int]:
    return list(
        session.scalars(
            select(Follower.person_id).where(
                Follower.ticket_id == ticket.id, Follower.reason == FOLLOW_DUPLICATE
            )
        )
    )


async def prepare_words(
    text: str, language: str, targets: Iterable[str], *, canned: CannedReply | None = None
) -> Words:
    """The message with a text for each target language: the curated text of a canned reply where there is
    one, a (cached) machine translation otherwise. A failed translation is recorded, never hidden."""
    text = text.strip()[:MAX_TEXT]
    translations: dict[str, str] = {}
    untranslated: list[str] = []
    if canned is not None:
        # The curated texts are the message; its original is the Chinese one, as staff reviewed it.
        translations.update({lang: canned.texts[lang] for lang in CURATED_LANGUAGES})
        text, language = canned.texts["zh-Hans"], "zh-Hans"
    translator = get_translator()
    for target in sorted(set(targets)):
        if target in translations or target == language or not text:
            continue
        # Languages without curated texts translate a canned note from English: closer to them than Chinese.
        source_text, source = (canned.texts["en"], "en") if canned is not None else (text, language)
        try:
            translations[target] = (await translator.translate(source_text, target, source)).text
        except TranslationUnavailable as exc:
            logger.info("message left untranslated for %s: %s", target, exc)
            untranslated.append(target)
    return Words(text, language, translations, untranslated, canned.id if canned else None)


# --- the clock: waiting pauses it ---------------------------------------------------------------------


def resume_deadline(
    session: Session, ticket: Ticket, waiting_since: datetime, now: datetime
) -> datetime | None:
    """The deadline after a wait: the time that was left when the wait began, counted again from now on the
    ticket's clock (community/tickets/clock.py). A working-hours ticket asked about on Friday afternoon and
    answered on Monday keeps the working minutes it had; an around-the-clock one moves by the time waited."""
    due_at = ticket.due_at
    if due_at is None:
        return None
    category = clock.category_of(session, ticket)
    if clock.around_the_clock(ticket, category):
        return due_at + max(now - waiting_since, timedelta(0))
    calendar, zone = clock.community_calendar(), clock.community_zone()
    left = clock.working_minutes(waiting_since, due_at, calendar, zone)
    return clock.add_working(now, left, calendar, zone) if left > 0 else max(due_at, now)


# --- the steps ------------------------------------------------------------------------------------------


def _message_data(
    words: Words, *, public: bool, photos: Sequence[str], location: tuple[float, float] | None
) -> dict[str, Any]:
    data = {**words.data(), "public": public, "photos": list(photos)}
    if location is not None:
        data["location"] = [location[0], location[1]]
    return data


def _announce(
    session: Session, ticket: Ticket, key: str, actor: Person, now: datetime, data: dict[str, Any]
) -> None:
    notifier = Notifier(session, ticket, now)
    notifier.skip(actor.id)  # the writer is answered by the bot directly
    announce(session, ticket, key, now=now, actor=actor, notifier=notifier, message=data)


def ask(
    session: Session,
    ticket_id: int,
    actor: Person,
    *,
    words: Words,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """The holder asks the reporter for details: the ticket waits and its deadline stops running."""
    ticket = begin(session, ticket_id, actor, Step.ASK, None, now)
    if not words.text:
        raise InvalidInput(ticket.ref, "text", "a question needs text")
    data = _message_data(words, public=False, photos=(), location=None)
    data["paused_due_at"] = serial(ticket.due_at)
    change(session, ticket, Step.ASK, expected_version=None, actor=actor, channel=channel, now=now, data=data)
    _announce(session, ticket, STAFF_WROTE, actor, now, {**data, "asks": True})
    return ticket


def write(
    session: Session,
    ticket_id: int,
    actor: Person,
    *,
    words: Words,
    photos: Sequence[str] = (),
    location: tuple[float, float] | None = None,
    public: bool = True,
    now: datetime,
    channel: str = "telegram",
) -> Ticket:
    """A message on the ticket. From the reporter it goes to the staff on it (and answers a question the
    ticket waits on: the ticket resumes, its deadline moved by the time waited); from staff it goes to the
    reporter, and when public to the reporters of duplicates too."""
    ticket = begin(session, ticket_id, actor, Step.MESSAGE, None, now)
    reporter = policy.is_reporter(actor, ticket)
    if not (words.text or photos or location):
        raise InvalidInput(ticket.ref, "text", "a message needs text, a photo or a place")
    data = _message_data(words, public=public and not reporter, photos=photos, location=location)
    values: dict[str, Any] = {}
    if reporter and photos:
        values["photo_file_ids"] = [*(ticket.photo_file_ids or []), *photos]
    if reporter and location is not None and ticket.lat is None:
        values |= {"lat": location[0], "lon": location[1]}
    step = Step.MESSAGE
    if reporter and ticket.state == S.WAITING:
        step = Step.ANSWER
        since = waiting_since(session, ticket) or now
        due = resume_deadline(session, ticket, since, now)
        values |= {"due_at": due, "sweep_lease_until": None}
        data |= {"waited_since": since.isoformat(), "due_at": serial(due)}
    change(
        session,
        ticket,
        step,
        expected_version=None,
        actor=actor,
        channel=channel,
        now=now,
        values=values,
        data=data,
    )
    if reporter:
        key = REPORTER_WROTE
    else:
        key = STAFF_WROTE_PUBLIC if data["public"] else STAFF_WROTE
    _announce(session, ticket, key, actor, now, {**data, "answers": step is Step.ANSWER})
    return ticket
