"""Telegram, faked at the request layer: the real Bot and Application run, and every Bot API call they make is
recorded here and answered the way Telegram answers it (including 403 for a blocked user and 429 flood
control).
"""

from __future__ import annotations

import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

BOT_ID = 777000111
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Xijin",
    "username": "xijin_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    # Uploaded files (a photo sent as bytes): field name → (file name, content, MIME type).
    files: dict[str, Any] = field(default_factory=dict)

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = (markup or {}).get("inline_keyboard") or (markup or {}).get("keyboard") or []
        return [button for row in rows for button in row]


@dataclass
class FakeTelegram(BaseRequest):
    """A recording request layer. `blocked` chats answer 403; `flood` chats answer 429 once per entry, and
    `flood_on` (chat, method) pairs likewise, for a notification cut off after its first parts; `flooded`
    chats answer 429 to every call while they are in it. `errors` give a chat's next calls the listed HTTP
    status codes (5xx: Telegram failing); `network_down` makes the next calls fail before reaching Telegram.
    Only what Telegram accepted is recorded in `calls`: it is what the receivers saw."""

    calls: list[Call] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    flood: dict[int, int] = field(default_factory=dict)  # chat id → retry_after seconds, for the next call
    flood_on: dict[tuple[int, str], int] = field(default_factory=dict)  # (chat id, method) → retry_after
    flooded: dict[int, int] = field(default_factory=dict)  # chat id → retry_after, for every call
    errors: dict[int, list[int]] = field(default_factory=dict)  # chat id → status codes of its next calls
    network_down: int = 0  # how many next calls fail before reaching Telegram
    refused: list[Call] = field(default_factory=list)  # what Telegram answered with an error (not delivered)
    # Called with each accepted call before its answer goes back: a test can break something at that moment.
    on_accept: Callable[[Call], None] | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1000))

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        call = Call(name, params, dict(request_data.multipart_data or {}) if request_data is not None else {})
        if self.network_down > 0:
            self.network_down -= 1
            raise NetworkError("connection refused (fake)")
        refusal = self._refusal(call)
        if refusal is not None:
            self.refused.append(call)
            return refusal
        self.calls.append(call)
        if self.on_accept is not None:
            self.on_accept(call)
        return 200, json.dumps({"ok": True, "result": self._result(call)}).encode()

    def _refusal(self, call: Call) -> tuple[int, bytes] | None:
        chat, name = call.chat_id, call.method
        if chat is None:
            return None
        if name == "sendMessage" and visible_length(call) > MAX_TEXT_LENGTH:
            return 400, _error(400, "Bad Request: message is too long")
        if "caption" in call.params and visible_length(call) > MAX_CAPTION_LENGTH:
            return 400, _error(400, "Bad Request: message caption is too long")
        if chat in self.blocked:
            return 403, _error(403, "Forbidden: bot was blocked by the user")
        if chat in self.flood or (chat, name) in self.flood_on or chat in self.flooded:
            if chat in self.flooded:
                retry = self.flooded[chat]
            else:
                retry = self.flood.pop(chat) if chat in self.flood else self.flood_on.pop((chat, name))
            return 429, _error(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        if self.errors.get(chat):
            code = self.errors[chat].pop(0)
            return code, _error(code, "Internal Server Error" if code == 500 else "Bad Gateway")
        return None

    def _result(self, call: Call) -> Any:
        if call.method == "getMe":
            return BOT_USER
        if call.method.startswith("send"):
            message: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": call.chat_id, "type": "private"},
                "from": BOT_USER,
            }
            if call.method == "sendMessage":
                message["text"] = call.params.get("text", "")
            elif call.method == "sendPhoto":
                message["photo"] = [
                    {
                        "file_id": f"photo-{message['message_id']}",
                        "file_unique_id": "u",
                        "width": 800,
                        "height": 600,
                    }
                ]
            elif call.method == "sendVenue":
                message["venue"] = {
                    "location": {"latitude": call.params["latitude"], "longitude": call.params["longitude"]},
                    "title": call.params["title"],
                    "address": call.params["address"],
                }
            elif call.method == "sendLocation":
                message["location"] = {
                    "latitude": call.params["latitude"],
                    "longitude": call.params["longitude"],
                }
            return message
        if call.method.startswith("edit"):
            return True
        return True

    # --- what the tests look at -------------------------------------------------------------------------

    def to(self, chat_id: int, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.chat_id == chat_id and (method is None or c.method == method)]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.text for c in self.to(chat_id) if c.text]

    def clear(self) -> None:
        self.calls.clear()


MAX_TEXT_LENGTH = 4096  # Telegram's limits, counted after the HTML is parsed
MAX_CAPTION_LENGTH = 1024
_TAG = re.compile(r"<[^>]+>")


def visible_length(call: Call) -> int:
    """The length Telegram checks: the text (or caption) after HTML parsing, in UTF-16 code units."""
    text = call.text
    if call.params.get("parse_mode") == "HTML":
        text = html.unescape(_TAG.sub("", text))
    return len(text.encode("utf-16-le")) // 2


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return json.dumps(body).encode()


# --- updates as Telegram sends them --------------------------------------------------------------------

_update_ids = itertools.count(int(time.time()) % 1_000_000 * 1000)
_message_ids = itertools.count(1)


def _user(user_id: int, language_code: str | None, name: str) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
    if language_code:
        user["language_code"] = language_code
    return user


def message_update(
    user_id: int,
    text: str | None = None,
    *,
    language_code: str | None = None,
    name: str = "Tester",
    location: tuple[float, float] | None = None,
    photo: str | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": name},
        "from": _user(user_id, language_code, name),
    }
    if text is not None and photo is None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if location is not None:
        message["location"] = {"latitude": location[0], "longitude": location[1]}
    if photo is not None:
        message["photo"] = [
            {"file_id": f"{photo}-small", "file_unique_id": f"{photo}-s", "width": 90, "height": 90},
            {"file_id": photo, "file_unique_id": f"{photo}-l", "width": 1280, "height": 960},
        ]
        if text:
            message["caption"] = text
    return {"update_id": update_id if update_id is not None else next(_update_ids), "message": message}


def callback_update(
    user_id: int, data: str, *, name: str = "Tester", language_code: str | None = None
) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": _user(user_id, language_code, name),
            "chat_instance": str(user_id),
            "data": data,
            "message": {
                "message_id": next(_message_ids),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": BOT_USER,
                "text": "…",
            },
        },
    }
