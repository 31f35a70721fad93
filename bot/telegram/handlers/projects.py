"""Needs as projects in chat (便民服务联认, issue #17): /project and /partner for the desk, the buttons of the
partners' contacts and the desk, the claimant's notes, and `/start pj_<id>` for a resident who supports one.

Buttons (prefix `pj:`): pub:<id> publish, x:<id> cancel, c:<id>[:<n>] claim (n hands), ok:<claim> / no:<claim>
confirm or refuse a claim, p:<id> / d:<id> a progress / completion note, s:<id> support. The database work
and the translations are apart: free text is translated for its readers before the one transaction of a step.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.render import send_text
from community.conversations import service as conversations
from community.database import utcnow
from community.i18n import CURATED_LANGUAGES
from community.partners.knowledge import offer_names
from community.people.models import Person
from community.projects import notify, parsing, service, summary
from community.projects.errors import ProjectError
from community.projects.models import OPEN_STATES, Project
from community.tickets.thread import prepare_words

logger = logging.getLogger(__name__)

DRAFT = "project_draft"  # the desk is answering the step-by-step of its own need
NOTE = "project_note"  # a claimant's progress or completion note is the next message
START_PAYLOAD = "pj_"
STEPS = ("what", "where", "when", "hands", "skills")
MAX_HANDS_BUTTONS = 6


def _markup(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


async def _html(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup: Any = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _plain(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup: Any = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, text, markup)


def _me(session: Any, context: ContextTypes.DEFAULT_TYPE, update: Update) -> Person:
    return assistant(context).person_for(session, chat_user(update))


def _draft_buttons(project_id: int, language: str) -> InlineKeyboardMarkup:
    return _markup(
        [
            [
                (say("projects.button.publish", language), f"pj:pub:{project_id}"),
                (say("projects.button.cancel", language), f"pj:x:{project_id}"),
            ]
        ]
    )


# --- /project ------------------------------------------------------------------------------------------


def _from_ticket(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ref: str, args: list[str], language: str
) -> tuple[str, int | None]:
    """(the draft card or a polite refusal, the draft's id)."""
    try:
        with database(context).session() as session:
            me = _me(session, context, update)
            hands = parsing.parse_hands(args[0]) if args else 1
            skills = parsing.parse_skills(",".join(args[1:])) if len(args) > 1 else []
            project = service.new_from_ticket(session, me, ref, hands, skills, utcnow())
            return say("projects.draft.head", language) + "\n" + notify.card(
                session, project, language
            ), project.id
    except ProjectError as exc:
        return exc.localized(language), None


def _start_draft(context: ContextTypes.DEFAULT_TYPE, update: Update) -> str | None:
    """Starts the step-by-step for the desk; the refusal otherwise."""
    with database(context).session() as session:
        me = _me(session, context, update)
        if not service.is_desk(me):
            return "projects.error.desk_only"
        conversations.put(session, DRAFT, chat_user(update).key, {"step": "what"}, utcnow())
        return None


def _list(context: ContextTypes.DEFAULT_TYPE, update: Update, language: str) -> str:
    with database(context).session() as session:
        me = _me(session, context, update)
        if not service.is_desk(me):
            return say("projects.error.desk_only", language)
        projects = list(session.scalars(select(Project).order_by(Project.id.desc()).limit(20)))
        if not projects:
            return say("projects.list.empty", language)
        lines = [say("projects.list.head", language)]
        for p in projects:
            lines.append(
                say(
                    "projects.summary.item",
                    language,
                    id=p.id,
                    title=notify.title_in(p, language),
                    claimed=p.hands_claimed,
                    needed=p.hands_needed,
                    state=say(f"projects.state.{p.state}", language),
                )
            )
        return "\n".join(lines)


def _cancel(context: ContextTypes.DEFAULT_TYPE, update: Update, raw: str, language: str) -> str:
    try:
        with database(context).session() as session:
            if not raw.lstrip("#").isdigit():
                raise ProjectError("projects.usage")
            project = service.cancel(session, _me(session, context, update), int(raw.lstrip("#")), utcnow())
            return say("projects.reply.cancelled", language, id=project.id)
    except ProjectError as exc:
        return exc.localized(language)


async def project(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/project new [ref [hands [skills]]]`, `/project list`, `/project cancel <id>`."""
    _, language = await run_sync(person_of, context, update)
    args = context.args or []
    action = args[0].lower() if args else ""
    if action == "new" and len(args) >= 2:
        text, draft_id = await run_sync(_from_ticket, context, update, args[1], args[2:], language)
        if draft_id is None:
            await _plain(update, context, text)
        else:
            await _html(update, context, text, _draft_buttons(draft_id, language))
    elif action == "new":
        refused = await run_sync(_start_draft, context, update)
        await _plain(update, context, say(refused or "projects.ask.what", language))
    elif action == "list":
        await _plain(update, context, await run_sync(_list, context, update, language))
    elif action == "cancel" and len(args) == 2:
        await _plain(update, context, await run_sync(_cancel, context, update, args[1], language))
    else:
        await _plain(update, context, say("projects.usage", language))


# --- the desk's own need, step by step ------------------------------------------------------------------


def _draft_step(
    context: ContextTypes.DEFAULT_TYPE, update: Update, text: str
) -> tuple[str, bool, int | None] | None:
    """(what to say, is it the HTML card, the draft id) for the next answer; None when no draft is live."""
    now = utcnow()
    key = chat_user(update).key
    with database(context).session() as session:
        state = conversations.get(session, DRAFT, key, now)
        if state is None:
            return None
        me = _me(session, context, update)
        language = me.preferred_language
        draft: dict[str, Any] = dict(state)
        step = str(draft.get("step") or "what")
        try:
            if step == "what":
                if not text.strip():
                    raise ProjectError("projects.error.empty")
                draft["what"] = text.strip()
            elif step == "where":
                draft["grid"], draft["micro_grid"] = parsing.parse_place(session, text)
            elif step == "when":
                starts, ends = parsing.parse_when(text)
                draft["starts_at"] = starts.isoformat() if starts else None
                draft["ends_at"] = ends.isoformat() if ends else None
            elif step == "hands":
                draft["hands"] = parsing.parse_hands(text)
            else:
                draft["skills"] = parsing.parse_skills(text)
        except ProjectError as exc:
            return exc.localized(language), False, None
        following = STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else None
        if following is not None:
            draft["step"] = following
            conversations.put(session, DRAFT, key, draft, now)
            known = ", ".join(sorted(offer_names()))
            return say(f"projects.ask.{following}", language, known=known), False, None
        conversations.forget(session, DRAFT, key)
        try:
            made = service.new_own(session, me, draft, language, now)
        except ProjectError as exc:
            return exc.localized(language), False, None
        card = say("projects.draft.head", language) + "\n" + notify.card(session, made, language)
        return card, True, made.id


async def draft_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True when the message answered a step of the desk's own need (handlers/pending.py asks)."""
    message = update.effective_message
    if message is None or not message.text:
        return False
    step = await run_sync(_draft_step, context, update, message.text)
    if step is None:
        return False
    text, is_card, draft_id = step
    if is_card and draft_id is not None:
        _, language = await run_sync(person_of, context, update)
        await _html(update, context, text, _draft_buttons(draft_id, language))
    else:
        await _plain(update, context, text)
    return True


# --- publishing: translate first, then one transaction -------------------------------------------------


def _publish_reading(
    context: ContextTypes.DEFAULT_TYPE, update: Update, project_id: int
) -> tuple[str, str, str, set[str]]:
    with database(context).session() as session:
        me = _me(session, context, update)
        if not service.is_desk(me):
            raise ProjectError("projects.error.desk_only")
        found = service.get_project(session, project_id)
        # Every curated language too: the web page and later supporters read the published text.
        targets = service.reader_languages(session, found) | set(CURATED_LANGUAGES)
        return found.title, found.description, found.language, targets


def _publish(
    context: ContextTypes.DEFAULT_TYPE, update: Update, project_id: int, words: dict[str, Any], language: str
) -> str:
    with database(context).session() as session:
        done, told = service.publish(session, _me(session, context, update), project_id, words, utcnow())
        return say("projects.reply.published", language, id=done.id, n=told)


async def _on_publish(
    update: Update, context: ContextTypes.DEFAULT_TYPE, project_id: int, language: str
) -> str:
    title, description, source, targets = await run_sync(_publish_reading, context, update, project_id)
    words = {
        "title": (await prepare_words(title, source, targets)).data(),
        "description": (await prepare_words(description, source, targets)).data(),
    }
    return await run_sync(_publish, context, update, project_id, words, language)


# --- claims --------------------------------------------------------------------------------------------


def _claim(
    context: ContextTypes.DEFAULT_TYPE, update: Update, project_id: int, hands: int | None, language: str
) -> tuple[str, list[int]]:
    """(the answer, hand choices to offer when the claimant still has to pick)."""
    with database(context).session() as session:
        me = _me(session, context, update)
        if hands is None:
            found = service.get_project(session, project_id)
            left = found.hands_needed - found.hands_claimed
            if left > 1 and found.state in OPEN_STATES and service.partner_contacts(session, me):
                return say("projects.reply.pick_hands", language, id=project_id, left=left), list(
                    range(1, min(left, MAX_HANDS_BUTTONS) + 1)
                )
        made = service.claim(session, me, project_id, hands, utcnow())
        return say("projects.reply.claimed", language, id=project_id, hands=made.hands), []


def _decide(
    context: ContextTypes.DEFAULT_TYPE, update: Update, claim_id: int, ok: bool, language: str
) -> str:
    with database(context).session() as session:
        service.decide(session, _me(session, context, update), claim_id, ok, utcnow())
        return say("projects.reply.confirmed" if ok else "projects.reply.refused", language, claim=claim_id)


def _ask_note(context: ContextTypes.DEFAULT_TYPE, update: Update, project_id: int, done: bool) -> None:
    with database(context).session() as session:
        service.check_reporter(session, _me(session, context, update), project_id)
        conversations.put(session, NOTE, chat_user(update).key, {"id": project_id, "done": done}, utcnow())


def _support(context: ContextTypes.DEFAULT_TYPE, update: Update, project_id: int, language: str) -> str:
    with database(context).session() as session:
        found, new = service.support(session, _me(session, context, update), project_id, utcnow())
        key = "projects.reply.supported" if new else "projects.reply.already_supported"
        return say(key, language, id=found.id)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _, language = await run_sync(person_of, context, update)
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 2 else ""
    numbers = [int(p) for p in parts[2:] if p.isdigit() and len(p) < 10]
    if not numbers or len(numbers) != len(parts) - 2:
        await query.answer(say("fallback.rephrase", language), show_alert=True)
        return
    target = numbers[0]
    try:
        if action == "pub":
            answer = await _on_publish(update, context, target, language)
        elif action == "x":
            answer = await run_sync(_cancel, context, update, str(target), language)
        elif action == "c":
            hands = numbers[1] if len(numbers) > 1 else None
            answer, choices = await run_sync(_claim, context, update, target, hands, language)
            if choices:
                rows = [
                    [(say("projects.button.hands", language, n=n), f"pj:c:{target}:{n}") for n in choices]
                ]
                await query.answer()
                await _plain(update, context, answer, _markup(rows))
                return
        elif action in ("ok", "no"):
            answer = await run_sync(_decide, context, update, target, action == "ok", language)
        elif action in ("p", "d"):
            await run_sync(_ask_note, context, update, target, action == "d")
            answer = say(
                "projects.reply.ask_done" if action == "d" else "projects.reply.ask_progress",
                language,
                id=target,
            )
        elif action == "s":
            answer = await run_sync(_support, context, update, target, language)
        else:
            answer = say("fallback.rephrase", language)
    except ProjectError as exc:
        await query.answer(exc.localized(language), show_alert=True)
        await _plain(update, context, exc.localized(language))
        return
    await query.answer()
    await _plain(update, context, answer)


# --- the claimant's note -------------------------------------------------------------------------------


def _note_reading(
    context: ContextTypes.DEFAULT_TYPE, update: Update
) -> tuple[int, bool, str, set[str]] | None:
    with database(context).session() as session:
        state = conversations.get(session, NOTE, chat_user(update).key, utcnow())
        if state is None:
            return None
        found = service.get_project(session, int(state["id"]))
        me = _me(session, context, update)
        return (
            found.id,
            bool(state.get("done")),
            me.preferred_language,
            service.reader_languages(session, found),
        )


def _report(
    context: ContextTypes.DEFAULT_TYPE, update: Update, project_id: int, done: bool, words: dict[str, Any]
) -> None:
    with database(context).session() as session:
        service.report(session, _me(session, context, update), project_id, done, words, utcnow())
        conversations.forget(session, NOTE, chat_user(update).key)


async def note_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True when the message was a claimant's progress or completion note (handlers/pending.py asks)."""
    message = update.effective_message
    if message is None or not message.text:
        return False
    try:
        reading = await run_sync(_note_reading, context, update)
    except ProjectError as exc:  # the project went away while the note was being written
        _, language = await run_sync(person_of, context, update)
        await _plain(update, context, exc.localized(language))
        return True
    if reading is None:
        return False
    project_id, done, language, targets = reading
    words = (await prepare_words(message.text, language, targets)).data()
    try:
        await run_sync(_report, context, update, project_id, done, words)
    except ProjectError as exc:
        await _plain(update, context, exc.localized(language))
        return True
    key = "projects.reply.completed" if done else "projects.reply.progress"
    await _plain(update, context, say(key, language, id=project_id))
    return True


# --- /start pj_<id>: the project's page opened in Telegram ----------------------------------------------


def _public_card(context: ContextTypes.DEFAULT_TYPE, update: Update, raw: str) -> tuple[str, int | None, str]:
    with database(context).session() as session:
        me = _me(session, context, update)
        language = me.preferred_language
        if not raw.isdigit() or len(raw) > 9:
            return say("projects.error.not_found", language, id=raw[:12]), None, language
        try:
            found = service.get_project(session, int(raw))
        except ProjectError as exc:
            return exc.localized(language), None, language
        if found.state not in ("published", "claimed", "in_progress"):
            return say("projects.error.not_open", language, id=found.id), None, language
        return (
            say("projects.support.head", language) + "\n" + notify.card(session, found, language),
            found.id,
            language,
        )


async def open_project(update: Update, context: ContextTypes.DEFAULT_TYPE, raw: str) -> None:
    text, project_id, language = await run_sync(_public_card, context, update, raw)
    if project_id is None:
        await _plain(update, context, text)
        return
    await _html(
        update, context, text, _markup([[(say("projects.button.support", language), f"pj:s:{project_id}")]])
    )


# --- the weekly summary ---------------------------------------------------------------------------------


async def weekly_summary_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The committee's weekly summary through the outbox, once per week whatever the processes."""
    sent = await run_sync(summary.send_weekly, database(context), utcnow())
    if sent is not None:
        logger.info("weekly project summary sent to %d committee members", sent)
