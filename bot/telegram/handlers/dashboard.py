"""/dashboard: a staff member gets a one-time login link to the office dashboard (web/office).

Roles come from the database (`staff_only`); a resident or tourist is told politely that it is for staff.
The link is sent without a preview: Telegram's preview fetch would otherwise open it (a GET never spends
the link, but it need not be fetched by anyone else at all).
"""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import database, say
from bot.telegram.handlers.staff import staff_only
from community.database import utcnow
from community.office.login import LOGIN_VALID_FOR, issue_login
from community.people.models import Person


def _issue(context: ContextTypes.DEFAULT_TYPE, actor: Person) -> str:
    with database(context).session() as session:
        me = session.get(Person, actor.id)
        assert me is not None
        return issue_login(session, me, utcnow())


@staff_only
async def dashboard(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Person, language: str) -> None:
    assert update.effective_chat is not None
    token = await run_sync(_issue, context, actor)
    base = context.application.bot_data["settings"].web_public_url.rstrip("/")
    link = f"{base}/office/login/{token}?lang={language}"
    minutes = int(LOGIN_VALID_FOR.total_seconds() // 60)
    await context.bot.send_message(
        update.effective_chat.id,
        say("office.dashboard.link", language, link=link, minutes=minutes),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
