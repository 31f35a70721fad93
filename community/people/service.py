"""Finding and registering people; roles always come from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.people.models import Person, PersonRole, Role


def private_chat(chat_id: str | None, telegram_id: int | None) -> str | None:
    """The chat id worth keeping as the person's chat: only the private chat with them.

    Notifications, task cards and contacts go to a person's chat, so a group's chat must never become it.
    On Telegram a private chat has the user's own id (groups and channels have negative ids), so a chat id
    that differs from the person's Telegram id is not theirs. Other channels (the terminal chat) have no
    groups.
    """
    if chat_id is None or (telegram_id is not None and chat_id != str(telegram_id)):
        return None
    return chat_id


def get_or_create_person(
    session: Session,
    external_key: str,
    *,
    telegram_id: int | None = None,
    chat_id: str | None = None,
    display_name: str = "",
    language: str | None = None,
) -> Person:
    """The person behind a channel identity, created on first contact as a resident/tourist.

    `chat_id` is where the message came from; it becomes the person's chat only when it is the private chat
    with them (`private_chat`).
    """
    chat_id = private_chat(chat_id, telegram_id)
    person = session.scalar(select(Person).where(Person.external_key == external_key))
    if person is None and telegram_id is not None:
        # Staff from the roster are matched by their Telegram id when they first write.
        person = session.scalar(select(Person).where(Person.telegram_id == telegram_id))
    if person is None:
        person = Person(
            external_key=external_key,
            telegram_id=telegram_id,
            chat_id=chat_id,
            display_name=display_name,
            preferred_language=language or "zh-Hans",
            roles=[PersonRole(role=Role.RESIDENT)],
        )
        session.add(person)
        session.flush()
        return person
    if person.telegram_id is not None:
        # Checked against the id on record as well: a caller that leaves the Telegram id out does not get
        # to point a Telegram user's notifications elsewhere.
        chat_id = private_chat(chat_id, person.telegram_id)
    if chat_id and person.chat_id != chat_id:
        person.chat_id = chat_id
    if display_name and not person.display_name:
        person.display_name = display_name
    # Writing to the bot again means they unblocked it.
    person.blocked_bot = False
    return person


def set_language(session: Session, person: Person, language: str) -> None:
    person.preferred_language = language


def person_by_id(session: Session, person_id: int) -> Person | None:
    return session.get(Person, person_id)
