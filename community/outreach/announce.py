"""Announcements: written once in Chinese by the desk, read by each recipient in their language, sent
through the outbox, and reported back (delivered / blocked / failed) when the last message settles.

Texts per language, best first: the desk's own translation ("curated"); for Traditional Chinese, OpenCC's
conversion ("converted"); machine translation, shown to the desk in the preview before sending ("machine",
and marked as such to the reader); else the Chinese original with a note in the reader's language
("original"). Translation happens outside any transaction (it is a network call).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from opencc import OpenCC
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from community.database import Database
from community.i18n import FALLBACK_LANGUAGE, is_curated, t
from community.language.service import get_translator
from community.language.translate import TranslationUnavailable
from community.outbox.models import OutboxMessage, OutboxStatus
from community.outbox.service import BLOCKED_ERROR, enqueue
from community.outreach import audience as audiences
from community.outreach.models import Announcement, AnnouncementDelivery, AnnouncementStatus
from community.people.models import Person

logger = logging.getLogger(__name__)

KIND = "announcement"
REPORT_KIND = "announcement_report"
# Outbox kinds the relay paces as a broadcast (bot/telegram/jobs.py): everything else goes first.
BROADCAST_KINDS = frozenset({KIND})
MAX_CHARS = 1000  # the Chinese original; translations may run longer, within Telegram's 4096
MAX_TRANSLATION_CHARS = 3000
CHUNK = 5000
ORIGINAL, CURATED, CONVERTED, MACHINE = "original", "curated", "converted", "machine"


class AnnouncementError(ValueError):
    """The draft is gone, not the author's, or no longer a draft."""


@lru_cache(maxsize=1)
def _to_traditional() -> OpenCC:
    return OpenCC("s2t")


def _ui(language: str) -> str:
    return language if is_curated(language) else FALLBACK_LANGUAGE


def create_draft(session: Session, author: Person, text_zh: str, now: datetime) -> Announcement:
    announcement = Announcement(
        author_id=author.id,
        text_zh=text_zh.strip(),
        texts={"zh-Hans": {"text": text_zh.strip(), "source": ORIGINAL}},
        status=AnnouncementStatus.DRAFT,
        created_at=now,
        recipients=0,
        delivered=0,
        blocked=0,
        failed=0,
    )
    session.add(announcement)
    session.flush()
    return announcement


def draft_of(session: Session, announcement_id: int, author: Person) -> Announcement:
    found = session.get(Announcement, announcement_id)
    if found is None or found.author_id != author.id or found.status != AnnouncementStatus.DRAFT:
        raise AnnouncementError(announcement_id)
    return found


def set_audience(session: Session, announcement: Announcement, audience: str) -> None:
    announcement.audience = audiences.check(session, audience)


def add_translation(announcement: Announcement, language: str, text: str) -> None:
    announcement.texts = {**announcement.texts, language: {"text": text.strip(), "source": CURATED}}


def recipients(session: Session, announcement: Announcement, now: datetime) -> list[Person]:
    assert announcement.audience is not None
    ids = audiences.person_ids(session, announcement.audience, now)
    people: list[Person] = []
    # In chunks: SQLite limits the parameters of one statement, and "everyone" may be tens of thousands.
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        people += session.scalars(select(Person).where(Person.id.in_(chunk)).order_by(Person.id))
    return people


@dataclass(frozen=True)
class Preview:
    announcement_id: int
    audience: str
    count: int
    languages: dict[str, int]  # language → how many recipients read it
    texts: dict[str, dict[str, str]]


def languages_of(
    database: Database, announcement_id: int, now: datetime
) -> tuple[str, dict[str, Any], Counter[str]]:
    with database.session() as session:
        announcement = session.get(Announcement, announcement_id)
        assert announcement is not None
        people = recipients(session, announcement, now)
        return announcement.text_zh, dict(announcement.texts), Counter(p.preferred_language for p in people)


async def translate_missing(text_zh: str, texts: dict[str, Any], languages: list[str]) -> dict[str, Any]:
    """The texts for languages that have none yet (the desk's own are never replaced)."""
    found: dict[str, Any] = {}
    for language in languages:
        if language in texts:
            continue
        if language == "zh-Hant":
            found[language] = {"text": _to_traditional().convert(text_zh), "source": CONVERTED}
            continue
        try:
            translated = await get_translator().translate(text_zh, language, "zh-Hans")
            found[language] = {"text": translated.text, "source": MACHINE}
        except TranslationUnavailable as exc:
            logger.info("announcement left in Chinese for %s: %s", language, exc)
            found[language] = {"text": text_zh, "source": ORIGINAL}
    return found


async def preview(database: Database, announcement_id: int, now: datetime) -> Preview:
    """Counts the audience, fills in the texts its languages need, and returns what the desk reviews."""
    text_zh, texts, languages = languages_of(database, announcement_id, now)
    found = await translate_missing(text_zh, texts, sorted(languages))
    with database.session() as session:
        announcement = session.get(Announcement, announcement_id)
        assert announcement is not None and announcement.audience is not None
        if found:
            # The desk may have added its own meanwhile: theirs stays.
            announcement.texts = {**found, **announcement.texts}
        return Preview(
            announcement.id,
            announcement.audience,
            sum(languages.values()),
            dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))),
            {lang: dict(announcement.texts[lang]) for lang in languages if lang in announcement.texts},
        )


