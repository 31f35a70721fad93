"""What the next message is for: one read of the sender's conversation state, then the one handler waiting.

A volunteer's note after Resolve, a message after Reply / Ask / Message, the desk's announcement text and a
holder's reason for more time are each conversation state of their own kind. Most messages have none of them,
so the state is read once for all the kinds (one query) and only a handler whose kind is live is asked; an
ordinary question goes to the assistant after that single read.

A feature that waits for the next text adds its kind and handler to `TEXT` (or `PHOTO`, `LOCATION`), in the
order it should be asked when several are live.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import chat_user, database
from bot.telegram.handlers.announce import STATE as ANNOUNCE
from bot.telegram.handlers.announce import announce_text
from bot.telegram.handlers.extension import PENDING as EXTENSION_REASON
from bot.telegram.handlers.extension import reason_for_extension
from bot.telegram.handlers.matters import STATE as MATTER
from bot.telegram.handlers.matters import take_text as matter_text
from bot.telegram.handlers.projects import DRAFT as PROJECT_DRAFT  # needs as projects (issue #17)
from bot.telegram.handlers.projects import NOTE as PROJECT_NOTE
from bot.telegram.handlers.projects import draft_text, note_text
from bot.telegram.handlers.staff import RESOLVE_NOTE, resolve_with_note
from bot.telegram.handlers.thread import PENDING as THREAD_NEXT
from bot.telegram.handlers.thread import take_message
from community.conversations import service as conversations
from community.database import utcnow

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[bool]]

TEXT: tuple[tuple[str, Handler], ...] = (
    (RESOLVE_NOTE, resolve_with_note),
    (THREAD_NEXT, take_message),
    (ANNOUNCE, announce_text),
    (EXTENSION_REASON, reason_for_extension),
    (MATTER, matter_text),  # 有事好商量: a matter, a meeting's time and place, an outcome
    # Needs as projects (issue #17): the desk's own need step by step, a claimant's note.
    (PROJECT_DRAFT, draft_text),
    (PROJECT_NOTE, note_text),
)
PHOTO: tuple[tuple[str, Handler], ...] = ((RESOLVE_NOTE, resolve_with_note), (THREAD_NEXT, take_message))
LOCATION: tuple[tuple[str, Handler], ...] = ((THREAD_NEXT, take_message),)


def _live_kinds(context: ContextTypes.DEFAULT_TYPE, update: Update, kinds: list[str]) -> set[str]:
    with database(context).session() as session:
        return set(conversations.get_kinds(session, chat_user(update).key, kinds, utcnow()))


async def _take(
    update: Update, context: ContextTypes.DEFAULT_TYPE, table: tuple[tuple[str, Handler], ...]
) -> bool:
    live = await run_sync(_live_kinds, context, update, [kind for kind, _ in table])
    for kind, handler in table:
        if kind in live and await handler(update, context):
            return True
    message = update.effective_message
    # A reply to the bot's message about an open ticket goes on that ticket with no state at all.
    if THREAD_NEXT not in live and message is not None and message.reply_to_message is not None:
        return await take_message(update, context)
    return False


async def take_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    return await _take(update, context, TEXT)


async def take_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    return await _take(update, context, PHOTO)


async def take_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    return await _take(update, context, LOCATION)
