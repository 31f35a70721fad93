"""Invitations do not pile up: the daily retention run deletes them 30 days after they expired, used or not,
and keeps the enrolment it led to (a person event)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from community.database import Database
from community.grids.models import Grid
from community.people.enrolment import claim_invitation, create_invitation
from community.people.models import Person, PersonRole, Role
from community.people.records import Invitation, PersonEvent
from community.retention import apply_retention
from community.settings import Settings
from community.tickets.models import IssueCategory

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_spent_invitations_are_deleted_a_month_after_they_expired(db: Database) -> None:
    with db.session() as s:
        s.add(
            Grid(
                code="g",
                parent_code=None,
                level="grid",
                names={},
                polygon=[],
                red=False,
                content_hash="",
                active=True,
            )
        )
        s.add(
            Grid(
                code="m",
                parent_code="g",
                level="micro_grid",
                names={},
                polygon=[],
                red=False,
                content_hash="",
                active=True,
            )
        )
        s.add(
            IssueCategory(
                code="c",
                names={},
                keywords={},
                skill="roads",
                urgency="normal",
                emergency=False,
                accept_sla_minutes=1,
                resolve_sla_minutes=1,
                content_hash="",
                active=True,
            )
        )
        s.flush()
        desk = Person(external_key="test:desk", roles=[PersonRole(role=Role.DESK, grid_code=None)])
        joiner = Person(external_key="test:joiner", telegram_id=806_000_021)
        s.add_all([desk, joiner])
        s.flush()
        old_used = create_invitation(
            s, desk, "volunteer", "m", "roads", now=NOW - timedelta(days=40), ttl=timedelta(hours=72)
        )
        claim_invitation(s, old_used.code, joiner, now=NOW - timedelta(days=39))
        create_invitation(
            s, desk, "volunteer", "m", "", now=NOW - timedelta(days=40), ttl=timedelta(hours=72)
        )
        recent = create_invitation(
            s, desk, "volunteer", "m", "", now=NOW - timedelta(days=20), ttl=timedelta(hours=72)
        )

    removed = apply_retention(db, Settings(database_url=db.url), NOW)

    assert removed["invitations_deleted"] == 2
    with db.session() as s:
        assert [i.id for i in s.scalars(select(Invitation))] == [recent.invitation_id]
        assert s.scalars(select(PersonEvent.kind).where(PersonEvent.kind == "enrolled")).all() == ["enrolled"]
        assert apply_retention(db, Settings(database_url=db.url), NOW)["invitations_deleted"] == 0
