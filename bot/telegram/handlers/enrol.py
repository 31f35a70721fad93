"""Enrolment in chat: /invite makes a one-time deep link and its QR code; opening it (`/start inv_<code>`)
shows the invitation with a Join button; joining gives the role and tells the inviter.

Buttons: `en:r:<role>` (pick a role) → `en:g:<role>:<grid>` (pick a grid: the invitation is made) for the
inviter; `en:ok:<code>` / `en:no` for the invited person. The code in the Join button is the one from the
link they opened, in their own private chat.
"""

from __future__ import annotations

import io
from datetime import timedelta

import segno
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram import menus
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.render import send_text
from community.database import utcnow
from community.grids.models import Grid
from community.i18n import pick
from community.people import enrolment
from community.people.enrolment import CODE_PREFIX, EnrolError, NewInvitation
from community.people.models import Person, Role
from community.settings import get_settings

QR_SCALE = 8
__all__ = ["CODE_PREFIX", "invite", "on_invite_button", "on_join_button", "open_invitation", "qr_png"]


def qr_png(link: str) -> bytes:
    """The link as a QR code, a PNG people can scan from another phone's screen or a printout."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=QR_SCALE, border=2)
    return buffer.getvalue()


def _skills_text(skills: list[str], language: str) -> str:
    return ", ".join(skills) if skills else say("enrol.none", language)


def _role_name(role: str, language: str) -> str:
    return say(f"enrol.role.{role}", language)


def _grid_name(context: ContextTypes.DEFAULT_TYPE, code: str, language: str) -> str:
    with database(context).session() as session:
        grid = session.get(Grid, code)
        return f"{pick(grid.names, language)} ({code})" if grid is not None else code


# --- /invite ------------------------------------------------------------------------------------------------


def _create(
    context: ContextTypes.DEFAULT_TYPE, update: Update, role: str, grid: str, skills: str
) -> NewInvitation | EnrolError:
    settings = get_settings()
    try:
        with database(context).session() as session:
            me = assistant(context).person_for(session, chat_user(update))
            return enrolment.create_invitation(
                session,
                me,
                role,
                grid,
                skills,
                now=utcnow(),
                ttl=timedelta(hours=settings.invitation_ttl_hours),
            )
    except EnrolError as exc:
        return exc


async def _send_invitation(
    update: Update, context: ContextTypes.DEFAULT_TYPE, made: NewInvitation, language: str
) -> None:
    chat = update.effective_chat
    assert chat is not None
    username = get_settings().telegram_bot_username or context.bot.username
    link = enrolment.deep_link(username, made.code)
    grid = await run_sync(_grid_name, context, made.grid_code, language)
    caption = say(
        "enrol.invite.created",
        language,
        role=_role_name(made.role, language),
        grid=grid,
        skills=_skills_text(made.skills, language),
        hours=get_settings().invitation_ttl_hours,
        link=link,
    )
    await context.bot.send_photo(chat.id, photo=qr_png(link), caption=caption)


async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/invite volunteer river_1 electrical,plumbing`, or `/invite` alone for buttons."""
    chat = update.effective_chat
    assert chat is not None
    me, language = await run_sync(person_of, context, update)
    if not enrolment.may_invite_anyone(me):
        await send_text(context.bot, chat.id, say("enrol.error.cannot_invite", language))
        return
    args = context.args or []
    if not args:
        roles = [Role.VOLUNTEER] + ([Role.GRID_MEMBER] if me.has_role(Role.COMMITTEE_MEMBER) else [])
        buttons = [
            [InlineKeyboardButton(_role_name(r, language), callback_data=f"en:r:{r.value}")] for r in roles
        ]
        await context.bot.send_message(
            chat.id, say("enrol.invite.pick_role", language), reply_markup=InlineKeyboardMarkup(buttons)
        )
        return
    if len(args) < 2:
        await send_text(context.bot, chat.id, say("enrol.invite.usage", language))
        return
    made = await run_sync(_create, context, update, args[0].lower(), args[1].lower(), " ".join(args[2:]))
    if isinstance(made, EnrolError):
        await send_text(context.bot, chat.id, made.localized(language))
        return
    await _send_invitation(update, context, made, language)


