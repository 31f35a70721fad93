"""The check of a signed request to the `xijin` channel: standard library only.

Rasa's environment imports nothing of the project, so this is the channel's own copy of the format that
community/identity.py signs with: header `X-Xijin-Timestamp` (Unix seconds) and header `X-Xijin-Signature`,
the hex HMAC-SHA256 of `timestamp + "." + body` with the shared secret (`XIJIN_CHANNEL_SECRET`).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SECRET_ENV = "XIJIN_CHANNEL_SECRET"
TIMESTAMP_HEADER = "X-Xijin-Timestamp"
SIGNATURE_HEADER = "X-Xijin-Signature"
# A request reaches Rasa within milliseconds of being signed; a minute absorbs clock skew between hosts,
# and a request captured on the way cannot be sent again later than that.
MAX_AGE_SECONDS = 60


def is_signed(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None
) -> bool:
    """True when `signature` is the secret's HMAC of this timestamp and body, and the timestamp is recent."""
    if not secret or not timestamp or not signature:
        return False
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    if age > MAX_AGE_SECONDS:
        return False
    expected = hmac.new(secret.encode("utf-8"), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
