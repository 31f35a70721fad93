"""Every table, imported in one place so that Alembic and create_all see the whole schema."""

from community.bookings.models import Booking, ServiceItem, ServiceSession
from community.conversations.models import ConversationState
from community.database import Base
from community.grids.models import Grid, GridLevel, Landmark
from community.knowledge.models import FaqEntry
from community.language.models import TranslationCacheEntry
from community.matters.models import (
    Matter,
    MatterEvent,
    MatterParticipant,
    MatterStandard,
    MatterSupport,
)
from community.office.models import OfficeLogin, Open311Client
from community.outbox.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from community.outreach.models import Announcement, AnnouncementDelivery, Subscription

# Partners and projects (issue #17, 便民服务联认).
from community.partners.models import Partner, PartnerContact
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.people.records import Invitation, PersonEvent, Team, TeamMember
from community.projects.models import Project, ProjectClaim, ProjectEvent, ProjectSummary, ProjectSupporter
from community.servicemap.models import ServicePoint
from community.tickets.canned import AddedReply
from community.tickets.models import (
    Assignment,
    EscalationLevel,
    ExtensionRequest,
    Follower,
    IssueCategory,
    Rating,
    Ticket,
    TicketEvent,
    TicketState,
    Urgency,
)
from community.tickets.status_links import TicketStatusToken
from community.volunteers.models import DutyEvent, PointBonus

__all__ = [
    "AddedReply",
    "Announcement",
    "AnnouncementDelivery",
    "Assignment",
    "Base",
    "Booking",
    "ConversationState",
    "DutyEvent",
    "EscalationLevel",
    "ExtensionRequest",
    "FaqEntry",
    "Follower",
    "Grid",
    "GridLevel",
    "Invitation",
    "IssueCategory",
    "Landmark",
    "Matter",
    "MatterEvent",
    "MatterParticipant",
    "MatterStandard",
    "MatterSupport",
    "OfficeLogin",
    "Open311Client",
    "OutboxMessage",
    "OutboxStatus",
    "Partner",
    "PartnerContact",
    "Person",
    "PersonEvent",
    "PersonRole",
    "PointBonus",
    "ProcessedUpdate",
    "Project",
    "ProjectClaim",
    "ProjectEvent",
    "ProjectSummary",
    "ProjectSupporter",
    "Rating",
    "Role",
    "ServiceItem",
    "ServicePoint",
    "ServiceSession",
    "Subscription",
    "Team",
    "TeamMember",
    "Ticket",
    "TicketEvent",
    "TicketState",
    "TicketStatusToken",
    "TranslationCacheEntry",
    "Urgency",
    "VolunteerProfile",
]
