"""One head again: the branches of the seventh session (the ticket conversation, the hotline clock, enrolment
and teams, points, outreach, the web chat's status tokens, the office) and the earlier ones meet here, so the
next migration has one parent.

Revision ID: h7merge000001
Revises: h2b0a7c4a7001, h4a1c0de0001, h14enrol0001, h6thread0001, hclock0001, hoffice000001, houtreach0001,
    hpoints0001, hwebchat00001
"""

from __future__ import annotations

revision = "h7merge000001"
down_revision = (
    "h2b0a7c4a7001",
    "h4a1c0de0001",
    "h14enrol0001",
    "h6thread0001",
    "hclock0001",
    "hoffice000001",
    "houtreach0001",
    "hpoints0001",
    "hwebchat00001",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
