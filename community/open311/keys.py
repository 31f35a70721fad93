"""API keys of Open311 clients: random, shown once, stored as SHA-256 hashes, revocable.

A key is long and random, so a plain hash (no salt, no slow KDF) is enough: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.office.models import Open311Client

KEY_PREFIX = "x311_"
MAX_KEY_LENGTH = 200


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_client(session: Session, name: str, now: datetime) -> tuple[Open311Client, str]:
    """A new client and its key (the only time the key is seen)."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ValueError("a client needs a name of 1–80 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = Open311Client(name=name, key_hash=key_hash(key), key_prefix=key[:12], created_at=now)
    session.add(client)
    session.flush()
    return client, key


def list_clients(session: Session) -> list[Open311Client]:
    return list(session.scalars(select(Open311Client).order_by(Open311Client.id)))


def revoke_client(session: Session, client_id: int, now: datetime) -> Open311Client | None:
    client = session.get(Open311Client, client_id)
    if client is None:
        return None
    if client.revoked_at is None:
        client.revoked_at = now
    return client


def client_for_key(session: Session, key: str | None) -> Open311Client | None:
    """The active client holding this key, or None (no key, a wrong one, or a revoked one)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    client = session.scalar(select(Open311Client).where(Open311Client.key_hash == key_hash(key)))
    if client is None or client.revoked_at is not None:
        return None
    return client
