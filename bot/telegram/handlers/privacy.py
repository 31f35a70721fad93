"""/forget: deletes the phone the person let us remember for their reports, and says what was deleted.

Contacts already written on tickets are personal data of those tickets: community/retention.py erases each
TICKET_CONTACT_KEPT_DAYS after its ticket ended, and the answer says so.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, say
from bot.telegram.render import send_text
from community.outreach.contact import forget_phone, masked
from community.settings import get_settings


def _forget(context: ContextTypes.DEFAULT_TYPE, update: Update) -> tuple[str | None, str]:
    with database(context).session() as session:
        person = assistant(context).person_for(session, chat_user(update))
        return forget_phone(session, person), person.preferred_language


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    phone, language = await run_sync(_forget, context, update)
    if phone is None:
        text = say("outreach.nothing_to_forget", language)
    else:
        days = get_settings().ticket_contact_kept_days
        text = say("outreach.forgot", language, phone=masked(phone), days=days)
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, text)
