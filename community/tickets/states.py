"""The ticket state machine as one table: which step leads from which state to which.

Escalation, rerouting and overdue reminders keep the state and change the level or the owner; they are
still steps of the table so that every change is checked the same way and leaves exactly one event.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from community.tickets.errors import IllegalTransition
from community.tickets.models import TicketState

S = TicketState


class Step(StrEnum):
    ROUTE = "route"  # a new ticket reaches its first owner
    LINK = "link"  # a new ticket is a duplicate of an open one
    ACCEPT = "accept"
    DECLINE = "decline"  # "Can't take": the owner passes it on; the state stays
    ESCALATE = "escalate"  # one level up the chain; the state stays
    REMIND = "remind"  # a missed deadline with nobody above: the owner is reminded, new deadline
    RESOLVE = "resolve"
    REOPEN = "reopen"  # also a "not fixed" rating
    RATE = "rate"  # a score 1–5 after resolution closes the ticket
    CANCEL = "cancel"
    LOCATE = "locate"  # the reporter adds where it is (a location shared after an emergency alert)
    # The conversation on a ticket (community/tickets/thread.py): every message is a "message" event.
    ASK = "ask"  # the holder asks the reporter for details: the ticket waits, its clock paused
    ANSWER = "answer"  # the reporter answers: the ticket resumes, its deadline moved by the time waited
    MESSAGE = "message"  # holder ↔ reporter, the state stays
    EXTEND = "extend"  # an extension (延期) approved by the level above moves the resolve deadline


# Waiting for someone to press Accept: the accept SLA runs.
AWAITING_ACCEPT: frozenset[str] = frozenset({S.DISPATCHED, S.REOPENED})
# A person's open work, for least-loaded routing.
OPEN_WORK: frozenset[str] = frozenset({S.DISPATCHED, S.ACCEPTED, S.REOPENED, S.WAITING})
# Open for duplicate detection, cancellation and the reporter's list.
OPEN: frozenset[str] = OPEN_WORK | {S.NEW}
# States with a running deadline that the sweeper watches (NEW: routing found nobody and is retried).
# WAITING is not: its clock is paused until the reporter answers.
SWEPT: frozenset[str] = OPEN - {S.WAITING}
TERMINAL: frozenset[str] = frozenset({S.CLOSED, S.CANCELLED, S.DUPLICATE})

_SAME_OPEN = {S.DISPATCHED: S.DISPATCHED, S.REOPENED: S.REOPENED, S.ACCEPTED: S.ACCEPTED}

TRANSITIONS: MappingProxyType[Step, MappingProxyType[str, str]] = MappingProxyType(
    {
        step: MappingProxyType(dict(table))
        for step, table in {
            Step.ROUTE: {S.NEW: S.DISPATCHED},
            Step.LINK: {S.NEW: S.DUPLICATE},
            Step.ACCEPT: {S.DISPATCHED: S.ACCEPTED, S.REOPENED: S.ACCEPTED},
            Step.DECLINE: {S.DISPATCHED: S.DISPATCHED, S.REOPENED: S.REOPENED},
            Step.ESCALATE: _SAME_OPEN,
            Step.REMIND: {S.NEW: S.NEW, **_SAME_OPEN},
            Step.RESOLVE: {S.ACCEPTED: S.RESOLVED, S.WAITING: S.RESOLVED},
            Step.REOPEN: {S.RESOLVED: S.REOPENED},
            Step.RATE: {S.RESOLVED: S.CLOSED},
            Step.CANCEL: {s: S.CANCELLED for s in (S.NEW, S.DISPATCHED, S.ACCEPTED, S.REOPENED, S.WAITING)},
            Step.LOCATE: {S.NEW: S.NEW, S.WAITING: S.WAITING, **_SAME_OPEN},
            Step.ASK: {S.ACCEPTED: S.WAITING, S.WAITING: S.WAITING},
            Step.ANSWER: {S.WAITING: S.ACCEPTED},
            Step.MESSAGE: {S.NEW: S.NEW, S.WAITING: S.WAITING, **_SAME_OPEN},
            Step.EXTEND: {S.ACCEPTED: S.ACCEPTED},
        }.items()
    }
)

# The `kind` of the TicketEvent each step appends; "created" is the first event of every ticket.
EVENT_KIND: MappingProxyType[Step, str] = MappingProxyType(
    {
        Step.ROUTE: "routed",
        Step.LINK: "linked",
        Step.ACCEPT: "accepted",
        Step.DECLINE: "rerouted",
        Step.ESCALATE: "escalated",
        Step.REMIND: "reminded",
        Step.RESOLVE: "resolved",
        Step.REOPEN: "reopened",
        Step.RATE: "rated",
        Step.CANCEL: "cancelled",
        Step.LOCATE: "located",
        Step.ASK: "message",
        Step.ANSWER: "message",
        Step.MESSAGE: "message",
        Step.EXTEND: "extended",
    }
)
CREATED = "created"


def allowed_from(step: Step) -> frozenset[str]:
    return frozenset(TRANSITIONS[step])


def can(step: Step, state: str) -> bool:
    return state in TRANSITIONS[step]


def next_state(step: Step, state: str, ref: str) -> TicketState:
    """The state after `step`, or IllegalTransition naming the ticket, its state and the step."""
    try:
        return TicketState(TRANSITIONS[step][state])
    except KeyError:
        raise IllegalTransition(ref, state, step.value) from None
