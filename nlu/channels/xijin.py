"""The bot's channel into Rasa: the REST channel's protocol, but only for requests the bot signed.

Rasa's own `rest` channel takes a message from anyone who can reach the port, and the metadata with it names
the person the actions act for. This channel (POST /webhooks/xijin/webhook, listed in credentials.yml as
`channels.xijin.XijinInput`) first checks the HMAC of the body and its timestamp (channels/signature.py);
a request without them gets 401, one with a wrong or stale signature 403, and neither reaches the tracker.
"""

from __future__ import annotations

import json
import logging
import os
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.signature import SECRET_ENV, SIGNATURE_HEADER, TIMESTAMP_HEADER, is_signed

logger = logging.getLogger(__name__)


class XijinInput(RestInput):
    """Rasa's REST protocol ({"sender", "message", "metadata"} in, the bot's messages out), signed."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    @classmethod
    def name(cls) -> str:
        return "xijin"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        # The secret comes from the environment only, never from a file in the repository; without it the
        # server refuses to start rather than run a channel anybody could use.
        secret = os.environ.get(SECRET_ENV, "")
        if not secret:
            raise RuntimeError(f"{SECRET_ENV} is not set: the xijin channel accepts only signed requests")
        return cls(secret)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}")

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
            try:
                payload = json.loads(request.body or b"{}")
            except ValueError:
                return response.json({"error": "the body is not JSON"}, status=400)
            sender, text = payload.get("sender"), payload.get("message")
            metadata = payload.get("metadata")
            if not isinstance(sender, str) or not isinstance(text, str):
                return response.json({"error": "sender and message must be strings"}, status=400)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata if isinstance(metadata, dict) else None,
                    )
                )
            except CancelledError:
                logger.error("xijin channel: message from %s timed out", sender)
            except Exception:
                logger.exception("xijin channel: message from %s failed", sender)
            return response.json(collector.messages)

        return webhook

    def _refusal(self, request: Request) -> HTTPResponse | None:
        """401 without a signature, 403 with a wrong or stale one, None for a request the bot signed."""
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            logger.warning("xijin channel: unsigned request from %s refused", request.ip)
            return response.json({"error": "unsigned request"}, status=401)
        if not is_signed(self.secret, request.body or b"", timestamp, signature):
            logger.warning("xijin channel: wrong or stale signature from %s refused", request.ip)
            return response.json({"error": "wrong or stale signature"}, status=403)
        return None
