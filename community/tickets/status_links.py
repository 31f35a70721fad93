"""The reporter's link to a ticket's status page: the ticket's ref and an unguessable token.

The ref alone is not enough (refs are read out over the phone and typed from paper); the token is 32 random
bytes, made when the ticket is filed and compared in constant time. A wrong token, a missing one and an
unknown ref are the same "not found", so the page tells nobody which refs exist.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.tickets.models import Ticket

TOKEN_BYTES = 32
# The longest token accepted from a URL: anything longer is refused before it is compared.
TOKEN_MAX_CHARS = 64


class TicketStatusToken(Base):
    __tablename__ = "ticket_status_tokens"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(TOKEN_MAX_CHARS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def status_token(session: Session, ticket: Ticket) -> str:
    """The ticket's token, made on first use in the caller's transaction (filing makes it with the ticket)."""
    found = session.get(TicketStatusToken, ticket.id)
    if found is None:
        found = TicketStatusToken(
            ticket_id=ticket.id, token=secrets.token_urlsafe(TOKEN_BYTES), created_at=utcnow()
        )
        session.add(found)
        session.flush()
    return found.token


def status_url(base_url: str, ref: str, token: str) -> str:
    """The page's address under the web front end's public URL (the WEB_PUBLIC_URL setting)."""
    return f"{base_url.rstrip('/')}/status/{quote(ref, safe='')}?t={quote(token, safe='')}"


def status_link(session: Session, ticket: Ticket, base_url: str) -> str:
    return status_url(base_url, ticket.ref, status_token(session, ticket))


def ticket_by_link(session: Session, ref: str, token: str | None) -> Ticket | None:
    """The ticket when `token` is its status token; None for a wrong or missing token and an unknown ref.

    An unknown ref is compared against a made-up token as well, so the answer takes as long either way.
    """
    if not token or len(token) > TOKEN_MAX_CHARS or len(ref) > 32:
        return None
    row = session.execute(
        select(Ticket, TicketStatusToken.token)
        .join(TicketStatusToken, TicketStatusToken.ticket_id == Ticket.id)
        .where(Ticket.ref == ref)
    ).first()
    stored = row[1] if row is not None else secrets.token_urlsafe(TOKEN_BYTES)
    matches = hmac.compare_digest(stored.encode("ascii"), token.encode("utf-8", "replace"))
    return row[0] if row is not None and matches else None
