"""One typed settings object, read from the environment and an optional `.env` file.

Every setting is documented in `.env.example`; secrets (tokens, passwords) come only from here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    # Database: a SQLite file under var/ for a newcomer, PostgreSQL in production.
    database_url: str = Field(default=f"sqlite:///{PROJECT_ROOT / 'var' / 'xijin.db'}")

    # Rasa server (loopback only) and its HTTP API token.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr = SecretStr("")
    rasa_timeout_seconds: float = 8.0
    # The bot signs every message to Rasa and the identity in it with this secret (community/identity.py);
    # Rasa's channel and the actions believe nothing else. `xijin run` makes a random one when it is unset.
    xijin_channel_secret: SecretStr = SecretStr("")
    action_server_port: int = 5055

    # Telegram. Without a token the bot runs as a terminal chat.
    telegram_bot_token: SecretStr = SecretStr("")
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_api_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr = SecretStr("")
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    telegram_rate_limiter: bool = True

    # Translation for languages without curated answers and for reporters' free text.
    translation_backend: Literal["google", "null"] = "google"
    translation_timeout_seconds: float = 5.0

    # Background jobs of the bot.
    outbox_interval_seconds: float = 2.0
    sweep_interval_seconds: float = 60.0
    outbox_max_attempts: int = 8
    # Where the relay journals what Telegram confirmed before the database hears of it (community/outbox/
    # journal.py); a volume of its own in production, so that a restarted bot finds it.
    outbox_journal_dir: Path = PROJECT_ROOT / "var" / "outbox-journal"

    # Retention, in days (community/retention.py; the README's table). Personal data first.
    outbox_sent_kept_days: int = Field(default=7, ge=1)
    outbox_dead_scrub_days: int = Field(default=7, ge=1)
    outbox_dead_kept_days: int = Field(default=30, ge=1)
    translation_cache_kept_days: int = Field(default=30, ge=1)
    processed_updates_kept_days: int = Field(default=7, ge=2)
    ticket_contact_kept_days: int = Field(default=30, ge=1)

    # The web front end (web/): loopback unless a reverse proxy is in front; its public base URL for links
    # the bot sends (status pages, the dashboard login, QR codes on service points' doors).
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_public_url: str = "http://127.0.0.1:8080"
    # Map tiles under the web map, e.g. "https://tile.example.org/{z}/{x}/{y}.png"; empty: no tiles (the
    # grids, points and labels are drawn from our GeoJSON alone), for where no tile server can be reached.
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    # The bot's @username without the @: the web pages link to it (https://t.me/<name>?start=point_<code>).
    telegram_bot_username: str = ""

    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    # The community's clock: opening hours, deadlines and times shown to people are in this zone.
    timezone: str = "Asia/Shanghai"
    # How reporters learn who took their report: surname with a form of address ("周师傅", default),
    # the given name only, or the full name (community/tickets/names.py).
    volunteer_name_to_reporters: Literal["surname", "first_name", "full"] = "surname"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # an unknown zone fails at start, not at the first deadline shown
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
