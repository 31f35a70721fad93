"""The proof that a message comes from the bot, the only part that may speak for a person.

Everything is signed with one shared secret (the `XIJIN_CHANNEL_SECRET` setting) that only the bot, Rasa
and the action server hold:

- **The request**: the bot's POST to Rasa's `xijin` channel carries a timestamp and an HMAC-SHA256 of
  `timestamp + "." + body` in two headers; the channel (nlu/channels/xijin.py) refuses any other request
  before it reaches the tracker. The channel runs in Rasa's own environment, which imports nothing of ours,
  so it repeats these few lines of stdlib; the integration tests hold the two to the same format.
- **The identity**: `metadata.user` carries a proof of its own (`metadata.user_proof`: timestamp and an HMAC
  of the sender id, the user and the timestamp), checked by the actions (actions/common.py). A message that
  reaches Rasa another way (its HTTP API, a second channel added later) names nobody the actions believe.

Both proofs expire: a captured request or identity is worthless a short while later. Nothing here imports
Telegram or Rasa, so the bot, the actions and the tests all use it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any

SECRET_ENV = "XIJIN_CHANNEL_SECRET"
TIMESTAMP_HEADER = "X-Xijin-Timestamp"
SIGNATURE_HEADER = "X-Xijin-Signature"
CHANNEL_PATH = "/webhooks/xijin/webhook"
# A request reaches Rasa within milliseconds of being signed; a minute absorbs clock skew between hosts.
REQUEST_MAX_AGE_SECONDS = 60
# An identity is checked when the actions run, after Rasa may have queued the message behind the same
# person's earlier ones (its lock store) and understood it: a few minutes, never longer.
IDENTITY_MAX_AGE_SECONDS = 300


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _fresh(timestamp: object, now: float, max_age: float) -> bool:
    """Signed within `max_age` seconds of now, either side (the signer's clock may run a little ahead)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, str)):
        return False
    try:
        return abs(now - int(timestamp)) <= max_age
    except ValueError:
        return False


def request_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers that let the `xijin` channel accept exactly this body, for a minute."""
    stamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: _mac(secret, stamp.encode() + b"." + body)}


def _identity_message(sender: str, user: dict[str, Any], stamp: int) -> bytes:
    # Canonical JSON: the user dict comes back from Rasa re-serialised, keys in any order.
    message = {"sender": sender, "user": user, "ts": stamp}
    return json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_metadata(
    secret: str, sender: str, metadata: dict[str, Any], now: float | None = None
) -> dict[str, Any]:
    """The metadata with a proof of `metadata["user"]`, bound to the conversation (`sender`).

    Metadata without a user is returned as it is: it speaks for nobody.
    """
    user = metadata.get("user")
    if not isinstance(user, dict):
        return metadata
    stamp = int(time.time() if now is None else now)
    proof = {"ts": stamp, "sig": _mac(secret, _identity_message(sender, user, stamp))}
    return {**metadata, "user_proof": proof}


def verified_user(
    secret: str, sender: str, metadata: dict[str, Any], now: float | None = None
) -> dict[str, Any] | None:
    """`metadata["user"]` when its proof was made with the secret for this conversation, recently; else None.

    The key must be the conversation's sender id as well: a proof copied into another conversation fails.
    """
    user, proof = metadata.get("user"), metadata.get("user_proof")
    if not secret or not isinstance(user, dict) or not isinstance(proof, dict):
        return None
    stamp, signature = proof.get("ts"), proof.get("sig")
    if not isinstance(signature, str) or not isinstance(stamp, int) or isinstance(stamp, bool):
        return None
    if not _fresh(stamp, time.time() if now is None else now, IDENTITY_MAX_AGE_SECONDS):
        return None
    if str(user.get("key")) != sender:
        return None
    if not hmac.compare_digest(_mac(secret, _identity_message(sender, user, stamp)), signature):
        return None
    return user


def signed_request(
    secret: str, sender: str, message: str, metadata: dict[str, Any], now: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one message to Rasa's `xijin` channel (CHANNEL_PATH), identity signed too."""
    payload = {"sender": sender, "message": message, "metadata": sign_metadata(secret, sender, metadata, now)}
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return body, {"Content-Type": "application/json", **request_headers(secret, body, now)}


def secret_from_environment() -> str:
    """The secret as `xijin run` and the integration tests export it to every process they start."""
    return os.environ.get(SECRET_ENV, "")
