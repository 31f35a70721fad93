"""The ticket domain: filing, routing, the state machine, escalation, notifications, queries and metrics.

bot/ and actions/ import from here; the submodules are the implementation.
"""

from community.tickets.duty import set_duty
from community.tickets.errors import (
    AlreadyTaken,
    AlreadyYours,
    IllegalTransition,
    InvalidInput,
    NoCandidate,
    NotAllowed,
    StaleVersion,
    TicketError,
    TicketNotFound,
)
from community.tickets.escalation import escalate_overdue
from community.tickets.filing import FilingResult, file_report
from community.tickets.metrics import Metrics, compute_metrics, format_metrics
from community.tickets.notify import Callback, parse_callback
from community.tickets.queries import (
    get_ticket,
    get_ticket_for_person,
    tasks_for_staff,
    ticket_events,
    tickets_for_reporter,
    visible_contact,
)
from community.tickets.reporter_steps import cancel, rate, reopen
from community.tickets.states import Step
from community.tickets.steps import accept, decline, escalate, resolve

__all__ = [
    "AlreadyTaken",
    "AlreadyYours",
    "Callback",
    "FilingResult",
    "IllegalTransition",
    "InvalidInput",
    "Metrics",
    "NoCandidate",
    "NotAllowed",
    "StaleVersion",
    "Step",
    "TicketError",
    "TicketNotFound",
    "accept",
    "cancel",
    "compute_metrics",
    "decline",
    "escalate",
    "escalate_overdue",
    "file_report",
    "format_metrics",
    "get_ticket",
    "get_ticket_for_person",
    "parse_callback",
    "rate",
    "reopen",
    "resolve",
    "set_duty",
    "tasks_for_staff",
    "ticket_events",
    "tickets_for_reporter",
    "visible_contact",
]
