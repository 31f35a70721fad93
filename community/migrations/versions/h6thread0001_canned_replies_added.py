"""Canned replies staff add in the bot (the reviewed ones are in knowledge/canned_replies.yml).

Revision ID: h6thread0001
Revises: h5c0a7e500001
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import community.database

revision = "h6thread0001"
down_revision = "h5c0a7e500001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_replies_added",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("created_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["persons.id"], name=op.f("fk_canned_replies_added_added_by_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies_added")),
    )
    with op.batch_alter_table("canned_replies_added", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_canned_replies_added_category_code"), ["category_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("canned_replies_added", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_canned_replies_added_category_code"))
    op.drop_table("canned_replies_added")
