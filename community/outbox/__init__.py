"""The transactional outbox: `enqueue` in the change's transaction; the relay claims, sends and marks."""

from community.outbox.service import (
    DEFAULT_MAX_ATTEMPTS,
    ClaimedMessage,
    Lease,
    backoff_seconds,
    claim,
    enqueue,
    mark_blocked,
    mark_failed,
    mark_sent,
    pending_count,
    prune_processed_updates,
    relay_owner,
    release,
)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "ClaimedMessage",
    "Lease",
    "backoff_seconds",
    "claim",
    "enqueue",
    "mark_blocked",
    "mark_failed",
    "mark_sent",
    "pending_count",
    "prune_processed_updates",
    "relay_owner",
    "release",
]
