"""Rasa's REST channel, with a timeout and a circuit breaker so a slow or stopped Rasa never stalls a chat."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from community.breaker import CircuitBreaker
from community.identity import CHANNEL_PATH, secret_from_environment, signed_request

logger = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa did not answer in time, answered with an error, or is known to be down right now."""


class RasaClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        secret: str | None = None,
        timeout_seconds: float = 5.0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        # Rasa's channel takes only what this secret signs (community/identity.py); None: the environment's.
        self.secret = secret_from_environment() if secret is None else secret
        self.timeout_seconds = timeout_seconds
        # Opens when most recent calls failed (not on one slow answer); half-opens by itself after a while, so
        # the bot leaves its degraded mode without a restart once Rasa answers again.
        self.breaker = breaker or CircuitBreaker()
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    @property
    def is_open(self) -> bool:
        return self.breaker.is_open

    async def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Rasa's replies to one user message."""
        if not self.breaker.allow():
            raise RasaUnavailable("circuit open: most recent calls to Rasa failed")
        try:
            body, headers = signed_request(self.secret, sender, message, metadata)
            url = f"{self.base_url}{CHANNEL_PATH}"
            response = await self._client.post(url, content=body, headers=headers)
            response.raise_for_status()
            replies = response.json()
        except asyncio.CancelledError:
            self.breaker.record_cancelled()
            raise
        except (httpx.HTTPError, ValueError) as exc:
            self.breaker.record_failure()
            logger.warning(
                "Rasa unavailable (%s: %s); circuit %s", type(exc).__name__, exc, self.breaker.state
            )
            raise RasaUnavailable(str(exc)) from exc
        self.breaker.record_success()
        return list(replies or [])

    async def healthy(self) -> bool:
        try:
            response = await self._client.get(f"{self.base_url}/", timeout=2.0)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    async def aclose(self) -> None:
        await self._client.aclose()
