"""Channel-neutral replies → Bot API calls: text in HTML mode with user content escaped and long text split,
buttons as inline keyboards (callback data within 64 bytes), venues, location requests, photos."""

from __future__ import annotations

import hashlib
import html
from collections import OrderedDict
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

from bot.replies import Button, LocationRequest, Photo, Text, Turn, Venue

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH - 96  # room for a continuation mark and HTML entities
CALLBACK_LIMIT = 64


class PayloadStore:
    """Rasa payloads as callback data: inline when short enough, else a short key kept here (bounded)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._long: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        data = f"r:{payload}"
        if len(data.encode("utf-8")) <= CALLBACK_LIMIT:
            return data
        key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
        self._long[key] = payload
        self._long.move_to_end(key)
        while len(self._long) > self.capacity:
            self._long.popitem(last=False)
        return f"k:{key}"

    def decode(self, data: str) -> str | None:
        if data.startswith("r:"):
            return data[2:]
        if data.startswith("k:"):
            return self._long.get(data[2:])
        return None


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


def inline_keyboard(buttons: tuple[Button, ...], store: PayloadStore) -> InlineKeyboardMarkup:
    # Two buttons a row when there are many (a category list), one a row otherwise: easier to hit.
    per_row = 2 if len(buttons) > 4 else 1
    rows = [
        [
            InlineKeyboardButton(b.title[:64], callback_data=store.encode(b.payload))
            for b in buttons[i : i + per_row]
        ]
        for i in range(0, len(buttons), per_row)
    ]
    return InlineKeyboardMarkup(rows)


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
            markup = inline_keyboard(reply.buttons, store) if reply.buttons else None
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
    source: Any = photo.file_id or (cache.get(str(photo.path)) if photo.path else None)
    if source is None and photo.path is not None:
        source = photo.path.read_bytes()
    message = await bot.send_photo(chat_id, photo=source, caption=photo.caption[:1024] or None)
    if photo.path is not None and message.photo:
        cache[str(photo.path)] = message.photo[-1].file_id


def remove_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()
