"""One head again: the three parts of issue #17 (有事好商量 matters, partners and projects, station bookings)
meet here, so the next migration has one parent.

Revision ID: h17merge00001
Revises: h17matt00001, h17proj00001, h17book00001
"""

from __future__ import annotations

revision = "h17merge00001"
down_revision = ("h17matt00001", "h17proj00001", "h17book00001")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
