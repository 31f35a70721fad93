"""Who hears of each change, and in which words: step → audience → message, as one table.

`FANOUT` is read like `states.TRANSITIONS`: for each step, the lines of the notification it causes, in
order. A person gets at most one message per change and the first line that reaches them wins (the owner's
task card before the one-line update for staff who follow). The person who acted is answered by the bot
directly, so the steps in `ACTOR_ANSWERED_DIRECTLY` send them nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from community.people.models import Person
from community.tickets import clock_notices, notify, thread_notify
from community.tickets.models import Assignment, Follower, Ticket
from community.tickets.names import name_for_reporters
from community.tickets.policy import visible_contact
from community.tickets.states import AWAITING_ACCEPT, Step
from community.tickets.story import story
from community.tickets.transition import FOLLOW_DUPLICATE

UNROUTED = "unrouted"  # not a step: filed, and nobody at all to route it to yet


class To(StrEnum):
    OWNER = "owner"  # the ticket's owner after the change
    ACTOR = "actor"  # the person who took the step
    REPORTER = "reporter"
    DUPLICATE_REPORTERS = "duplicate_reporters"  # reporters of linked duplicates, who follow the ticket
    STAFF = "staff"  # owner, everyone assigned and staff who follow (as they were before, where given)
    TEAM = "team"  # everyone alerted at once for an emergency


@dataclass
class Change:
    """One change as its messages see it: the ticket, who acted, and the words of the step."""

    session: Session
    ticket: Ticket
    view: notify.View
    actor: Person | None
    params: dict[str, Any] = field(default_factory=dict)

    def card(
        self, person: Person, headline: str, buttons: str | None, *, contact: bool = True, **extra: Any
    ) -> dict[str, Any]:
        """A task card; the contact line is there only when the policy lets this person see it."""
        return notify.task(
            self.view,
            person,
            headline,
            buttons=buttons,
            show_contact=contact,
            contact=visible_contact(self.session, self.ticket, person) if contact else None,
            story=story(self.session, self.ticket, person),
            **extra,
        )


Render = Callable[[Change, Person], dict[str, Any]]


@dataclass(frozen=True)
class Line:
    to: To
    kind: str  # the outbox kind
    render: Render


def _reporter(key: str, *names: str) -> Render:
    return lambda c, p: notify.reporter_update(c.view, p, key, **{n: c.params[n] for n in names})


def _staff(key: str, *names: str) -> Render:
    return lambda c, p: notify.staff_info(c.view, p, key, **{n: c.params[n] for n in names})


def _received(c: Change, p: Person) -> dict[str, Any]:
    return notify.reporter_received(c.view, p, c.params["who"], emergency=c.params["emergency"])


def _routed_card(c: Change, p: Person) -> dict[str, Any]:
    headline = "ticket.headline.emergency" if c.params["emergency"] else "ticket.headline.new"
    return c.card(p, headline, "awaiting", desk=c.params["desk"])


def _accepted_for_reporters(c: Change, p: Person) -> dict[str, Any]:
    assert c.actor is not None
    name = name_for_reporters(c.actor, p.preferred_language)
    payload = notify.reporter_update(c.view, p, "ticket.reporter.accepted", name=name)
    return clock_notices.with_expected(c.session, c.ticket, p, payload)  # "expected by Tue 10:00"


def _escalated_for_staff(c: Change, p: Person) -> dict[str, Any]:
    can_accept = c.ticket.state in AWAITING_ACCEPT
    key = "ticket.staff.escalated_can_accept" if can_accept else "ticket.staff.escalated"
    level = notify.level_name(c.params["level"], p.preferred_language)
    return notify.staff_info(
        c.view, p, key, buttons="accept_only" if can_accept else None, level=level, name=c.params["owner"]
    )


def _resolved(ask_rating: bool) -> Render:
    return lambda c, p: notify.reporter_resolved(
        c.view, p, thread_notify.resolution_note(c.params, p), c.params["photos"], ask_rating=ask_rating
    )


def _to_reporter(follower: bool) -> Render:
    return lambda c, p: thread_notify.to_reporter(c.view, p, c.actor, c.params["message"], follower=follower)


def _to_staff(holder: bool) -> Render:
    return lambda c, p: thread_notify.to_staff(c.view, p, c.params["message"], holder=holder)


def _located(c: Change, p: Person) -> dict[str, Any]:
    return {
        **notify.staff_info(c.view, p, "ticket.staff.located"),
        **notify.place_payload(c.view, p.preferred_language),
    }


FANOUT: Mapping[str, tuple[Line, ...]] = MappingProxyType(
    {
        Step.ROUTE: (
            Line(To.OWNER, "ticket.task", _routed_card),
            Line(
                To.TEAM,
                "ticket.task",
                lambda c, p: c.card(p, "ticket.headline.emergency", "accept_only", contact=False),
            ),
            Line(To.REPORTER, "ticket.received", _received),
        ),
        UNROUTED: (Line(To.REPORTER, "ticket.received", _received),),
        Step.LINK: (
            Line(
                To.ACTOR,
                "ticket.duplicate",
                lambda c, p: notify.reporter_duplicate(c.view, p, emergency=c.params["emergency"]),
            ),
        ),
        Step.ACCEPT: (
            Line(To.ACTOR, "ticket.accepted", lambda c, p: c.card(p, "ticket.headline.accepted", "accepted")),
            Line(To.REPORTER, "ticket.accepted", _accepted_for_reporters),
            Line(To.DUPLICATE_REPORTERS, "ticket.accepted", _accepted_for_reporters),
            Line(To.STAFF, "ticket.taken", _staff("ticket.staff.taken", "name")),
        ),
        Step.DECLINE: (
            Line(
                To.OWNER,
                "ticket.task",
                lambda c, p: c.card(p, "ticket.headline.rerouted", "awaiting", desk=c.params["desk"]),
            ),
        ),
        Step.ESCALATE: (
            Line(
                To.OWNER,
                "ticket.task",
                lambda c, p: c.card(
                    p,
                    "ticket.headline.escalated",
                    notify.buttons_for_state(c.ticket),
                    reason=c.params["reason"],
                ),
            ),
            Line(To.STAFF, "ticket.escalated", _escalated_for_staff),
        ),
        Step.REMIND: (
            Line(
                To.OWNER,
                "ticket.reminder",
                lambda c, p: c.card(p, "ticket.headline.reminder", notify.buttons_for_state(c.ticket)),
            ),
        ),
        Step.RESOLVE: (
            Line(To.REPORTER, "ticket.resolved", _resolved(ask_rating=True)),
            Line(To.DUPLICATE_REPORTERS, "ticket.resolved", _resolved(ask_rating=False)),
            Line(To.STAFF, "ticket.resolved", _staff("ticket.staff.resolved", "name", "note")),
        ),
        Step.REOPEN: (
            Line(
                To.OWNER,
                "ticket.task",
                lambda c, p: c.card(p, "ticket.headline.reopened", "awaiting", reason=c.params["reason"]),
            ),
            Line(To.REPORTER, "ticket.reopened", _reporter("ticket.reporter.reopened")),
            Line(To.DUPLICATE_REPORTERS, "ticket.reopened", _reporter("ticket.reporter.reopened")),
            Line(To.STAFF, "ticket.reopened", _staff("ticket.staff.reopened", "reason")),
        ),
        Step.RATE: (
            Line(To.ACTOR, "ticket.closed", _reporter("ticket.reporter.closed")),
            Line(To.STAFF, "ticket.closed", _staff("ticket.staff.closed", "score")),
        ),
        Step.CANCEL: (
            Line(To.STAFF, "ticket.cancelled", _staff("ticket.staff.cancelled", "reason")),
            Line(To.REPORTER, "ticket.cancelled", _reporter("ticket.reporter.cancelled", "reason")),
            Line(
                To.DUPLICATE_REPORTERS, "ticket.cancelled", _reporter("ticket.reporter.cancelled", "reason")
            ),
        ),
        Step.LOCATE: (Line(To.STAFF, "ticket.located", _located),),
        # The conversation on a ticket (community/tickets/thread.py); the writer is answered directly.
        thread_notify.STAFF_WROTE: (Line(To.REPORTER, "ticket.message", _to_reporter(False)),),
        thread_notify.STAFF_WROTE_PUBLIC: (
            Line(To.REPORTER, "ticket.message", _to_reporter(False)),
            Line(To.DUPLICATE_REPORTERS, "ticket.message", _to_reporter(True)),
        ),
        thread_notify.REPORTER_WROTE: (
            Line(To.OWNER, "ticket.message", _to_staff(True)),
            Line(To.STAFF, "ticket.message", _to_staff(False)),
        ),
    }
)

# The bot answers the person who pressed the button; a notification would tell them twice.
ACTOR_ANSWERED_DIRECTLY: frozenset[str] = frozenset(
    {Step.DECLINE, Step.ESCALATE, Step.RESOLVE, Step.REOPEN, Step.CANCEL}
)


# --- audiences -------------------------------------------------------------------------------------------


def people(session: Session, ids: Iterable[int | None]) -> list[Person]:
    """Persons by id in the order given; one query for all (the sweeper calls this for every ticket)."""
    wanted = list(dict.fromkeys(i for i in ids if i is not None))
    if not wanted:
        return []
    # Only ids and languages are read here: the relationships load if (and when) someone needs them.
    query = (
        select(Person)
        .where(Person.id.in_(wanted))
        .options(lazyload(Person.roles), lazyload(Person.volunteer))
    )
    found = {p.id: p for p in session.scalars(query)}
    return [found[i] for i in wanted if i in found]


def _active_assignees(session: Session, ticket: Ticket) -> list[int]:
    return list(
        session.scalars(
            select(Assignment.person_id)
            .where(Assignment.ticket_id == ticket.id, Assignment.active.is_(True))
            .order_by(Assignment.id)
        )
    )


def _followers(session: Session, ticket: Ticket, duplicate: bool) -> list[int]:
    reason = Follower.reason == FOLLOW_DUPLICATE if duplicate else Follower.reason != FOLLOW_DUPLICATE
    return list(
        session.scalars(
            select(Follower.person_id).where(Follower.ticket_id == ticket.id, reason).order_by(Follower.id)
        )
    )


def staff_audience(session: Session, ticket: Ticket) -> list[Person]:
    """Owner, everyone still assigned, and staff who follow (earlier levels, emergency alerts)."""
    return people(
        session, [ticket.owner_id, *_active_assignees(session, ticket), *_followers(session, ticket, False)]
    )


def _audience(change: Change, to: To, staff: list[Person] | None, team: list[Person]) -> list[Person | None]:
    session, ticket = change.session, change.ticket
    if to is To.OWNER:
        return [session.get(Person, ticket.owner_id) if ticket.owner_id else None]
    if to is To.ACTOR:
        return [change.actor]
    if to is To.REPORTER:
        return [session.get(Person, ticket.reporter_id)]
    if to is To.DUPLICATE_REPORTERS:
        return list(people(session, _followers(session, ticket, True)))
    if to is To.STAFF:
        return list(staff if staff is not None else staff_audience(session, ticket))
    return list(team)


def announce(
    session: Session,
    ticket: Ticket,
    step: str,
    *,
    now: datetime,
    actor: Person | None = None,
    about: Ticket | None = None,
    staff: list[Person] | None = None,
    team: Iterable[Person] = (),
    notifier: notify.Notifier | None = None,
    **params: Any,
) -> notify.Notifier:
    """Write the notifications of one change to the outbox, following FANOUT[step].

    `about` is the ticket the messages describe when it is not the one changed (a duplicate tells of its
    original); `staff` is the staff audience as it was before the change, for steps that retire it.
    """
    notifier = notifier or notify.Notifier(session, ticket, now)
    if actor is not None and step in ACTOR_ANSWERED_DIRECTLY:
        notifier.skip(actor.id)
    change = Change(session, ticket, notify.load_view(session, about or ticket), actor, params)
    members = list(team)
    for line in FANOUT[step]:
        for person in _audience(change, line.to, staff, members):
            if notifier.wants(person):
                assert person is not None
                notifier.send(person, line.kind, line.render(change, person))
    return notifier
