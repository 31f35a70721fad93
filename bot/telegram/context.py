"""What handlers share: the assistant, the database and the user behind an update."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.pipeline import Assistant, ChatUser
from community.database import Database
from community.i18n import is_curated, t
from community.people.models import Person


def assistant(context: ContextTypes.DEFAULT_TYPE) -> Assistant:
    return context.application.bot_data["assistant"]


def database(context: ContextTypes.DEFAULT_TYPE) -> Database:
    return assistant(context).database


def chat_user(update: Update) -> ChatUser:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    return ChatUser(
        channel="telegram",
        user_id=str(user.id),
        chat_id=str(chat.id),
        name=user.full_name or "",
        telegram_id=user.id,
        language_hint=user.language_code,
    )


def person_of(context: ContextTypes.DEFAULT_TYPE, update: Update) -> tuple[Person, str]:
    """The person behind the update (registered on first contact) and their language.

    The Person is detached after the session closes; read only its plain columns.
    """
    with database(context).session() as session:
        person = assistant(context).person_for(session, chat_user(update))
        _ = person.roles  # loaded now: roles are what staff checks read
        return person, person.preferred_language


def say(key: str, language: str, **params: Any) -> str:
    """A catalogue text (English for languages without curated texts: these are short UI strings)."""
    return t(key, language if is_curated(language) else "en", **params)
