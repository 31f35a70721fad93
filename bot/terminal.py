"""The terminal chat: the same pipeline as Telegram, rendered as text.

Buttons become numbered choices (type the number), venues become name, address, distance and a map link.
Type `/loc 32.2101,119.4302` to share a location, `/photo NAME` to attach a photo, `/quit` to leave.
"""

from __future__ import annotations

import asyncio
import queue
import re
import sys
import threading
import uuid
from collections.abc import Callable
from typing import TextIO

from bot.pipeline import Assistant, ChatUser
from bot.replies import Button, LocationRequest, Photo, Reply, Text, Turn, Venue

_LOC = re.compile(r"^/loc(?:ation)?\s+(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")
_PHOTO = re.compile(r"^/photo\s+(\S+)\s*$")

HELP = (
    "Type a message in any language. A number picks a choice; /loc LAT,LON shares a location; "
    "/photo NAME attaches a photo; /map shows the map; /quit leaves."
)


def render(reply: Reply, choices: list[Button]) -> str:
    """One reply as terminal text; its buttons are numbered after the choices already shown."""
    if isinstance(reply, Text):
        lines = [reply.text] if reply.text else []
        for button in reply.buttons:
            choices.append(button)
            lines.append(f"  [{len(choices)}] {button.title}")
        return "\n".join(lines)
    if isinstance(reply, Venue):
        parts = [f"📍 {reply.title}", reply.address]
        if reply.distance_m is not None:
            walk = f", ~{round(reply.walk_min)} min walk" if reply.walk_min is not None else ""
            parts.append(f"{round(reply.distance_m)} m{walk}")
        if reply.open_now is not None:
            parts.append("open now" if reply.open_now else "closed now")
        text = " — ".join(p for p in parts if p)
        return f"{text}\n   {reply.map_url}" if reply.map_url else text
    if isinstance(reply, LocationRequest):
        return f"{reply.text}\n  ({reply.button}: type /loc LAT,LON)"
    if isinstance(reply, Photo):
        where = reply.path or reply.file_id or ("QR code" if reply.data else "")
        return f"🖼  [picture: {where}] {reply.caption}".rstrip()
    return str(reply)


def render_turn(turn: Turn) -> tuple[str, list[Button]]:
    choices: list[Button] = []
    text = "\n".join(render(r, choices) for r in turn.replies)
    return text, choices


async def run_terminal(
    assistant: Assistant,
    *,
    name: str = "local",
    read: Callable[[], str] | None = None,
    out: TextIO = sys.stdout,
) -> None:
    """Chat until /quit or end of input. `read` defaults to input() in a thread (Ctrl-C stops it)."""
    user = ChatUser(channel="terminal", user_id=name, chat_id=name, name=name)
    lines = _LineReader(read or (lambda: input("you> ")))
    print(f"Xijin Community Assistant — terminal chat. {HELP}", file=out)
    choices: list[Button] = []
    # Message ids unique across terminal sessions: a message's id is its ticket's source key (one message
    # files one ticket), and the conversation state that remembers a filed report outlives the session.
    session_tag = uuid.uuid4().hex[:8]
    count = 0
    while True:
        raw = await lines.next()
        if raw is None:
            break
        line = raw.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        count += 1
        message_id = f"{session_tag}-{count}"
        if line.isdigit() and 1 <= int(line) <= len(choices):
            turn = await assistant.press(user, choices[int(line) - 1].payload, message_id=message_id)
        elif match := _LOC.match(line):
            where = (float(match.group(1)), float(match.group(2)))
            turn = await assistant.handle(user, None, location=where, message_id=message_id)
        elif match := _PHOTO.match(line):
            turn = await assistant.handle(user, None, photos=(match.group(1),), message_id=message_id)
        else:
            turn = await assistant.handle(user, line, message_id=message_id)
        text, new_choices = render_turn(turn)
        if new_choices or turn.replies:
            choices = new_choices
        print(f"bot> {text}" if text else "bot> …", file=out, flush=True)


class _LineReader:
    """Reads lines in a daemon thread, one at a time when asked.

    input() cannot be cancelled: in asyncio's default executor it would keep asyncio.run() (and so Ctrl-C)
    waiting for the next line. A daemon thread does not hold up the exit.
    """

    def __init__(self, read: Callable[[], str]) -> None:
        self._read = read
        self._wanted: queue.Queue[None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lines: asyncio.Queue[str | None] | None = None

    def _run(self, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
        while True:
            self._wanted.get()
            try:
                line: str | None = self._read()
            except (EOFError, KeyboardInterrupt):
                line = None
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if line is None:
                return

    async def next(self) -> str | None:
        """The next line, or None at the end of input."""
        if self._thread is None:
            self._lines = asyncio.Queue()
            self._thread = threading.Thread(
                target=self._run, args=(asyncio.get_running_loop(), self._lines), daemon=True
            )
            self._thread.start()
        assert self._lines is not None
        if not self._thread.is_alive() and self._lines.empty():
            return None
        self._wanted.put(None)
        return await self._lines.get()
