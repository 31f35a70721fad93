"""Every table, imported in one place so that Alembic and create_all see the whole schema."""

from community.conversations.models import ConversationState
from community.database import Base
from community.grids.models import Grid, GridLevel, Landmark
from community.knowledge.models import FaqEntry
from community.language.models import TranslationCacheEntry
from community.office.models import OfficeLogin, Open311Client
from community.outbox.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.servicemap.models import ServicePoint
from community.tickets.models import (
    Assignment,
    EscalationLevel,
    Follower,
    IssueCategory,
    Rating,
    Ticket,
    TicketEvent,
    TicketState,
    Urgency,
)
from community.tickets.status_links import TicketStatusToken

__all__ = [
    "Assignment",
    "Base",
    "ConversationState",
    "EscalationLevel",
    "FaqEntry",
    "Follower",
    "Grid",
    "GridLevel",
    "IssueCategory",
    "Landmark",
    "OfficeLogin",
    "Open311Client",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PersonRole",
    "ProcessedUpdate",
    "Rating",
    "Role",
    "ServicePoint",
    "Ticket",
    "TicketEvent",
    "TicketState",
    "TicketStatusToken",
    "TranslationCacheEntry",
    "Urgency",
    "VolunteerProfile",
]
