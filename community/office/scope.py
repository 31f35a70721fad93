"""What a staff member sees on the dashboard, from their role rows in the database.

The committee and the desk see everything; a grid member their grid (and its micro-grids); a volunteer
(micro-grid backbone) at most their own micro-grids. Residents and tourists see nothing. A person with
several roles sees the union. Tickets without a grid (triage by the desk) are for "everything" only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from community.grids.models import Grid, GridLevel
from community.people.models import Person, Role
from community.tickets.models import Ticket


@dataclass(frozen=True)
class Scope:
    everything: bool
    grids: frozenset[str]  # street grids seen whole
    micro_grids: frozenset[str]  # micro-grids seen (those of the grids above included)

    @property
    def empty(self) -> bool:
        return not self.everything and not self.grids and not self.micro_grids

    def tickets(self) -> ColumnElement[bool]:
        """A WHERE clause on Ticket for what this scope may see."""
        if self.everything:
            return true()
        if self.empty:
            return false()
        return or_(
            Ticket.grid_code.in_(sorted(self.grids)), Ticket.micro_grid_code.in_(sorted(self.micro_grids))
        )

    def sees_grid(self, code: str | None) -> bool:
        return self.everything or (code is not None and (code in self.grids or code in self.micro_grids))


NOTHING = Scope(False, frozenset(), frozenset())


def scope_of(session: Session, person: Person) -> Scope:
    if person.has_role(Role.COMMITTEE_MEMBER, Role.DESK):
        return Scope(True, frozenset(), frozenset())
    grids = {r.grid_code for r in person.roles if r.role == Role.GRID_MEMBER and r.grid_code}
    micro = {r.grid_code for r in person.roles if r.role == Role.VOLUNTEER and r.grid_code}
    if grids:
        micro |= set(
            session.scalars(
                select(Grid.code).where(
                    Grid.parent_code.in_(sorted(grids)), Grid.level == GridLevel.MICRO_GRID
                )
            )
        )
    return Scope(False, frozenset(grids), frozenset(micro))
