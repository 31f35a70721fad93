"""Channel-neutral replies → Bot API calls: text in HTML mode with user content escaped and long text split,
buttons as inline keyboards (callback data within 64 bytes), venues, location requests, photos."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import MessageLimit, ParseMode

from bot.offload import run_sync
from bot.replies import Button, LocationRequest, Photo, Text, Turn, Venue
from community.conversations import service as conversations
from community.database import Database, utcnow

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH - 96  # room for a continuation mark and HTML entities
CALLBACK_LIMIT = 64


class PayloadStore:
    """Rasa payloads as callback data: inline when short enough, else a short key whose payload is kept in
    the database (7 days), so a button still works after a restart or when another bot process gets the
    press."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def encode_all(self, payloads: Sequence[str]) -> list[str]:
        """Callback data for each payload; the long ones are stored in one transaction."""
        data: list[str] = []
        long: dict[str, str] = {}
        for payload in payloads:
            inline = f"r:{payload}"
            if len(inline.encode("utf-8")) <= CALLBACK_LIMIT:
                data.append(inline)
                continue
            key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
            long[key] = payload
            data.append(f"k:{key}")
        if long:
            await run_sync(self._keep, long)
        return data

    async def decode(self, data: str) -> str | None:
        if data.startswith("r:"):
            return data[2:]
        if data.startswith("k:"):
            return await run_sync(self._find, data[2:])
        return None

    def _keep(self, long: dict[str, str]) -> None:
        now = utcnow()
        with self.database.session() as session:
            for key, payload in sorted(long.items()):  # a fixed order: two processes never deadlock
                conversations.put(session, "payload", key, payload, now)

    def _find(self, key: str) -> str | None:
        with self.database.session() as session:
            payload = conversations.get(session, "payload", key, utcnow())
        return str(payload) if payload is not None else None


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces below Telegram's 4,096 characters, cut at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text] if text else pieces


async def inline_keyboard(buttons: tuple[Button, ...], store: PayloadStore) -> InlineKeyboardMarkup:
    data = await store.encode_all([b.payload for b in buttons])
    keys = [InlineKeyboardButton(b.title[:64], callback_data=d) for b, d in zip(buttons, data, strict=True)]
    # Two buttons a row when there are many (a category list), one a row otherwise: easier to hit.
    per_row = 2 if len(buttons) > 4 else 1
    return InlineKeyboardMarkup([keys[i : i + per_row] for i in range(0, len(keys), per_row)])


async def send_text(bot: Bot, chat_id: int | str, text: str, markup: Any = None) -> None:
    """Plain text from our catalogue or Rasa, escaped for HTML mode; the keyboard rides on the last piece."""
    pieces = split_text(html.escape(text, quote=False)) or [" "]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await bot.send_message(
            chat_id, piece, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
        )


async def send_turn(
    bot: Bot, chat_id: int | str, turn: Turn, store: PayloadStore, bot_data: dict[str, Any]
) -> None:
    for reply in turn.replies:
        if isinstance(reply, Text):
            markup = await inline_keyboard(reply.buttons, store) if reply.buttons else None
            await send_text(bot, chat_id, reply.text or "…", markup)
        elif isinstance(reply, Venue):
            await bot.send_venue(
                chat_id,
                latitude=reply.latitude,
                longitude=reply.longitude,
                title=reply.title[:256] or "📍",
                address=_venue_address(reply)[:256],
            )
        elif isinstance(reply, LocationRequest):
            keyboard = ReplyKeyboardMarkup(
                [[KeyboardButton(reply.button, request_location=True)]],
                one_time_keyboard=True,
                resize_keyboard=True,
            )
            await send_text(bot, chat_id, reply.text, keyboard)
        elif isinstance(reply, Photo):
            await send_photo(bot, chat_id, reply, bot_data)


def _venue_address(venue: Venue) -> str:
    parts = [venue.address]
    if venue.distance_m is not None:
        parts.append(f"{round(venue.distance_m)} m")
    if venue.walk_min is not None:
        parts.append(f"~{round(venue.walk_min)} min")
    return " · ".join(p for p in parts if p)


async def send_photo(bot: Bot, chat_id: int | str, photo: Photo, bot_data: dict[str, Any]) -> None:
    """A photo by file id, or uploaded from disk once and then re-sent by the file id Telegram gave it."""
    cache: dict[str, str] = bot_data.setdefault("photo_file_ids", {})
    source: Any = photo.file_id or photo.data or (cache.get(str(photo.path)) if photo.path else None)
    if source is None and photo.path is not None:
        source = photo.path.read_bytes()
    message = await bot.send_photo(chat_id, photo=source, caption=photo.caption[:1024] or None)
    if photo.path is not None and message.photo:
        cache[str(photo.path)] = message.photo[-1].file_id


def remove_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()
