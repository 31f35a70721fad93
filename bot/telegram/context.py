"""What handlers share: the assistant, the database and the user behind an update."""

from __future__ import annotations

from typing import Any

from telegram import Chat, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.pipeline import Assistant, ChatUser
from community.database import Database
from community.i18n import is_curated, t
from community.language import normalise_code
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


async def private_chats_only(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: the assistant works in private chats only.

    Its answers carry personal data (a reporter's tickets, a volunteer's tasks with the reporter's contact),
    and a person's chat — where their notifications go — is taken from the chat they write in. In a group a
    command or a button gets a polite "write to me privately" and nothing else happens; other group messages
    are ignored, so the bot never chats in a group.
    """
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        return
    user = update.effective_user
    hint = normalise_code(user.language_code) if user is not None and user.language_code else None
    text = say("bot.private_only", hint or "en")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None and (update.message.text or "").startswith("/"):
        await context.bot.send_message(chat.id, text, reply_to_message_id=update.message.message_id)
    raise ApplicationHandlerStop


def say(key: str, language: str, **params: Any) -> str:
    """A catalogue text (English for languages without curated texts: these are short UI strings)."""
    return t(key, language if is_curated(language) else "en", **params)
