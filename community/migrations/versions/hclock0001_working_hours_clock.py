"""The hotline's clock: a category's SLA clock, a ticket's warning and "still on it" times, extensions.

Revision ID: hclock0001
Revises: h5c0a7e500001
Create Date: 2026-12-05 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import community.database

revision = "hclock0001"
down_revision = "h5c0a7e500001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issue_categories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sla_clock", sa.String(length=20), server_default="around_the_clock", nullable=False)
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warn_at", community.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("nudge_at", community.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_tickets_warn_at"), ["warn_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_nudge_at"), ["nudge_at"], unique=False)
    op.create_table(
        "ticket_extension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("due_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["persons.id"], name=op.f("fk_ticket_extension_requests_decided_by_persons")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["persons.id"], name=op.f("fk_ticket_extension_requests_requested_by_persons")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_extension_requests_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_extension_requests")),
    )
    with op.batch_alter_table("ticket_extension_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_extension_requests_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_extension_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_extension_requests_ticket_id"))
    op.drop_table("ticket_extension_requests")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_nudge_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_warn_at"))
        batch_op.drop_column("nudge_at")
        batch_op.drop_column("warn_at")
    with op.batch_alter_table("issue_categories", schema=None) as batch_op:
        batch_op.drop_column("sla_clock")
