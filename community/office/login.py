"""One-time dashboard login links: a random token, stored only as its hash, valid for minutes and once.

The bot makes one on /dashboard for a staff member; the web page that redeems it checks the role again, so
a person whose staff role was removed after the link was sent gets nowhere.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from community.office.models import OfficeLogin
from community.people.models import Person
from community.tickets.transition import require_aware

LOGIN_VALID_FOR = timedelta(minutes=10)
# Used and expired links are kept this long (for the office to see when someone logged in), then deleted.
LOGIN_KEPT_FOR = timedelta(days=7)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_login(session: Session, person: Person, now: datetime) -> str:
    """A new login token for a staff member; the raw token goes into the link and is never stored."""
    require_aware(now)
    if not person.is_staff:
        raise PermissionError("only staff get a dashboard link")
    token = secrets.token_urlsafe(32)
    session.add(
        OfficeLogin(
            token_hash=token_hash(token),
            person_id=person.id,
            created_at=now,
            expires_at=now + LOGIN_VALID_FOR,
        )
    )
    session.execute(delete(OfficeLogin).where(OfficeLogin.expires_at < now - LOGIN_KEPT_FOR))
    return token


def redeem_login(session: Session, token: str, now: datetime) -> Person | None:
    """The person a valid, unused, unexpired token belongs to, marking it used; None otherwise. The caller
    checks that they are still staff (their roles may have changed since the link was sent).

    The use is a compare-and-set on `used_at`: two browsers redeeming the same link at once get one session.
    """
    require_aware(now)
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    row = session.scalar(select(OfficeLogin).where(OfficeLogin.token_hash == digest))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    claimed = session.execute(
        update(OfficeLogin)
        .where(OfficeLogin.id == row.id, OfficeLogin.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Person, row.person_id)


def login_is_pending(session: Session, token: str, now: datetime) -> bool:
    """Whether the token could still be redeemed (the page with the log-in button says so before a POST)."""
    if not token or len(token) > 100:
        return False
    row = session.scalar(select(OfficeLogin).where(OfficeLogin.token_hash == token_hash(token)))
    return row is not None and row.used_at is None and row.expires_at > now
