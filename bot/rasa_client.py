"""Rasa's REST channel, with a timeout and a circuit breaker so a slow or stopped Rasa never stalls a chat."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not answer in time, answered with an error, or is known to be down right now."""


class RasaClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        timeout_seconds: float = 5.0,
        open_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_seconds = timeout_seconds
        # After a failure we answer without Rasa for this long, then try again: recovery needs no restart.
        self.open_seconds = open_seconds
        self._clock = clock
        self._open_until = 0.0
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Rasa's replies to one user message."""
        if self.is_open:
            raise RasaUnavailable("circuit open after a recent failure")
        try:
            response = await self._client.post(
                f"{self.base_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": message, "metadata": metadata},
            )
            response.raise_for_status()
            replies = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            self._open_until = self._clock() + self.open_seconds
            logger.warning(
                "Rasa unavailable (%s: %s); degraded answers for %.0fs",
                type(exc).__name__,
                exc,
                self.open_seconds,
            )
            raise RasaUnavailable(str(exc)) from exc
        return list(replies or [])

    async def healthy(self) -> bool:
        try:
            response = await self._client.get(f"{self.base_url}/", timeout=2.0)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    async def aclose(self) -> None:
        await self._client.aclose()
