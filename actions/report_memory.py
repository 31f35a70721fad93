"""What the report form takes from what was already said: a description given in the first message (then
confirmed, not asked again) and a phone remembered with the reporter's consent (offered the next time).

The domain's slots cannot change without retraining, so the two confirmations are steps of their own slot:
a description that came unasked is kept with a mark (UNCONFIRMED) and, once what and where are known, the
validation action asks for `description` again while it is filled; the question for a filled slot is "is
this right?" (for `contact`: "may I remember it?"); the answer keeps the value, or clears it to ask afresh.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.common import database, identity_of, label_for, mentions, person_of, say
from community.database import utcnow
from community.grids.models import Landmark
from community.outreach.contact import masked, remember_phone, saved_phone
from community.tickets.models import IssueCategory

NONE = "none"
# Leads a description taken from the first message until the reporter confirms it: the slot itself carries
# the state, since the domain's slots cannot grow without retraining. Never shown, never filed.
UNCONFIRMED = "\u2063"
USE_SAVED = "contact:saved"
OTHER_NUMBER = "contact:other"
PHONE = re.compile(r"^\+?[\d\s()-]{6,20}$")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def text_of(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").strip()


def intent_of(tracker: Tracker) -> tuple[str, float]:
    intent = tracker.latest_message.get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def said_yes(tracker: Tracker) -> bool:
    name, confidence = intent_of(tracker)
    return text_of(tracker) == "/affirm" or (name == "affirm" and confidence >= 0.6)


def said_no(tracker: Tracker) -> bool:
    name, confidence = intent_of(tracker)
    return text_of(tracker) == "/deny" or (name == "deny" and confidence >= 0.6)


def _words_of_things(tracker: Tracker) -> list[str]:
    """The words in the message that name a category or a place: the model's tagged spans, and the
    categories' keywords and names and the landmarks' names and aliases that occur in it."""
    text = text_of(tracker)
    words = [
        text[found["start"] : found["end"]]
        for found in tracker.latest_message.get("entities") or []
        if found.get("entity") in ("issue_category", "landmark")
        and isinstance(found.get("start"), int)
        and isinstance(found.get("end"), int)
    ]
    with database().session() as session:
        for category in session.scalars(select(IssueCategory).where(IssueCategory.active)):
            candidates = [w for ws in category.keywords.values() for w in ws] + list(category.names.values())
            words += [w for w in candidates if mentions(text, w)]
        for landmark in session.scalars(select(Landmark).where(Landmark.active)):
            words += [w for w in [*landmark.names.values(), *landmark.aliases] if mentions(text, w)]
    return words


def _rest(text: str, words: list[str]) -> str:
    """The text without the words, longest first ("street light" before "light")."""
    for word in sorted(set(words), key=len, reverse=True):
        text = re.sub(re.escape(word), " ", text, flags=re.IGNORECASE)
    return text


def _says_something_more(rest: str) -> bool:
    """Beyond the thing's name the message says what is wrong: three Han/kana/Hangul characters
    ("坏了，晚上很黑") or two Latin words ("is broken"). "路灯坏了" alone names a category; its description
    is asked for."""
    cjk = sum(1 for c in rest if "\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af")
    return cjk >= 3 or len(_LATIN_WORD.findall(rest)) >= 2


def description_in_first_message(tracker: Tracker) -> str | None:
    """The first message of a report as its description, when it names what or where and says more than the
    name ("路灯坏了，晚上很黑", "the lamp near the pagoda is broken"); a bare "I want to report a problem"
    names nothing and is asked. Marked as not yet confirmed (UNCONFIRMED)."""
    if tracker.get_slot("requested_slot") is not None or tracker.get_slot("description"):
        return None
    text = text_of(tracker)
    if not text or text.startswith("/"):
        return None
    words = _words_of_things(tracker)
    return UNCONFIRMED + text if words and _says_something_more(_rest(text, words)) else None


def unmarked(description: str) -> str:
    return description.removeprefix(UNCONFIRMED)


def description_to_confirm(tracker: Tracker) -> bool:
    """True when the description came unasked and is not confirmed yet, and its turn has come: what and where
    are known (the form asks in that order, so "where?" is not pushed back by the confirmation)."""
    description = tracker.get_slot("description")
    return (
        isinstance(description, str)
        and description.startswith(UNCONFIRMED)
        and tracker.get_slot("requested_slot") != "description"
        and bool(tracker.get_slot("issue_category"))
        and bool(tracker.get_slot("report_location"))
    )


def answer_to_confirmation(tracker: Tracker) -> dict[str, Any] | None:
    """The reply to "I noted: … — correct?": yes keeps it, Edit clears it (asked afresh); None when the reply
    is neither (then it is read as a corrected description)."""
    current = tracker.get_slot("description")
    if not current or tracker.get_slot("requested_slot") != "description":
        return None
    if said_yes(tracker):
        return {"description": unmarked(str(current))}
    if said_no(tracker):
        return {"description": None}
    return None


def _saved_phone_of(tracker: Tracker) -> str | None:
    if identity_of(tracker) is None:
        return None
    with database().session() as session:
        return saved_phone(person_of(session, tracker))


def extract_contact(tracker: Tracker, is_skip: bool) -> dict[str, Any]:
    """The contact step: a saved phone offered, another typed, none; then consent to remember a new one."""
    text = text_of(tracker)
    pending = tracker.get_slot("contact")
    if pending and pending != NONE:
        # The phone was given; this answers "may I remember it?".
        if PHONE.match(text) and text != pending:
            return {"contact": text}  # a corrected number: consent is asked for that one
        if said_yes(tracker):
            if identity_of(tracker) is not None:
                with database().session() as session:
                    remember_phone(session, person_of(session, tracker), pending, utcnow())
            return {"contact": pending}
        if said_no(tracker) or is_skip:
            return {"contact": pending}  # used for this report only
        return {}
    if is_skip:
        return {"contact": NONE}
    if text == USE_SAVED:
        return {"contact": _saved_phone_of(tracker)}
    if text == OTHER_NUMBER:
        return {"contact": None}  # asked again, without the saved number
    return {"contact": text} if PHONE.match(text) else {}


def contact_to_confirm(tracker: Tracker) -> bool:
    """True when a phone was typed in this message and is not the one remembered already: consent is asked."""
    contact = tracker.get_slot("contact")
    text = text_of(tracker)
    if tracker.get_slot("requested_slot") != "contact" or not contact or contact != text:
        return False
    return bool(PHONE.match(text)) and contact != _saved_phone_of(tracker)


async def ask_contact(dispatcher: CollectingDispatcher, tracker: Tracker, skip_key: str) -> None:
    """Consent for a phone just given; else the saved phone offered; else the plain question."""
    contact = tracker.get_slot("contact")
    if contact and contact != NONE:
        buttons = [
            {"title": await label_for(tracker, "outreach.yes"), "payload": "/affirm"},
            {"title": await label_for(tracker, "outreach.no"), "payload": "/deny"},
        ]
        await say(dispatcher, tracker, "outreach.ask_consent", buttons=buttons, phone=masked(contact))
        return
    skip = {"title": await label_for(tracker, skip_key), "payload": "/deny"}
    saved = None if text_of(tracker) == OTHER_NUMBER else _saved_phone_of(tracker)
    if text_of(tracker) == OTHER_NUMBER:
        await say(dispatcher, tracker, "outreach.ask_other_number", buttons=[skip])
        return
    if saved is None:
        await say(dispatcher, tracker, "report.ask_contact", buttons=[skip])
        return
    shown = masked(saved)
    use = (await label_for(tracker, "outreach.use_saved")).replace("{phone}", shown)
    buttons = [
        {"title": use, "payload": USE_SAVED},
        {"title": await label_for(tracker, "outreach.other_number"), "payload": OTHER_NUMBER},
        {"title": await label_for(tracker, "outreach.no_contact"), "payload": "/deny"},
    ]
    await say(dispatcher, tracker, "outreach.offer_saved", buttons=buttons, phone=shown)


async def confirm_description(dispatcher: CollectingDispatcher, tracker: Tracker, description: str) -> None:
    buttons = [
        {"title": await label_for(tracker, "outreach.yes"), "payload": "/affirm"},
        {"title": await label_for(tracker, "outreach.edit"), "payload": "/deny"},
    ]
    await say(
        dispatcher,
        tracker,
        "outreach.confirm_description",
        buttons=buttons,
        description=unmarked(description),
    )
