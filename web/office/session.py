"""The dashboard's session cookie: "<person id>:<expiry>:<nonce>" signed by web/security.py's signer for the
purpose "office-session" (a key of its own, derived from the one web secret).

The cookie says who logged in and until when; what they may see is read from their roles in the database on
every request, so a role removed takes effect at once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from fastapi import Request

from web.security import signer

COOKIE = "xijin_office"
SESSION_SECONDS = 8 * 3600
PURPOSE = "office-session"


def make_cookie(request: Request, person_id: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    return signer(request, PURPOSE).sign(f"{person_id}:{expires}:{secrets.token_hex(8)}")


@dataclass(frozen=True)
class OfficeSession:
    person_id: int
    expires: int


def read_cookie(request: Request, now: float | None = None) -> OfficeSession | None:
    """The session in the request's cookie when its signature holds and it has not expired; else None."""
    value = request.cookies.get(COOKIE)
    if not value or len(value) > 200:
        return None
    payload = signer(request, PURPOSE).unsign(value)
    if payload is None:
        return None
    person, expires, _nonce = [*payload.split(":"), "", "", ""][:3]
    if not person.isdigit() or not expires.isdigit():
        return None
    if int(expires) <= (time.time() if now is None else now):
        return None
    return OfficeSession(int(person), int(expires))
