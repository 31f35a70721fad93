"""Ticket status tokens: the unguessable part of a reporter's status-page link.

Revision ID: hwebchat00001
Revises: h5c0a7e500001
Create Date: 2026-12-05 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import community.database

revision = "hwebchat00001"
down_revision = "h5c0a7e500001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_status_tokens",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_status_tokens_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_status_tokens")),
    )


def downgrade() -> None:
    op.drop_table("ticket_status_tokens")
