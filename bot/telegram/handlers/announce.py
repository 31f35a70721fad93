"""The desk's announcements in chat: /announce → the Chinese text → the audience → a preview with every
language's text (the desk may write its own translation) → Send; /announcements lists the reports.

Only a person with the desk role in the database may announce; every step checks it again, and a button
names its draft, which must be the presser's own and still a draft. What the desk is writing (the text, or
a translation) is conversation state ("announce"), so any bot process can take the next message.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import chat_user, database, person_of, say
from bot.telegram.render import send_text
from community.conversations import service as conversations
from community.database import utcnow
from community.grids.models import GridLevel
from community.i18n import CURATED_LANGUAGES, LANGUAGE_NAMES, pick
from community.outreach import announce as announcements
from community.outreach import audience as audiences
from community.outreach.models import AnnouncementStatus
from community.people.models import Person, Role
from community.people.teams import all_teams

STATE = "announce"
_ROW = 2


def _keyboard(buttons: list[tuple[str, str]], per_row: int = 1) -> InlineKeyboardMarkup:
    keys = [InlineKeyboardButton(title[:64], callback_data=data) for title, data in buttons]
    return InlineKeyboardMarkup([keys[i : i + per_row] for i in range(0, len(keys), per_row)])


async def _say(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup: Any = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, text, markup)


async def _desk(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Person, str] | None:
    """The person and their language when they are the desk; else a polite refusal and None."""
    person, language = await run_sync(person_of, context, update)
    if person.has_role(Role.DESK):
        return person, language
    if update.callback_query is not None:
        await update.callback_query.answer(say("outreach.announce.not_desk", language), show_alert=True)
    else:
        await _say(update, context, say("outreach.announce.not_desk", language))
    return None


def _set_state(context: ContextTypes.DEFAULT_TYPE, update: Update, value: dict[str, Any] | None) -> None:
    with database(context).session() as session:
        conversations.update(session, chat_user(update).key, {STATE: value}, utcnow())


async def announce(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    desk = await _desk(update, context)
    if desk is None:
        return
    await run_sync(_set_state, context, update, {"step": "text"})
    await _say(update, context, say("outreach.announce.ask_text", desk[1]))


# --- text the desk types: the announcement, or a translation ---------------------------------------------


def _take(context: ContextTypes.DEFAULT_TYPE, update: Update, text: str) -> tuple[str, Any] | None:
    """Applies a typed text to the desk's draft; None when no announcement text is awaited from this chat."""
    key = chat_user(update).key
    now = utcnow()
    with database(context).session() as session:
        state = conversations.get(session, STATE, key, now)
    if not state or state.get("step") not in ("text", "translation"):
        return None
    person, language = person_of(context, update)
    with database(context).session() as session:
        if not person.has_role(Role.DESK):
            conversations.forget(session, STATE, key)
            return None
        limit = announcements.MAX_CHARS if state["step"] == "text" else announcements.MAX_TRANSLATION_CHARS
        if len(text) > limit:
            return "too_long", (language, len(text), limit)
        try:
            if state["step"] == "text":
                author = session.get(Person, person.id)
                assert author is not None
                draft = announcements.create_draft(session, author, text, now)
                conversations.put(session, STATE, key, {"step": "audience", "id": draft.id}, now)
                return "audience", (language, draft.id)
            author = session.get(Person, person.id)
            assert author is not None
            draft = announcements.draft_of(session, int(state["id"]), author)
            announcements.add_translation(draft, str(state["language"]), text)
            conversations.put(session, STATE, key, {"step": "review", "id": draft.id}, now)
            return "preview", (language, draft.id)
        except announcements.AnnouncementError:
            conversations.forget(session, STATE, key)
            return "stale", (language,)


async def announce_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True when the message was the desk's announcement text or translation (chat.on_text asks first)."""
    message = update.effective_message
    if message is None or not message.text:
        return False
    taken = await run_sync(_take, context, update, message.text.strip())
    if taken is None:
        return False
    what, args = taken
    if what == "too_long":
        language, length, limit = args
        await _say(update, context, say("outreach.announce.too_long", language, length=length, limit=limit))
    elif what == "audience":
        await _ask_audience(update, context, *args)
    elif what == "preview":
        await _preview(update, context, *args)
    else:
        await _say(update, context, say("outreach.announce.stale", args[0]))
    return True


# --- the audience -----------------------------------------------------------------------------------------


async def _ask_audience(
    update: Update, context: ContextTypes.DEFAULT_TYPE, language: str, draft: int
) -> None:
    buttons = [(say(f"outreach.audience.{k}", language), f"an:a:{draft}:{k}") for k in audiences.KINDS]
    await _say(update, context, say("outreach.announce.ask_audience", language), _keyboard(buttons))


def _choices(context: ContextTypes.DEFAULT_TYPE, kind: str, language: str) -> list[tuple[str, str]]:
    with database(context).session() as session:
        if kind == "team":
            return [(pick(team.names, language), team.code) for team in all_teams(session)]
        return [(pick(g.names, language), g.code) for g in audiences.grids_at(session, GridLevel(kind))]


async def _pick_area(
    update: Update, context: ContextTypes.DEFAULT_TYPE, language: str, draft: int, kind: str
) -> None:
    choices = await run_sync(_choices, context, kind, language)
    if not choices:
        await _say(update, context, say("outreach.announce.no_teams", language))
        return
    buttons = [(name, f"an:a:{draft}:{kind}:{code}") for name, code in choices]
    key = "outreach.announce.pick_team" if kind == "team" else "outreach.announce.pick_area"
    await _say(update, context, say(key, language), _keyboard(buttons, _ROW))


