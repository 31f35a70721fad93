"""What the assistant says, independent of the channel. Telegram and the terminal each render these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Text:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Venue:
    latitude: float
    longitude: float
    title: str
    address: str
    distance_m: float | None = None
    walk_min: float | None = None
    open_now: bool | None = None
    map_url: str = ""


@dataclass(frozen=True)
class LocationRequest:
    text: str
    button: str


@dataclass(frozen=True)
class Photo:
    path: Path | None = None
    file_id: str | None = None
    caption: str = ""
    data: bytes | None = None  # a picture made for this reply (a booking's check-in QR code)


Reply = Text | Venue | LocationRequest | Photo


@dataclass
class Turn:
    """The replies to one user message, and what the channel should remember for the next one."""

    replies: list[Reply] = field(default_factory=list)
    # The Rasa payload to send when the user next shares a location (set by a location request).
    location_reply_payload: str | None = None
    language: str = "zh-Hans"
    degraded: bool = False
