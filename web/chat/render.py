"""The pipeline's replies and the outbox's notifications as JSON for the chat page's script.

Everything goes out as plain text; the script puts it in the page with textContent, never as HTML, so what
a person typed (echoed in a confirmation or a notification) cannot become markup.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Any

from bot.replies import LocationRequest, Photo, Reply, Text, Turn, Venue

_TAG = re.compile(r"<[^>]*>")
MAP_PICTURE_URL = "/chat/map.png"


def plain(text: str) -> str:
    """A notification's text in Telegram's HTML mode (<b>, <i>, <a>, escaped user text) as plain text."""
    return html.unescape(_TAG.sub("", text))


def reply_json(reply: Reply) -> dict[str, Any] | None:
    if isinstance(reply, Text):
        return {
            "type": "text",
            "text": reply.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in reply.buttons],
        }
    if isinstance(reply, Venue):
        return {
            "type": "venue",
            "title": reply.title,
            "address": reply.address,
            "latitude": reply.latitude,
            "longitude": reply.longitude,
            "distance_m": round(reply.distance_m) if reply.distance_m is not None else None,
            "walk_min": round(reply.walk_min) if reply.walk_min is not None else None,
            "open_now": reply.open_now,
            "map_url": reply.map_url if reply.map_url.startswith(("https://", "http://", "/")) else "",
        }
    if isinstance(reply, LocationRequest):
        return {"type": "location_request", "text": reply.text, "button": reply.button}
    if isinstance(reply, Photo):
        # The red service map is the one picture the assistant draws itself; a Telegram file id means
        # nothing in a browser.
        if reply.path is not None:
            return {"type": "photo", "url": MAP_PICTURE_URL, "caption": reply.caption}
        if reply.data is not None:  # a booking's check-in QR code, drawn for this reply (CSP allows data:)
            url = "data:image/png;base64," + base64.b64encode(reply.data).decode("ascii")
            return {"type": "photo", "url": url, "caption": reply.caption}
        return None
    return None


def turn_json(turn: Turn) -> dict[str, Any]:
    replies = [r for r in (reply_json(x) for x in turn.replies) if r is not None]
    return {"language": turn.language, "degraded": turn.degraded, "replies": replies}


def notification_json(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One outbox payload ({"text", "parse_mode", "buttons", "venue"/"location", "photos"}) as replies."""
    replies: list[dict[str, Any]] = []
    place = payload.get("venue") or payload.get("location")
    if isinstance(place, dict) and "latitude" in place and "longitude" in place:
        replies.append(
            {
                "type": "venue",
                "title": str(place.get("title") or ""),
                "address": str(place.get("address") or ""),
                "latitude": float(place["latitude"]),
                "longitude": float(place["longitude"]),
                "distance_m": None,
                "walk_min": None,
                "open_now": None,
                "map_url": "",
            }
        )
    text = str(payload.get("text") or "")
    if payload.get("parse_mode") == "HTML":
        text = plain(text)
    buttons = [
        {"title": str(b.get("text", "")), "data": str(b.get("callback_data", ""))}
        for row in payload.get("buttons") or []
        for b in row
    ]
    replies.append({"type": "text", "text": text, "buttons": buttons})
    return replies