def recipient_text(announcement: Announcement, language: str) -> str:
    """What one recipient reads: a header, the text in their language, and a note when it is not curated."""
    entry = announcement.texts.get(language) or {"text": announcement.text_zh, "source": ORIGINAL}
    ui = _ui(language)
    parts = [t("outreach.announcement.header", ui), "", entry["text"]]
    if entry["source"] == MACHINE:
        parts.append(t("outreach.announcement.machine", ui))
    elif entry["source"] == ORIGINAL and language not in ("zh-Hans",):
        parts.insert(2, t("outreach.announcement.untranslated", ui))
    return "\n".join(parts)


def send(session: Session, announcement: Announcement, now: datetime) -> int:
    """Queues one outbox message per recipient in this transaction; returns how many were queued.

    Someone who blocked the bot is not queued and counts as blocked; someone the bot cannot write to (never
    started it) counts as failed. The others are delivered by the relay at the broadcast pace.
    """
    people = recipients(session, announcement, now)
    queued = 0
    for person in people:
        outcome = None
        outbox_id = None
        if person.blocked_bot:
            outcome = "blocked"
        elif person.chat_id is None and person.telegram_id is None:
            outcome = "failed"
        else:
            payload = {
                "text": recipient_text(announcement, person.preferred_language),
                "announcement": announcement.id,
            }
            outbox_id = enqueue(session, person, KIND, payload, now=now).id
            queued += 1
        session.add(
            AnnouncementDelivery(
                announcement_id=announcement.id, person_id=person.id, outbox_id=outbox_id, outcome=outcome
            )
        )
    announcement.status = AnnouncementStatus.SENDING
    announcement.recipients = len(people)
    announcement.sent_at = now
    session.flush()
    return queued


def counts(session: Session, announcement: Announcement) -> dict[str, int]:
    """delivered / blocked / failed / pending: final once the announcement is done, else from the outbox."""
    if announcement.status == AnnouncementStatus.DONE:
        return {
            "delivered": announcement.delivered,
            "blocked": announcement.blocked,
            "failed": announcement.failed,
            "pending": 0,
        }
    tally = Counter({"delivered": 0, "blocked": 0, "failed": 0, "pending": 0})
    rows = session.execute(
        select(AnnouncementDelivery.outcome, OutboxMessage.status, OutboxMessage.last_error)
        .outerjoin(OutboxMessage, OutboxMessage.id == AnnouncementDelivery.outbox_id)
        .where(AnnouncementDelivery.announcement_id == announcement.id)
    )
    for outcome, status, error in rows:
        if outcome:
            tally[outcome] += 1
        elif status == OutboxStatus.SENT:
            tally["delivered"] += 1
        elif status == OutboxStatus.PENDING:
            tally["pending"] += 1
        elif status == OutboxStatus.DEAD and (error or "").startswith(BLOCKED_ERROR):
            tally["blocked"] += 1
        else:
            tally["failed"] += 1  # dead for another reason, or its row is gone
    return dict(tally)


def report_text(session: Session, announcement: Announcement, language: str) -> str:
    numbers = counts(session, announcement)
    ui = _ui(language)
    where = audiences.label(session, announcement.audience or "", ui)
    if numbers["pending"]:
        return t("outreach.announce.in_progress", ui, id=announcement.id, audience=where, **numbers)
    return t(
        "outreach.announce.report",
        ui,
        id=announcement.id,
        audience=where,
        total=announcement.recipients,
        delivered=numbers["delivered"],
        blocked=numbers["blocked"],
        failed=numbers["failed"],
    )


def settle(database: Database, now: datetime) -> list[int]:
    """Announcements whose every message settled: their counts become final, their delivery rows go, and
    the author gets the report (through the outbox). Returns their ids."""
    finished: list[int] = []
    with database.session() as session:
        sending = list(
            session.scalars(select(Announcement).where(Announcement.status == AnnouncementStatus.SENDING))
        )
        for announcement in sending:
            numbers = counts(session, announcement)
            if numbers["pending"]:
                continue
            announcement.delivered = numbers["delivered"]
            announcement.blocked = numbers["blocked"]
            announcement.failed = numbers["failed"]
            announcement.status = AnnouncementStatus.DONE
            announcement.finished_at = now
            session.execute(
                delete(AnnouncementDelivery).where(AnnouncementDelivery.announcement_id == announcement.id)
            )
            author = session.get(Person, announcement.author_id)
            if author is not None:
                text = report_text(session, announcement, author.preferred_language)
                enqueue(
                    session, author, REPORT_KIND, {"text": text, "announcement": announcement.id}, now=now
                )
            finished.append(announcement.id)
    return finished


def recent(session: Session, limit: int = 10) -> list[Announcement]:
    return list(
        session.scalars(
            select(Announcement)
            .where(Announcement.status.in_([AnnouncementStatus.SENDING, AnnouncementStatus.DONE]))
            .order_by(Announcement.id.desc())
            .limit(limit)
        )
    )
