"""有事好商量 (issue #17): matters, their supports, participants and events, and the standards (6 areas, 43).

Revision ID: h17matt00001
Revises: h7merge000001
Create Date: 2026-12-05 22:49:21.057463
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import community.database

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision: str = "h17matt00001"
down_revision: str | None = "h7merge000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "matter_standards",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("area_code", sa.String(length=40), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("names", _JSON, nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_matter_standards")),
    )
    with op.batch_alter_table("matter_standards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matter_standards_area_code"), ["area_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_matter_standards_level"), ["level"], unique=False)

    op.create_table(
        "matters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("translations", _JSON, nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("grid_code", sa.String(length=40), nullable=False),
        sa.Column("raiser_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("area_code", sa.String(length=40), nullable=True),
        sa.Column("standard_code", sa.String(length=40), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("supporters", sa.Integer(), nullable=False),
        sa.Column("meeting_at", community.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("meeting_place", sa.String(length=200), nullable=False),
        sa.Column("outcome", _JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grid_code"], ["grids.code"], name=op.f("fk_matters_grid_code_grids")),
        sa.ForeignKeyConstraint(
            ["raiser_id"], ["persons.id"], name=op.f("fk_matters_raiser_id_persons"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
        sa.UniqueConstraint("ref", name=op.f("uq_matters_ref")),
    )
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matters_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_matters_raiser_id"), ["raiser_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matters_state"), ["state"], unique=False)

    op.create_table(
        "matter_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["persons.id"], name=op.f("fk_matter_events_actor_id_persons"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_matter_events_matter_id_matters"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_events")),
    )
    with op.batch_alter_table("matter_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matter_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_matter_events_matter_id"), ["matter_id"], unique=False)

    op.create_table(
        "matter_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("invited_as", sa.String(length=40), nullable=True),
        sa.Column("signed_up", sa.Boolean(), nullable=False),
        sa.Column("at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"],
            ["matters.id"],
            name=op.f("fk_matter_participants_matter_id_matters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_matter_participants_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_participants")),
        sa.UniqueConstraint("matter_id", "person_id", name="uq_matter_participants_person"),
    )
    with op.batch_alter_table("matter_participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matter_participants_matter_id"), ["matter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matter_participants_person_id"), ["person_id"], unique=False)

    op.create_table(
        "matter_supports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", community.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"],
            ["matters.id"],
            name=op.f("fk_matter_supports_matter_id_matters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_matter_supports_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matter_supports")),
        sa.UniqueConstraint("matter_id", "person_id", name="uq_matter_supports_person"),
    )
    with op.batch_alter_table("matter_supports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matter_supports_matter_id"), ["matter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matter_supports_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("matter_supports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matter_supports_person_id"))
        batch_op.drop_index(batch_op.f("ix_matter_supports_matter_id"))

    op.drop_table("matter_supports")
    with op.batch_alter_table("matter_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matter_participants_person_id"))
        batch_op.drop_index(batch_op.f("ix_matter_participants_matter_id"))

    op.drop_table("matter_participants")
    with op.batch_alter_table("matter_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matter_events_matter_id"))
        batch_op.drop_index(batch_op.f("ix_matter_events_at"))

    op.drop_table("matter_events")
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matters_state"))
        batch_op.drop_index(batch_op.f("ix_matters_raiser_id"))
        batch_op.drop_index(batch_op.f("ix_matters_grid_code"))

    op.drop_table("matters")
    with op.batch_alter_table("matter_standards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matter_standards_level"))
        batch_op.drop_index(batch_op.f("ix_matter_standards_area_code"))

    op.drop_table("matter_standards")
