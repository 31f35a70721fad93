"""The link a reporter filing through Open311 follows their request by: the ticket's status page."""

from __future__ import annotations

from urllib.parse import quote

from community.settings import Settings
from community.tickets.models import Ticket


def status_url(settings: Settings, ticket: Ticket) -> str:
    """The status page of the ticket, with its unguessable token where tickets carry one."""
    base = settings.web_public_url.rstrip("/")
    token = getattr(ticket, "status_token", None)
    if token:
        return f"{base}/status/{quote(ticket.ref)}?t={quote(str(token))}"
    return f"{base}/status/{quote(ticket.ref)}"
