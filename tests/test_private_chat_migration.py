"""Migration h2b0a7c4a7001: a group's chat id stored as a person's chat before the private-chat rule is
forgotten (notifications then go to the person's Telegram id, their private chat); other chats stay."""

from __future__ import annotations

from sqlalchemy import text

from community.database import make_engine
from community.migrate import upgrade
from tests.test_migrations import empty_url  # noqa: F401  (the fixture: SQLite, then PostgreSQL)

PEOPLE = [
    # external key, telegram id, chat id stored before the rule
    ("telegram:501", 501, "-1001234567890"),  # wrote once in a group
    ("telegram:502", 502, "502"),  # the private chat
    ("telegram:503", 503, None),
    ("terminal:ana", None, "ana"),  # the terminal chat has no Telegram id and no groups
]


def test_group_chat_ids_are_forgotten_and_private_ones_kept(empty_url: str) -> None:  # noqa: F811
    upgrade(empty_url, "bbdafe22db87")
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        for key, telegram_id, chat_id in PEOPLE:
            conn.execute(
                text(
                    "INSERT INTO persons (external_key, telegram_id, chat_id, display_name,"
                    " preferred_language, blocked_bot, from_roster, created_at)"
                    " VALUES (:key, :telegram_id, :chat_id, '', 'en', :no, :no, CURRENT_TIMESTAMP)"
                ),
                {"key": key, "telegram_id": telegram_id, "chat_id": chat_id, "no": False},
            )

    upgrade(empty_url)

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT external_key, chat_id FROM persons")).all()
        chats = {key: chat for key, chat in rows}
    engine.dispose()
    assert chats == {"telegram:501": None, "telegram:502": "502", "telegram:503": None, "terminal:ana": "ana"}
