"""How tickets read to the people who ask for them (shared by the chat actions and the bot's /mytickets).

Plain text: the front end escapes it and splits what is longer than one Telegram message. What a person
may see of a ticket is decided by policy.py; times are in the community's time zone.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from community.i18n import pick, t
from community.people.models import Person
from community.servicemap.hours import local_time
from community.tickets import notify
from community.tickets.filing import REF_ALPHABET, REF_LENGTH, REF_PREFIX
from community.tickets.models import IssueCategory, Ticket
from community.tickets.policy import is_reporter, visible_contact
from community.tickets.queries import get_ticket_for_person, tickets_for_reporter
from community.tickets.story import message_line, messages

MAX_LISTED = 10
REF_IN_TEXT = re.compile(rf"\b{REF_PREFIX}[{REF_ALPHABET}]{{{REF_LENGTH}}}\b", re.IGNORECASE)


def ticket_line(session: Session, ticket: Ticket, language: str) -> str:
    category = session.get(IssueCategory, ticket.category_code) if ticket.category_code else None
    name = pick(category.names, language) if category else "—"
    state = t(f"state.{ticket.state}", language)
    return f"• {ticket.ref} · {name} · {state} · {local_time(ticket.created_at):%m-%d %H:%M}"


def reporter_tickets_text(session: Session, person: Person, language: str) -> str:
    """Only the person's own tickets (and those they follow), newest first."""
    tickets = tickets_for_reporter(session, person)[:MAX_LISTED]
    if not tickets:
        return t("tickets.none", language)
    return "\n".join([t("tickets.header", language), *(ticket_line(session, x, language) for x in tickets)])


def ref_in(text: str) -> str | None:
    """A ticket ref written in a message ("XJ7K3M9QPA"), upper-cased, or None."""
    found = REF_IN_TEXT.search(text or "")
    return found.group(0).upper() if found else None


def ticket_detail_text(session: Session, ref: str, person: Person, language: str) -> str:
    """One ticket in full — the whole description a task card shortens — if this person may see it.

    A ticket the person may not see reads exactly like one that does not exist.
    """
    ticket = get_ticket_for_person(session, ref, person)
    if ticket is None:
        return t("ticket.detail.not_found", language, ref=ref.upper())
    view = notify.load_view(session, ticket)
    place = notify.place_name(view, language)
    translation = ticket.description_zh if ticket.description_zh != ticket.description else None
    contact = visible_contact(session, ticket, person)
    lines = [
        t(
            "ticket.detail.header",
            language,
            ref=ticket.ref,
            category=notify.category_name(view, language),
            state=t(f"state.{ticket.state}", language),
        ),
        t("ticket.detail.filed", language, time=f"{local_time(ticket.created_at):%Y-%m-%d %H:%M}"),
        f"{t('ticket.label.place', language)}: {place}" if place else "",
        f"{t('ticket.label.description', language)}: {ticket.description}" if ticket.description else "",
        # Staff read the Chinese translation; the reporter wrote the original.
        f"{t('ticket.label.translation', language)}: {translation}"
        if translation and not is_reporter(person, ticket)
        else "",
        f"{t('ticket.label.contact', language)}: {contact}" if contact else "",
        *conversation_lines(session, ticket, person, language),
    ]
    return "\n".join(line for line in lines if line)


def conversation_lines(session: Session, ticket: Ticket, person: Person, language: str) -> list[str]:
    """The whole conversation on the ticket, each message as this person reads it (staff with originals)."""
    thread = messages(session, ticket)
    if not thread:
        return []
    staff = not is_reporter(person, ticket)
    return [
        t("thread.card.thread", language),
        *(message_line(e, ticket, language, None, staff) for e in thread),
    ]
