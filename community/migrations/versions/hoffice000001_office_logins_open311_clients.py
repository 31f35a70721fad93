"""One-time dashboard logins and Open311 client keys (hashes only).

Revision ID: hoffice000001
Revises: h5c0a7e500001
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import community.database

revision = "hoffice000001"
down_revision = "h5c0a7e500001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "office_logins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_office_logins_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office_logins")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_office_logins_token_hash")),
    )
    with op.batch_alter_table("office_logins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_logins_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_office_logins_person_id"), ["person_id"], unique=False)
    op.create_table(
        "open311_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_clients")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_clients_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("open311_clients")
    with op.batch_alter_table("office_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_logins_person_id"))
        batch_op.drop_index(batch_op.f("ix_office_logins_expires_at"))
    op.drop_table("office_logins")
