"""有事好商量 in chat: a resident raises a matter (/matter, then the text), residents support it and sign up
for the 议事会 with buttons, the desk files, calls the meeting, records the outcome (/matters).

Buttons carry `mt:<action>:<matter id>[:<code>]`: g (the raiser's micro-grid, by code), f (file: pick the
area), a (area chosen: pick the standard), t (standard chosen: filed), s (support), j (sign up), m (call a
meeting), o (record the outcome), c (close). The next text a person types for a matter (its text, the
meeting's "date time place", an outcome, a reason) is conversation state "matter"
(bot/telegram/handlers/pending.py asks `take_text`). Everything the others hear goes through the outbox
(community/matters/notify.py); the presser gets a direct answer.
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
from community.grids.service import micro_grids
from community.i18n import CURATED_LANGUAGES, pick
from community.matters import notify, service
from community.matters import standards as matter_standards
from community.matters.models import Matter, MatterState
from community.matters.service import MatterError
from community.people.models import Person
from community.tickets.thread import prepare_words

STATE = "matter"
DEEP_LINK = "mt_"  # /start mt_<ref>: the matter's card with its Support button (the public page links it)


def _keyboard(buttons: list[tuple[str, str]], per_row: int = 1) -> InlineKeyboardMarkup:
    keys = [InlineKeyboardButton(title[:64], callback_data=data) for title, data in buttons]
    return InlineKeyboardMarkup([keys[i : i + per_row] for i in range(0, len(keys), per_row)])


async def _say(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup: Any = None) -> None:
    chat = update.effective_chat
    assert chat is not None
    await send_text(context.bot, chat.id, text, markup)


def _set_state(context: ContextTypes.DEFAULT_TYPE, update: Update, value: dict[str, Any] | None) -> None:
    with database(context).session() as session:
        conversations.update(session, chat_user(update).key, {STATE: value}, utcnow())


def forget_state(context: ContextTypes.DEFAULT_TYPE, update: Update) -> None:
    """/cancel: no text is awaited for a matter any more."""
    _set_state(context, update, None)


def _page(context: ContextTypes.DEFAULT_TYPE, ref: str) -> str | None:
    settings = context.application.bot_data.get("settings")
    base = getattr(settings, "web_public_url", "") if settings is not None else ""
    return f"{base.rstrip('/')}/matters/{ref}" if base else None


# --- a resident raises a matter -----------------------------------------------------------------------------


def _start(
    context: ContextTypes.DEFAULT_TYPE, update: Update
) -> tuple[str, str | None, list[tuple[str, str]]]:
    """The language, the raiser's micro-grid when it is known (their live location, else their only one)
    and, when it is not, the micro-grids to choose from."""
    person, language = person_of(context, update)
    now = utcnow()
    with database(context).session() as session:
        who = session.get(Person, person.id)
        assert who is not None
        known = service.resident_micro_grids(session, who, now)
        where = conversations.get(session, "location", chat_user(update).key, now)
        here = service.locate_code(session, float(where[0]), float(where[1])) if where else None
        grid = here or (next(iter(known)) if len(known) == 1 else None)
        choices = (
            [] if grid else [(pick(g.names, language), f"mt:g:0:{g.code}") for g in micro_grids(session)]
        )
    return language, grid, choices


async def matter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/matter: the bot asks for the text (and first for the micro-grid when it does not know it)."""
    language, grid, choices = await run_sync(_start, context, update)
    if grid is None:
        await run_sync(_set_state, context, update, {"step": "grid"})
        await _say(update, context, say("matters.ask_grid", language), _keyboard(choices, 2))
        return
    await run_sync(_set_state, context, update, {"step": "text", "grid": grid})
    await _say(update, context, say("matters.ask_text", language))


def _raise(context: ContextTypes.DEFAULT_TYPE, update: Update, words: dict[str, Any], grid: str) -> str:
    person, _ = person_of(context, update)
    now = utcnow()
    with database(context).session() as session:
        raiser = session.get(Person, person.id)
        assert raiser is not None
        found = service.raise_matter(session, raiser, words, grid, now)
        conversations.forget(session, STATE, chat_user(update).key)
        return found.ref


# --- the desk -----------------------------------------------------------------------------------------------


def _desk_only(context: ContextTypes.DEFAULT_TYPE, update: Update) -> tuple[Person, str]:
    person, language = person_of(context, update)
    if not service.is_desk(person):
        raise MatterError("matters.not_desk")
    return person, language


