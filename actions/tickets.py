"""A reporter's own tickets, and asking for a person at the community desk."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    database,
    inline_text,
    language_of,
    metadata,
    person_of,
    refuse_anonymous,
    say,
    source_key_of,
)
from community.database import utcnow
from community.i18n import is_curated
from community.language.service import localise, to_chinese_for_staff
from community.settings import get_settings
from community.tickets.filing import file_report
from community.tickets.status_links import status_link
from community.tickets.views import ref_in, reporter_tickets_text, ticket_detail_text


class ActionCheckTickets(Action):
    """Lists only the asking person's own tickets (and the ones they follow): never anyone else's."""

    def name(self) -> str:
        return "action_check_tickets"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if await refuse_anonymous(dispatcher, tracker):
            return []
        language = language_of(tracker)
        # A ref in the message (the "Full text" button of a task card sends one) asks for that ticket in full.
        ref = ref_in(str(tracker.latest_message.get("text") or ""))
        with database().session() as session:
            person = person_of(session, tracker)
            if ref is not None:
                text = ticket_detail_text(session, ref, person, language)
            else:
                text = reporter_tickets_text(session, person, language)
        dispatcher.utter_message(text=text if is_curated(language) else await localise(text, language))
        return []


class ActionTalkToHuman(Action):
    """Opens a consultation ticket; with no category it is routed to the community desk."""

    def name(self) -> str:
        return "action_talk_to_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if await refuse_anonymous(dispatcher, tracker):
            return []
        language = language_of(tracker)
        text = tracker.latest_message.get("text") or ""
        # Translated before the transaction: no lock is held while Google answers (or does not).
        description_zh = await to_chinese_for_staff(text, language)
        with database().session() as session:
            result = file_report(
                session,
                reporter=person_of(session, tracker),
                category_code=None,
                description=text,
                description_language=language,
                description_zh=description_zh,
                channel=str(metadata(tracker).get("channel") or "rasa"),
                source_key=source_key_of(tracker),
                now=utcnow(),
            )
            ref = result.ticket.ref
            link = status_link(session, result.ticket, get_settings().web_public_url)
        await say(dispatcher, tracker, "human.filed", ref=ref)
        # The status page's link, not translated: a translation service could change it.
        dispatcher.utter_message(text=inline_text(tracker, "webchat.status_link", url=link))
        return []
