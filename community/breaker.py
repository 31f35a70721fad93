"""One circuit breaker for every flaky dependency (Rasa, Google Translate), tripped by the failure RATE.

Closed → open when, among the calls of the last `window_seconds`, at least `minimum_calls` were made and at
least `failure_rate` of them failed → after `open_seconds`, half-open: ONE trial call goes through while the
others still fail fast → the trial's success closes it (with a clean window), its failure opens it again.

A rate over a time window rather than a count of consecutive failures: one slow answer among many good ones
must not switch a service off for everyone, and a service that fails every other call is still sick.
pybreaker, aiobreaker and purgatory count consecutive failures only, hence this small module. The clock is
injectable so tests move time instead of sleeping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Final


class CircuitBreaker:
    CLOSED: Final = "closed"
    OPEN: Final = "open"
    HALF_OPEN: Final = "half-open"

    def __init__(
        self,
        *,
        failure_rate: float = 0.5,
        minimum_calls: int = 5,
        window_seconds: float = 30.0,
        open_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 < failure_rate <= 1.0:
            raise ValueError("failure_rate must be in (0, 1]")
        if minimum_calls < 1:
            raise ValueError("minimum_calls must be at least 1")
        self.failure_rate = failure_rate
        self.minimum_calls = minimum_calls
        self.window_seconds = window_seconds
        self.open_seconds = open_seconds
        self._clock = clock
        self._outcomes: deque[tuple[float, bool]] = deque()  # (when, failed), oldest first
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return self.CLOSED
        if self._clock() - self._opened_at >= self.open_seconds:
            return self.HALF_OPEN
        return self.OPEN

    @property
    def is_open(self) -> bool:
        """True while calls fail fast (open, or half-open with the trial already under way)."""
        state = self.state
        return state == self.OPEN or (state == self.HALF_OPEN and self._trial_in_flight)

    def allow(self) -> bool:
        """Whether a call may go through now; when half-open, the caller that gets True holds the one trial
        and must report its outcome (record_success / record_failure / record_cancelled)."""
        state = self.state
        if state == self.CLOSED:
            return True
        if state == self.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        if self._opened_at is not None:
            if not self._trial_in_flight:
                return  # a call begun before the circuit opened says nothing about the service now
            self._close()
            return
        self._record(failed=False)

    def record_failure(self) -> None:
        if self._opened_at is not None:
            if self._trial_in_flight:
                self._opened_at = self._clock()  # the trial failed: open for another period
                self._trial_in_flight = False
            return
        self._record(failed=True)
        failures = sum(1 for _, failed in self._outcomes if failed)
        calls = len(self._outcomes)
        if calls >= self.minimum_calls and failures >= self.failure_rate * calls:
            self._opened_at = self._clock()

    def record_cancelled(self) -> None:
        """The caller gave up (task cancelled): no verdict on the service; the trial slot is free again."""
        self._trial_in_flight = False

    def _record(self, *, failed: bool) -> None:
        now = self._clock()
        self._outcomes.append((now, failed))
        while self._outcomes and now - self._outcomes[0][0] > self.window_seconds:
            self._outcomes.popleft()

    def _close(self) -> None:
        self._opened_at = None
        self._trial_in_flight = False
        self._outcomes.clear()
