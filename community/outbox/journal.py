"""The relay's delivery journal: what Telegram confirmed, on local disk, before the database hears of it.

Telegram has no idempotency key, so a relay that dies (or loses its database) after Telegram accepted a
message and before the outbox row is marked would send it again. The journal closes that window: the relay
appends the leases it claimed, then — right after each of Telegram's answers — how many parts of the message
went out, each record written and fsync'd before the relay goes on. A relay settles its own journal (marks in
the database what it records) when the database answers again; a relay starting up settles the journals of
relays that died, recognised by their file lock being free. What remains is the time between Telegram's
answer and the fsync (a few milliseconds), and an answer that never came back (a read timeout): there the
message is sent again, at least once.

One file per relay process (`<owner>-<nonce>.jsonl`), held under an exclusive flock while the process lives.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from community.database import Database, utcnow
from community.outbox.service import Lease, mark_sent, release

logger = logging.getLogger(__name__)


@dataclass
class _Entry:
    lease: Lease
    parts: int = 0
    done: bool = False


def _read(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):  # a line cut short by the crash: it was never fsync'd whole
            records.append(json.loads(line))
    return records


def _fold(records: list[dict[str, Any]]) -> list[_Entry]:
    entries: dict[str, _Entry] = {}
    for record in records:
        lease = Lease(record["id"], record["lease"], datetime.fromisoformat(record["until"]))
        entry = entries.get(record["id"])
        if entry is None or entry.lease.token != lease.token:
            entry = entries[record["id"]] = _Entry(lease)
        entry.parts = max(entry.parts, int(record.get("parts", 0)))
        entry.done = entry.done or bool(record.get("done"))
    return list(entries.values())


def apply(database: Database, records: list[dict[str, Any]], now: datetime | None = None) -> dict[str, int]:
    """Tell the database what the journal knows: delivered → sent; claimed, cut off or never tried → due
    again (keeping the parts that went out). Idempotent: every mark is a compare-and-set on the lease."""
    at = now or utcnow()
    counts = {"sent": 0, "released": 0}
    for entry in _fold(records):
        if entry.done:
            counts["sent"] += int(mark_sent(database, entry.lease, at))
        else:
            counts["released"] += int(release(database, entry.lease, parts_sent=entry.parts or None))
    return counts


class DeliveryJournal:
    def __init__(self, directory: Path, owner: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", owner)
        self.path = directory / f"{name}-{uuid.uuid4().hex[:8]}.jsonl"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.unsettled = False

    def _write(self, records: list[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
        os.write(self._fd, data)
        os.fsync(self._fd)
        self.unsettled = True

    @staticmethod
    def _record(lease: Lease, **extra: Any) -> dict[str, Any]:
        return {"id": lease.message_id, "lease": lease.token, "until": lease.until.isoformat(), **extra}

    def claimed(self, leases: list[Lease]) -> None:
        if leases:
            self._write([self._record(lease) for lease in leases])

    def delivered(self, lease: Lease, parts: int, done: bool) -> None:
        """Called right after Telegram's answer: `parts` of the message went out, `done` if all of them."""
        self._write([self._record(lease, parts=parts, done=done)])

    def clear(self) -> None:
        """Everything recorded is in the database: start empty."""
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self.unsettled = False

    def settle(self, database: Database) -> dict[str, int]:
        """Apply this relay's own records (after a pass whose marks failed), then start empty."""
        counts = apply(database, _read(self.path))
        self.clear()
        return counts

    def recover(self, database: Database) -> dict[str, int]:
        """Settle and remove the journals of relays that died (their lock is free); returns the totals."""
        totals = {"sent": 0, "released": 0}
        for path in sorted(self.directory.glob("*.jsonl")):
            if path == self.path:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue  # another relay recovered it first
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its relay is alive
                counts = apply(database, _read(path))
                logger.info("recovered the delivery journal %s: %s", path.name, counts)
                for key, value in counts.items():
                    totals[key] += value
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        return totals

    def close(self) -> None:
        os.close(self._fd)
        if not self.unsettled:
            self.path.unlink(missing_ok=True)