def _choose(context: ContextTypes.DEFAULT_TYPE, update: Update, draft_id: int, audience: str) -> bool:
    person, _ = person_of(context, update)
    with database(context).session() as session:
        author = session.get(Person, person.id)
        assert author is not None
        draft = announcements.draft_of(session, draft_id, author)
        try:
            announcements.set_audience(session, draft, audience)
        except audiences.UnknownAudience:
            return False
        conversations.put(session, STATE, chat_user(update).key, {"step": "review", "id": draft.id}, utcnow())
        return True


# --- the preview ------------------------------------------------------------------------------------------


def _language_name(code: str, language: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


async def _preview(update: Update, context: ContextTypes.DEFAULT_TYPE, language: str, draft: int) -> None:
    shown = await announcements.preview(database(context), draft, utcnow())

    def audience_label() -> str:
        with database(context).session() as session:
            return audiences.label(
                session, shown.audience, language if language in CURATED_LANGUAGES else "en"
            )

    where = await run_sync(audience_label)
    spread = ", ".join(f"{code} {n}" for code, n in shown.languages.items()) or "—"
    lines = [say("outreach.announce.preview", language, audience=where, count=shown.count, languages=spread)]
    for code, entry in shown.texts.items():
        source = "untranslated" if entry["source"] == "original" and code != "zh-Hans" else entry["source"]
        lines += ["", f"[{code} · {say(f'outreach.source.{source}', language)}]", entry["text"]]
    buttons = [
        (say("outreach.announce.send", language), f"an:s:{draft}"),
        (say("outreach.announce.add_translation", language), f"an:l:{draft}"),
        (say("outreach.announce.discard", language), f"an:x:{draft}"),
    ]
    await _say(update, context, "\n".join(lines), _keyboard(buttons))


# --- the buttons ------------------------------------------------------------------------------------------


def _send(context: ContextTypes.DEFAULT_TYPE, update: Update, draft_id: int) -> int:
    person, _ = person_of(context, update)
    with database(context).session() as session:
        author = session.get(Person, person.id)
        assert author is not None
        draft = announcements.draft_of(session, draft_id, author)
        queued = announcements.send(session, draft, utcnow())
        if draft.recipients == 0:
            draft.status = AnnouncementStatus.CANCELLED
        conversations.forget(session, STATE, chat_user(update).key)
        return draft.recipients if queued or draft.recipients else 0


def _discard(context: ContextTypes.DEFAULT_TYPE, update: Update, draft_id: int) -> None:
    person, _ = person_of(context, update)
    with database(context).session() as session:
        author = session.get(Person, person.id)
        assert author is not None
        announcements.draft_of(session, draft_id, author).status = AnnouncementStatus.CANCELLED
        conversations.forget(session, STATE, chat_user(update).key)


def _await_translation(context: ContextTypes.DEFAULT_TYPE, update: Update, draft_id: int, code: str) -> None:
    person, _ = person_of(context, update)
    with database(context).session() as session:
        author = session.get(Person, person.id)
        assert author is not None
        announcements.draft_of(session, draft_id, author)  # still the presser's draft
        state = {"step": "translation", "id": draft_id, "language": code}
        conversations.put(session, STATE, chat_user(update).key, state, utcnow())


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    desk = await _desk(update, context)
    if desk is None:
        return
    _, language = desk
    await query.answer()
    parts = query.data.split(":")
    action, draft = parts[1], int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
    try:
        if action == "a" and len(parts) == 4 and parts[3] in ("grid", "micro_grid", "team"):
            await _pick_area(update, context, language, draft, parts[3])
        elif action == "a" and len(parts) >= 4:
            if await run_sync(_choose, context, update, draft, ":".join(parts[3:])):
                await _preview(update, context, language, draft)
            else:
                await _say(update, context, say("outreach.subscribe.unknown", language))
        elif action == "l" and len(parts) == 3:
            codes = [c for c in CURATED_LANGUAGES if c != "zh-Hans"]
            buttons = [(_language_name(c, language), f"an:l:{draft}:{c}") for c in codes]
            await _say(
                update, context, say("outreach.announce.pick_language", language), _keyboard(buttons, _ROW)
            )
        elif action == "l" and len(parts) == 4:
            await run_sync(_await_translation, context, update, draft, parts[3])
            name = _language_name(parts[3], language)
            await _say(update, context, say("outreach.announce.ask_translation", language, name=name))
        elif action == "s":
            count = await run_sync(_send, context, update, draft)
            key = "outreach.announce.queued" if count else "outreach.announce.nobody"
            await _say(update, context, say(key, language, id=draft, count=count))
        elif action == "x":
            await run_sync(_discard, context, update, draft)
            await _say(update, context, say("outreach.announce.discarded", language))
    except announcements.AnnouncementError:
        await _say(update, context, say("outreach.announce.stale", language))


# --- the reports ------------------------------------------------------------------------------------------


def _reports(context: ContextTypes.DEFAULT_TYPE, language: str) -> list[str]:
    with database(context).session() as session:
        return [announcements.report_text(session, a, language) for a in announcements.recent(session)]


async def list_announcements(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    desk = await _desk(update, context)
    if desk is None:
        return
    reports = await run_sync(_reports, context, desk[1])
    await _say(
        update, context, "\n".join(reports) if reports else say("outreach.announcements.none", desk[1])
    )


async def settle_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Finished announcements: final counts, and the report to their author (through the outbox)."""
    await run_sync(announcements.settle, database(context), utcnow())
