"""The ticket loop's public functions, re-exported from the modules that now hold them.

Kept so that existing imports (`from community.tickets.service import file_report`) go on working while
callers move to the modules themselves: policy (who may do what), transition (the compare-and-set core),
filing (filing, duplicates, locks), steps and reporter_steps (accept … locate), fanout (who hears what), duty.
"""

from __future__ import annotations

from community.grids.geo import haversine_m
from community.tickets.duty import set_duty
from community.tickets.fanout import staff_audience
from community.tickets.filing import (
    DUPLICATE_RADIUS_M,
    DUPLICATE_WINDOW,
    REF_ALPHABET,
    UNROUTED_RETRY,
    FilingResult,
    begin_write,
    dispatch,
    file_report,
    find_original,
    new_ref,
)
from community.tickets.policy import actor_role, contact_of, is_grid_member_of
from community.tickets.reporter_steps import add_location, cancel, open_emergency_of, rate, reopen
from community.tickets.steps import accept, decline, escalate, escalate_one_level, remind, resolve
from community.tickets.transition import (
    DEFAULT_ACCEPT_SLA,
    DEFAULT_RESOLVE_SLA,
    accept_sla,
    category_of,
    require_aware,
    resolve_sla,
    sla_for_state,
)

__all__ = [
    "DEFAULT_ACCEPT_SLA",
    "DEFAULT_RESOLVE_SLA",
    "DUPLICATE_RADIUS_M",
    "DUPLICATE_WINDOW",
    "REF_ALPHABET",
    "UNROUTED_RETRY",
    "FilingResult",
    "accept",
    "accept_sla",
    "actor_role",
    "add_location",
    "begin_write",
    "cancel",
    "category_of",
    "contact_of",
    "decline",
    "dispatch",
    "escalate",
    "escalate_one_level",
    "file_report",
    "find_original",
    "haversine_m",
    "is_grid_member_of",
    "new_ref",
    "open_emergency_of",
    "rate",
    "remind",
    "reopen",
    "require_aware",
    "resolve",
    "resolve_sla",
    "set_duty",
    "sla_for_state",
    "staff_audience",
]
