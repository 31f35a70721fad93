"""A 10 MB Open311 POST is refused from its headers, before the body is read: against the real server
(uvicorn on a socket), the 413 arrives while the client has sent only the first kilobytes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from community.database import Database
from community.settings import Settings
from tests.integration.conftest import free_port
from web.app import create_app

pytest_plugins = ["tests.web.office_support"]  # loaded, settings

TEN_MB = 10 * 1024 * 1024


@pytest.fixture
def server(loaded: Database, settings: Settings) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(create_app(settings, loaded), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    running.should_exit = True
    thread.join(timeout=10)


def _answer(sock: socket.socket) -> bytes:
    answer = b""
    while b"\r\n\r\n" not in answer:
        more = sock.recv(65536)
        if not more:
            break
        answer += more
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        more = sock.recv(65536)
        if not more:
            break
        body += more
    return head + b"\r\n\r\n" + body


HEAD = (
    "POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
)


def test_a_declared_ten_megabytes_are_refused_after_the_first_kilobytes(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=20) as sock:
        sock.sendall(HEAD.format(framing=f"Content-Length: {TEN_MB}").encode() + b"api_key=x&" + b"x" * 4096)
        answer = _answer(sock)  # answered with 10 MB still unsent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'[{"code": 413, "description": "the request body is larger than 65536 bytes"}]' in answer


def test_a_chunked_body_is_refused_once_past_the_limit(server: int) -> None:
    piece = b"x" * 32768
    with socket.create_connection(("127.0.0.1", server), timeout=20) as sock:
        sock.sendall(HEAD.format(framing="Transfer-Encoding: chunked").encode())
        for _ in range(4):  # 128 KB: past the 64 KB limit, a small part of 10 MB
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code": 413' in answer
