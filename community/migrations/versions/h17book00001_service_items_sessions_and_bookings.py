"""Service items of the micro-grid stations, their sessions and bookings (community/bookings).

Revision ID: h17book00001
Revises: h7merge000001
Create Date: 2026-12-05 22:49:33.004165
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import community.database

revision: str = "h17book00001"
down_revision: str | None = "h7merge000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_items",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column(
            "category_names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "names",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "descriptions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("station_code", sa.String(length=60), nullable=False),
        sa.Column("grid_code", sa.String(length=40), nullable=True),
        sa.Column("team_code", sa.String(length=40), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "schedule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "keywords",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["grid_code"], ["grids.code"], name=op.f("fk_service_items_grid_code_grids")),
        sa.ForeignKeyConstraint(
            ["station_code"],
            ["service_points.code"],
            name=op.f("fk_service_items_station_code_service_points"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_service_items")),
    )
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_items_category"), ["category"], unique=False)

    op.create_table(
        "service_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("starts_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("no_shows_released_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_code"], ["service_items.code"], name=op.f("fk_service_sessions_item_code_service_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_sessions")),
        sa.UniqueConstraint("item_code", "starts_at", "language", name="uq_service_sessions_slot"),
    )
    with op.batch_alter_table("service_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_sessions_item_code"), ["item_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_sessions_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "service_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_by_id", sa.Integer(), nullable=True),
        sa.Column("reminded_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("no_show_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checked_in_by_id"],
            ["persons.id"],
            name=op.f("fk_service_bookings_checked_in_by_id_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_service_bookings_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["service_sessions.id"],
            name=op.f("fk_service_bookings_session_id_service_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_bookings")),
        sa.UniqueConstraint("session_id", "person_id", name="uq_service_bookings_person"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_service_bookings_token_hash")),
    )
    with op.batch_alter_table("service_bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_bookings_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_bookings_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_bookings_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_bookings_status"))
        batch_op.drop_index(batch_op.f("ix_service_bookings_session_id"))
        batch_op.drop_index(batch_op.f("ix_service_bookings_person_id"))

    op.drop_table("service_bookings")
    with op.batch_alter_table("service_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_sessions_starts_at"))
        batch_op.drop_index(batch_op.f("ix_service_sessions_item_code"))

    op.drop_table("service_sessions")
    with op.batch_alter_table("service_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_items_category"))

    op.drop_table("service_items")
