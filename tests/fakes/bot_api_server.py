"""A fake Telegram Bot API server on 127.0.0.1: a real HTTP server a real bot process polls.

It answers getMe, getUpdates (long polling), sendMessage, sendPhoto, sendVenue, sendLocation, the edit and
answer calls and the menu calls the way Telegram does, records every call it accepted (what the receivers
saw), and can be told to answer a chat with 429, 5xx or 403. Point the bot at it with
`TELEGRAM_API_BASE_URL=http://127.0.0.1:<port>/bot`.

In a test:   `with FakeBotApi() as api: api.message(user_id, "hello"); api.wait_for(lambda: api.sent(...))`
Standalone (a benchmark, a person trying things):   `python -m tests.fakes.bot_api_server --port 8081`,
then over HTTP:
- `POST /_fake/message   {"user_id": 1, "text": "hi", "language_code": "en"}` — a private message update;
- `POST /_fake/update    {...}`                          — any update JSON (an update_id is added if absent);
- `GET  /_fake/sent[?chat_id=1&since=0]`                 — the calls accepted, each with its sequence number;
- `POST /_fake/fault {"chat_id": 1, "status": 429, "retry_after": 3, "times": 1}` (times -1: for good);
- `POST /_fake/reset`                                    — forget calls, updates and faults.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import itertools
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BOT_ID = 777000222
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Xijin",
    "username": "xijin_fake_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
LONG_POLL_MAX_SECONDS = 10.0


@dataclass
class SentCall:
    seq: int
    method: str
    params: dict[str, Any]
    at: float

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        try:
            return int(raw) if raw is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "method": self.method, "params": self.params, "at": self.at}


@dataclass
class Fault:
    status: int
    retry_after: int = 0
    times: int = 1  # -1: for ever


def _error(status: int, retry_after: int) -> dict[str, Any]:
    descriptions = {
        403: "Forbidden: bot was blocked by the user",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }
    body: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": descriptions.get(status, "Error"),
    }
    if status == 429:
        body["parameters"] = {"retry_after": retry_after}
    return body


@dataclass
class FakeBotApi:
    host: str = "127.0.0.1"
    port: int = 0
    # Called with each accepted call before its answer leaves: a test can act at that very moment.
    before_answer: Callable[[SentCall], None] | None = None
    calls: list[SentCall] = field(default_factory=list)
    refused: list[SentCall] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _faults: dict[int, Fault] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _seq: Any = field(default_factory=lambda: itertools.count(1))
    _update_ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    # --- life ------------------------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        api = self

        class Handler(_Handler):
            fake = api

        self._server = _Server((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    # --- what a test does ------------------------------------------------------------------------------

    def update(self, update: dict[str, Any]) -> int:
        with self._cond:
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    def message(
        self, user_id: int, text: str, *, language_code: str | None = "en", name: str = "Tester"
    ) -> int:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
        if language_code:
            user["language_code"] = language_code
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": name},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self.update({"message": message})

    def fault(self, chat_id: int, status: int, *, retry_after: int = 0, times: int = 1) -> None:
        with self._cond:
            self._faults[chat_id] = Fault(status, retry_after, times)

    def clear_fault(self, chat_id: int) -> None:
        with self._cond:
            self._faults.pop(chat_id, None)

    def sent(self, chat_id: int | None = None, method: str | None = None, since: int = 0) -> list[SentCall]:
        with self._cond:
            return [
                c
                for c in self.calls
                if c.seq > since
                and (chat_id is None or c.chat_id == chat_id)
                and (method is None or c.method == method)
            ]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.text for c in self.sent(chat_id) if c.text]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait (with a deadline, not a timed assertion) until `condition()` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"still not true after {timeout} s")
            with self._cond:
                self._cond.wait(min(remaining, 0.1))

    def reset(self) -> None:
        with self._cond:
            self.calls.clear()
            self.refused.clear()
            self._updates.clear()
            self._faults.clear()

    # --- what the server does --------------------------------------------------------------------------

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), LONG_POLL_MAX_SECONDS)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                # Telegram forgets the updates before the offset: the bot confirmed them.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline or self._server is None:
                    return list(self._updates[:100])
                self._cond.wait(deadline - time.monotonic())

    def _refusal(self, call: SentCall) -> Fault | None:
        chat = call.chat_id
        with self._cond:
            fault = self._faults.get(chat) if chat is not None else None
            if fault is None:
                return None
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    del self._faults[chat]  # type: ignore[arg-type]
            self.refused.append(call)
            return fault

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        call = SentCall(next(self._seq), method, params, time.time())
        fault = self._refusal(call)
        if fault is not None:
            return fault.status, _error(fault.status, fault.retry_after)
        if self.before_answer is not None:
            self.before_answer(call)
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        return 200, {"ok": True, "result": self._result(call)}

    def _result(self, call: SentCall) -> Any:
        if call.method == "getMe":
            return BOT_USER
        if not call.method.startswith("send"):
            return True
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(call.at),
            "chat": {"id": call.chat_id, "type": "private"},
            "from": BOT_USER,
        }
        p = call.params
        if call.method == "sendMessage":
            message["text"] = p.get("text", "")
        elif call.method == "sendPhoto":
            file_id = p.get("photo") if isinstance(p.get("photo"), str) else f"photo-{message['message_id']}"
            message["photo"] = [{"file_id": file_id, "file_unique_id": "u", "width": 800, "height": 600}]
        elif call.method == "sendVenue":
            location = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
            message["venue"] = {"location": location, "title": p["title"], "address": p["address"]}
        elif call.method == "sendLocation":
            message["location"] = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        return message


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A bot killed or stopped mid-poll drops its connection: what Telegram would shrug off, so do we.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _decode(value: str) -> Any:
    """PTB sends nested values (reply_markup, …) as JSON strings and scalars as plain strings."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    if content_type.startswith("multipart/form-data"):
        raw = b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        params: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                params[str(name)] = {"file": part.get_filename(), "size": len(part.get_payload(decode=True))}
            else:
                params[str(name)] = _decode(part.get_payload(decode=True).decode("utf-8"))
        return params
    form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {key: _decode(values[-1]) for key, values in form.items()}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBotApi
    protocol_version = "HTTP/1.1"
    # The headers and the body leave in two writes: with Nagle's algorithm the body then waits for the
    # client's delayed ACK (40 ms on Linux) on every kept-alive call, a delay Telegram does not have.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return None  # quiet: a test's output is its own

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._route(b"")

    def do_POST(self) -> None:
        self._route(self._body())

    def _route(self, body: bytes) -> None:
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts[0] == "_fake":
            self._control(parts[1] if len(parts) > 1 else "", body, parse_qs(url.query))
            return
        if len(parts) != 2 or not parts[0].startswith("bot"):
            self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        params = _params(self.headers.get("Content-Type") or "", body)
        params.update({k: _decode(v[-1]) for k, v in parse_qs(url.query).items()})
        status, answer = self.fake.answer(parts[1], params)
        self._reply(status, answer)

    def _control(self, what: str, body: bytes, query: dict[str, list[str]]) -> None:
        fake = self.fake
        data = json.loads(body) if body else {}
        if what == "message":
            update_id = fake.message(
                int(data["user_id"]), str(data["text"]), language_code=data.get("language_code")
            )
            self._reply(200, {"ok": True, "update_id": update_id})
        elif what == "update":
            self._reply(200, {"ok": True, "update_id": fake.update(data)})
        elif what == "sent":
            chat = query.get("chat_id")
            since = int(query.get("since", ["0"])[0])
            calls = fake.sent(int(chat[0]) if chat else None, since=since)
            self._reply(200, {"ok": True, "calls": [c.as_json() for c in calls]})
        elif what == "fault":
            fake.fault(
                int(data["chat_id"]),
                int(data["status"]),
                retry_after=int(data.get("retry_after", 0)),
                times=int(data.get("times", 1)),
            )
            self._reply(200, {"ok": True})
        elif what == "reset":
            fake.reset()
            self._reply(200, {"ok": True})
        else:
            self._reply(404, {"ok": False, "description": f"no control {what!r}"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    api = FakeBotApi(port=args.port).start()
    print(f"fake Bot API: TELEGRAM_API_BASE_URL={api.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
