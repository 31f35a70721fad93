"""Outbox lease tokens and retention: outbox.lease_token, outbox.scrubbed_at, age indexes.

Revision ID: h4a1c0de0001
Revises: bbdafe22db87
Create Date: 2026-12-05 16:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import community.database

revision = "h4a1c0de0001"
down_revision = "bbdafe22db87"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_token", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column("scrubbed_at", community.database.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("translation_cache", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_translation_cache_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("translation_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_translation_cache_created_at"))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_created_at"))
        batch_op.drop_column("scrubbed_at")
        batch_op.drop_column("lease_token")