def _grid_buttons(
    context: ContextTypes.DEFAULT_TYPE, me: Person, role: str, language: str
) -> list[list[str]]:
    with database(context).session() as session:
        actor = session.get(Person, me.id)
        assert actor is not None
        grids = enrolment.grids_for(session, actor, role)
        return [[pick(g.names, language), f"en:g:{role}:{g.code}"] for g in grids]


async def on_invite_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    me, language = await run_sync(person_of, context, update)
    if not enrolment.may_invite_anyone(me):
        await query.answer(say("enrol.error.cannot_invite", language), show_alert=True)
        return
    parts = query.data.split(":")
    if parts[1] == "r" and len(parts) == 3:
        pairs = await run_sync(_grid_buttons, context, me, parts[2], language)
        rows = [
            [InlineKeyboardButton(label, callback_data=data) for label, data in pairs[i : i + 3]]
            for i in range(0, len(pairs), 3)
        ]
        await query.answer()
        await context.bot.send_message(
            update.effective_chat.id,
            say("enrol.invite.pick_grid", language),
            reply_markup=InlineKeyboardMarkup(rows),
        )
        return
    if parts[1] == "g" and len(parts) == 4:
        made = await run_sync(_create, context, update, parts[2], parts[3], "")
        if isinstance(made, EnrolError):
            await query.answer(made.localized(language), show_alert=True)
            return
        await query.answer()
        await query.edit_message_reply_markup(None)
        await _send_invitation(update, context, made, language)
        return
    await query.answer(say("fallback.rephrase", language), show_alert=True)


# --- Opening the link, joining ------------------------------------------------------------------------------


def _describe(context: ContextTypes.DEFAULT_TYPE, update: Update, code: str) -> tuple[str, str, bool]:
    """(text, language, open): the invitation as the invited person reads it, or why it cannot be used."""
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
        try:
            invitation = enrolment.find_invitation(session, code, utcnow())
        except EnrolError as exc:
            return exc.localized(language), language, False
        inviter = session.get(Person, invitation.inviter_id)
        grid = session.get(Grid, invitation.grid_code)
        text = say(
            "enrol.open.confirm",
            language,
            inviter=inviter.display_name if inviter else "—",
            role=_role_name(invitation.role, language),
            grid=pick(grid.names, language) if grid else invitation.grid_code,
            skills=_skills_text(list(invitation.skills), language),
        )
        return text, language, True


async def open_invitation(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    """`/start inv_<code>`: the invitation and a Join button, or a polite reason it does not work."""
    chat = update.effective_chat
    assert chat is not None
    text, language, usable = await run_sync(_describe, context, update, code)
    if not usable:
        await send_text(context.bot, chat.id, text)
        return
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(say("enrol.button.confirm", language), callback_data=f"en:ok:{code}"),
                InlineKeyboardButton(say("enrol.button.cancel", language), callback_data="en:no"),
            ]
        ]
    )
    await send_text(context.bot, chat.id, text, buttons)


def _join(context: ContextTypes.DEFAULT_TYPE, update: Update, code: str) -> tuple[str, str, bool]:
    """Claims the invitation; (answer, language, joined). The inviter's notice is in the same transaction."""
    with database(context).session() as session:
        me = assistant(context).person_for(session, chat_user(update))
        language = me.preferred_language
    try:
        with database(context).session() as session:
            me = assistant(context).person_for(session, chat_user(update))
            invitation = enrolment.claim_invitation(session, code, me, now=utcnow())
            grid = session.get(Grid, invitation.grid_code)
            text = say(
                "enrol.welcome",
                language,
                role=_role_name(invitation.role, language),
                grid=pick(grid.names, language) if grid else invitation.grid_code,
            )
            return text, language, True
    except EnrolError as exc:
        return exc.localized(language), language, False


async def on_join_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    if query.data == "en:no":
        _, language = await run_sync(person_of, context, update)
        await query.answer()
        await query.edit_message_reply_markup(None)
        await send_text(context.bot, update.effective_chat.id, say("enrol.declined", language))
        return
    code = query.data.removeprefix("en:ok:")
    text, language, joined = await run_sync(_join, context, update, code)
    await query.answer()
    await query.edit_message_reply_markup(None)
    await send_text(context.bot, update.effective_chat.id, text)
    if joined:
        try:  # the staff commands appear in their menu now
            await menus.set_staff_menu(context.bot, update.effective_chat.id, language)
        except TelegramError:
            pass  # the menu is a convenience; the role is what counts
