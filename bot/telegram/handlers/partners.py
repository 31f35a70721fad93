"""Partners in chat (issue #17): `/partner` lists the partners and their offers for the desk;
`/partner contact <code> #<person>` makes someone a partner's contact person (told through the outbox)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from telegram import Update
from telegram.ext import ContextTypes

from bot.offload import run_sync
from bot.telegram.context import assistant, chat_user, database, person_of, say
from bot.telegram.render import send_text
from community.database import utcnow
from community.i18n import pick
from community.outbox.service import enqueue
from community.partners.knowledge import offer_names
from community.partners.models import Partner
from community.people.enrolment import EnrolError, parse_target
from community.projects import service
from community.projects.errors import ProjectError


def _partners(context: ContextTypes.DEFAULT_TYPE, update: Update, args: list[str], language: str) -> str:
    now: datetime = utcnow()
    try:
        with database(context).session() as session:
            me = assistant(context).person_for(session, chat_user(update))
            if not service.is_desk(me):
                raise ProjectError("projects.error.desk_only")
            if not args:
                names = offer_names()
                partners = session.scalars(
                    select(Partner).where(Partner.active.is_(True)).order_by(Partner.kind, Partner.code)
                )
                return "\n".join(
                    say(
                        "projects.partner.line",
                        language,
                        code=p.code,
                        name=pick(p.names, language),
                        offers="、".join(pick(names.get(o) or {"en": o}, language) for o in p.offers),
                    )
                    for p in partners
                ) or say("projects.list.empty", language)
            if len(args) != 3 or args[0].lower() != "contact":
                return say("projects.partner.usage", language)
            person = parse_target(session, args[2])
            partner = service.set_contact(session, me, args[1], person, now)
            told = say(
                "projects.partner.told",
                person.preferred_language,
                partner=pick(partner.names, person.preferred_language),
            )
            enqueue(session, person, "project.partner_contact", {"text": told}, now=now)
            return say(
                "projects.partner.contact_set", language, who=person.id, partner=pick(partner.names, language)
            )
    except ProjectError as exc:
        return exc.localized(language)
    except EnrolError as exc:
        return exc.localized(language)


async def partner(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/partner` lists the partners and their offers; `/partner contact <code> #<person>` sets a contact."""
    _, language = await run_sync(person_of, context, update)
    chat = update.effective_chat
    assert chat is not None
    answer = await run_sync(_partners, context, update, list(context.args or []), language)
    await send_text(context.bot, chat.id, answer)
