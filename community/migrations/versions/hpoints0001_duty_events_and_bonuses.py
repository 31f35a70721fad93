"""Duty sessions as events and the desk's point bonuses (both append-only).

Revision ID: hpoints0001
Revises: h5c0a7e500001
Create Date: 2026-12-05 19:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import community.database

revision = "hpoints0001"
down_revision = "h5c0a7e500001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_duty_events_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_events")),
    )
    with op.batch_alter_table("duty_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_events_person_id"), ["person_id"], unique=False)
    op.create_table(
        "point_bonuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("awarded_by_id", sa.Integer(), nullable=False),
        sa.Column("at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["awarded_by_id"], ["persons.id"], name=op.f("fk_point_bonuses_awarded_by_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_point_bonuses_person_id_persons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_bonuses")),
    )
    with op.batch_alter_table("point_bonuses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_bonuses_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_point_bonuses_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("point_bonuses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_bonuses_person_id"))
        batch_op.drop_index(batch_op.f("ix_point_bonuses_at"))
    op.drop_table("point_bonuses")
    with op.batch_alter_table("duty_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_events_person_id"))
        batch_op.drop_index(batch_op.f("ix_duty_events_at"))
    op.drop_table("duty_events")