def _list(
    context: ContextTypes.DEFAULT_TYPE, update: Update
) -> tuple[str, list[tuple[str, InlineKeyboardMarkup]]]:
    _, language = _desk_only(context, update)
    cards: list[tuple[str, InlineKeyboardMarkup]] = []
    with database(context).session() as session:
        for found in service.open_matters(session):
            cards.append((_card(session, found, language), _desk_buttons(found, language)))
    return language, cards


def _card(session: Any, found: Matter, language: str) -> str:
    head = say(
        "matters.list.item",
        language,
        ref=found.ref,
        state=say(f"matters.state.{found.state}", language),
        grid=notify.grid_name(session, found, language),
        count=found.supporters,
        threshold=found.threshold,
    )
    return f"{head}\n{notify.matter_text(found, language)}"


def _desk_buttons(found: Matter, language: str) -> InlineKeyboardMarkup:
    b = {
        "f": say("matters.button.file", language),
        "m": say("matters.button.meeting", language),
        "o": say("matters.button.outcome", language),
        "c": say("matters.button.close", language),
    }
    actions = {MatterState.RAISED: "fc", MatterState.FILED: "mc", MatterState.MEETING_CALLED: "oc"}
    return _keyboard(
        [(b[a], notify.callback(a, found.id)) for a in actions.get(MatterState(found.state), "")], 2
    )


