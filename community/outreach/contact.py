"""A reporter's phone, remembered only with their consent, offered on the next report, and forgotten on
request (/forget). Contacts already on tickets follow community/retention.py (TICKET_CONTACT_KEPT_DAYS)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from community.people.models import Person

_DIGITS = re.compile(r"\d")


def saved_phone(person: Person) -> str | None:
    """The phone the person agreed to have remembered; a phone on record without that consent (a roster
    entry's) is not offered to them as "theirs"."""
    return person.phone if person.phone and person.phone_consented_at is not None else None


def remember_phone(session: Session, person: Person, phone: str, now: datetime) -> None:
    person.phone = phone.strip()
    person.phone_consented_at = now
    session.flush()


def forget_phone(session: Session, person: Person) -> str | None:
    """Deletes the remembered phone; returns it (to tell the person what was deleted), or None."""
    phone = saved_phone(person)
    if phone is None:
        return None
    person.phone = None
    person.phone_consented_at = None
    session.flush()
    return phone


def masked(phone: str) -> str:
    """Enough of a phone to recognise it, not enough to read it off a screen: 138…8000."""
    digits = "".join(_DIGITS.findall(phone))
    if len(digits) < 8:
        return "…" + digits[-2:]
    return f"{digits[:3]}…{digits[-4:]}"
