"""A per-client limit on POSTs: so many filings per window for each API key and for each address.

In memory, per process: the web front end runs as one process (docker compose, `make run`); several would
each allow the limit. A client over its limit gets 429 with Retry-After.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindow:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Records a hit for `key` and returns 0, or the seconds to wait when the key is over its limit."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= moment - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] + self.window - moment)
            hits.append(moment)
            if len(self._hits) > 10_000:  # forget idle keys rather than grow without end
                for stale in [k for k, v in self._hits.items() if not v or v[-1] <= moment - self.window]:
                    del self._hits[stale]
            return 0.0