async def list_matters(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/matters: the open matters for the desk, each with the buttons of its next step."""
    try:
        language, cards = await run_sync(_list, context, update)
    except MatterError as refused:
        _, language = await run_sync(person_of, context, update)
        await _say(update, context, say(refused.key, language, **refused.params))
        return
    if not cards:
        await _say(update, context, say("matters.list.none", language))
    for text, markup in cards:
        await _say(update, context, text, markup)


# --- buttons ------------------------------------------------------------------------------------------------


def _press(context: ContextTypes.DEFAULT_TYPE, update: Update, action: str, matter_id: int, code: str) -> Any:
    """Does what the button says; returns (text, markup) for the presser."""
    person, language = person_of(context, update)
    now = utcnow()
    key = chat_user(update).key
    with database(context).session() as session:
        if action == "g":
            if service.micro_grid(session, code) is None:
                raise MatterError("matters.grid.unknown")
            conversations.put(session, STATE, key, {"step": "text", "grid": code}, now)
            return say("matters.ask_text", language), None
        if action == "s":
            result = service.support(session, matter_id, person.id, now)
            ref = session.get(Matter, matter_id).ref  # type: ignore[union-attr]
            done = "matters.support.counted" if result.counted else "matters.support.already"
            return say(done, language, ref=ref, count=result.count, threshold=result.threshold), None
        if action == "j":
            new = service.sign_up(session, matter_id, person.id, now)
            return say("matters.signup.done" if new else "matters.signup.already", language), None
    _desk_only(context, update)
    with database(context).session() as session:
        found = session.get(Matter, matter_id)
        if found is None:
            raise MatterError("matters.unknown")
        if action == "f":
            if found.state != MatterState.RAISED:
                raise MatterError("matters.state.not_raised", ref=found.ref)
            areas = [
                (pick(a.names, language), notify.callback("a", found.id, a.code))
                for a in matter_standards.areas(session)
            ]
            return say("matters.ask_area", language, ref=found.ref), _keyboard(areas, 2)
        if action == "a":
            area = matter_standards.row(session, code, "area")
            if area is None:
                raise MatterError("matters.standard.unknown")
            options = [
                (pick(s.names, language), notify.callback("t", found.id, s.code))
                for s in matter_standards.standards_of(session, area.code)
            ]
            return say(
                "matters.ask_standard", language, ref=found.ref, area=pick(area.names, language)
            ), _keyboard(options)
        if action == "t":
            standard = matter_standards.row(session, code, "standard")
            if standard is None or standard.area_code is None:
                raise MatterError("matters.standard.unknown")
            filed = service.file_matter(session, found.id, person.id, standard.area_code, standard.code, now)
            names = {
                "area": notify.area_name(session, filed, language),
                "standard": notify.standard_name(session, filed, language),
            }
            return say("matters.filed", language, ref=filed.ref, **names), None
        steps = {
            "m": ("meeting", "matters.ask_meeting"),
            "o": ("outcome", "matters.ask_outcome"),
            "c": ("close", "matters.ask_close"),
        }
        if action in steps:
            step, ask = steps[action]
            if action == "m" and found.state != MatterState.FILED:
                raise MatterError("matters.state.not_filed", ref=found.ref)
            if action == "o" and found.state != MatterState.MEETING_CALLED:
                raise MatterError("matters.state.no_meeting", ref=found.ref)
            if action == "c" and not MatterState(found.state).is_open:
                raise MatterError("matters.state.finished", ref=found.ref)
            conversations.put(session, STATE, key, {"step": step, "id": found.id}, now)
            return say(ask, language, ref=found.ref), None
    raise MatterError("matters.unknown")


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 2 else ""
    matter_id = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
    code = parts[3] if len(parts) > 3 else ""
    try:
        text, markup = await run_sync(_press, context, update, action, matter_id, code)
    except MatterError as refused:
        _, language = await run_sync(person_of, context, update)
        await query.answer()
        await _say(update, context, say(refused.key, language, **refused.params))
        return
    await query.answer()
    await _say(update, context, text, markup)


# --- the next text: a matter, a meeting's time and place, an outcome, a reason ------------------------------


def _state(context: ContextTypes.DEFAULT_TYPE, update: Update) -> dict[str, Any] | None:
    with database(context).session() as session:
        return conversations.get(session, STATE, chat_user(update).key, utcnow())


def _targets(context: ContextTypes.DEFAULT_TYPE, matter_id: int) -> set[str]:
    with database(context).session() as session:
        return service.reader_languages(session, matter_id) | set(CURATED_LANGUAGES)


def _meeting(context: ContextTypes.DEFAULT_TYPE, update: Update, matter_id: int, text: str) -> str:
    person, language = _desk_only(context, update)
    at, place = service.parse_meeting(text)
    now = utcnow()
    with database(context).session() as session:
        found = service.call_meeting(session, matter_id, person.id, at, place, now)
        invited = len([p for p in service.participants(session, found) if p.invited_as])
        conversations.forget(session, STATE, chat_user(update).key)
        return say(
            "matters.meeting.called",
            language,
            ref=found.ref,
            time=notify.local_time(at),
            place=place,
            invited=invited,
        )


def _finish(
    context: ContextTypes.DEFAULT_TYPE, update: Update, step: str, matter_id: int, words: dict[str, Any]
) -> str:
    person, language = _desk_only(context, update)
    now = utcnow()
    with database(context).session() as session:
        act = service.record_outcome if step == "outcome" else service.close_matter
        found = act(session, matter_id, person.id, words, now)
        count = len(service.concerned_ids(session, found))
        conversations.forget(session, STATE, chat_user(update).key)
        return say(
            "matters.decided" if step == "outcome" else "matters.closed", language, ref=found.ref, count=count
        )


async def take_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """True when the message was for a matter (handlers/pending.py asks when the state is live)."""
    message = update.effective_message
    if message is None or not message.text:
        return False
    state = await run_sync(_state, context, update)
    if not state or state.get("step") not in ("text", "meeting", "outcome", "close"):
        return False
    text = message.text.strip()
    _, language = await run_sync(person_of, context, update)
    try:
        if state["step"] == "text":
            service.check_text(text)
            words = (await prepare_words(text, language, CURATED_LANGUAGES)).data()
            ref = await run_sync(_raise, context, update, words, str(state.get("grid") or ""))
            link = _page(context, ref)
            reply = say("matters.raised", language, ref=ref)
            await _say(
                update, context, reply + ("\n" + say("matters.page_link", language, url=link) if link else "")
            )
        elif state["step"] == "meeting":
            await _say(update, context, await run_sync(_meeting, context, update, int(state["id"]), text))
        else:
            service.check_text(text)
            targets = await run_sync(_targets, context, int(state["id"]))
            words = (await prepare_words(text, language, targets)).data()
            await _say(
                update,
                context,
                await run_sync(_finish, context, update, state["step"], int(state["id"]), words),
            )
    except MatterError as refused:
        await _say(update, context, say(refused.key, language, **refused.params))
    return True


# --- /start mt_<ref> ----------------------------------------------------------------------------------------


def _card_for(
    context: ContextTypes.DEFAULT_TYPE, update: Update, ref: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    _, language = person_of(context, update)
    with database(context).session() as session:
        found = service.by_ref(session, ref)
        if found is None:
            return say("matters.unknown", language), None
        head = say(
            "matters.card",
            language,
            ref=found.ref,
            grid=notify.grid_name(session, found, language),
            state=say(f"matters.state.{found.state}", language),
            count=found.supporters,
            threshold=found.threshold,
        )
        text = f"{head}\n{notify.matter_text(found, language)}"
        if found.state == MatterState.FILED:
            return text, _keyboard(
                [(say("matters.button.support", language), notify.callback("s", found.id))]
            )
        if found.state == MatterState.MEETING_CALLED:
            return text, _keyboard([(say("matters.button.signup", language), notify.callback("j", found.id))])
        return text, None


async def open_matter(update: Update, context: ContextTypes.DEFAULT_TYPE, ref: str) -> None:
    text, markup = await run_sync(_card_for, context, update, ref)
    await _say(update, context, text, markup)
