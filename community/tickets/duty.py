"""Volunteers on and off duty: /duty on|off, and who is on duty. Routing skips volunteers off duty."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from community.database import utcnow
from community.people.models import Person, VolunteerProfile
from community.tickets.policy import may_go_on_duty
from community.volunteers.models import DutyEvent


def set_duty(
    session: Session, person: Person, on: bool, now: datetime | None = None
) -> VolunteerProfile:
    """/duty on|off for a volunteer; off-duty volunteers are skipped by routing.

    Every call is also a DutyEvent, so duty hours and coverage are counted from the log: an `on` opens a
    duty session (a second `on` while one is open changes nothing), an `off` closes it."""
    if not may_go_on_duty(person):
        raise PermissionError(f"person {person.id} is not a volunteer")
    profile = person.volunteer
    if profile is None:
        profile = VolunteerProfile(person_id=person.id, on_duty=on, skills=[])
        person.volunteer = profile
    profile.on_duty = on
    session.add(DutyEvent(person_id=person.id, on_duty=on, at=now or utcnow()))
    session.flush()
    return profile


def off_duty_reason(person: Person) -> str | None:
    """Why routing passes over this volunteer for duty reasons, or None when they are on duty."""
    profile = person.volunteer
    if profile is None:
        return "no volunteer profile"
    if not profile.on_duty:
        return "off duty"
    return None
