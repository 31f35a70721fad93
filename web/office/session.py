"""The dashboard's session cookie: "<person id>.<expiry>.<nonce>.<signature>", HMAC-SHA256 signed.

The cookie says who logged in and until when; what they may see is read from their roles in the database on
every request, so a role removed takes effect at once. The secret is the DASHBOARD_SESSION_SECRET setting;
without one a random secret per process is used, and a restart logs everyone out (harmless: /dashboard
again).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from community.settings import Settings

COOKIE = "xijin_office"
SESSION_SECONDS = 8 * 3600
_PROCESS_SECRET = secrets.token_bytes(32)


def _secret(settings: Settings) -> bytes:
    configured = settings.dashboard_session_secret.get_secret_value()
    return configured.encode() if configured else _PROCESS_SECRET


def _sign(settings: Settings, payload: str) -> str:
    return hmac.new(_secret(settings), payload.encode(), hashlib.sha256).hexdigest()


def make_cookie(settings: Settings, person_id: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    payload = f"{person_id}.{expires}.{secrets.token_hex(8)}"
    return f"{payload}.{_sign(settings, payload)}"


@dataclass(frozen=True)
class OfficeSession:
    person_id: int
    expires: int


def read_cookie(settings: Settings, value: str | None, now: float | None = None) -> OfficeSession | None:
    """The session in a cookie whose signature holds and which has not expired; None otherwise."""
    if not value or len(value) > 200:
        return None
    payload, _, signature = value.rpartition(".")
    if not hmac.compare_digest(_sign(settings, payload), signature):
        return None
    person, expires, _nonce = [*payload.split("."), "", "", ""][:3]
    if not person.isdigit() or not expires.isdigit():
        return None
    if int(expires) <= (time.time() if now is None else now):
        return None
    return OfficeSession(int(person), int(expires))
