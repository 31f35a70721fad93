"""A small synthetic community built directly through the models (no knowledge files).

    XJ (community)
    ├── G1 (grid)      M1 (micro-grid) ⊃ M1A (a smaller micro-grid inside M1), M2 (micro-grid)
    └── G2 (grid)      M3 (micro-grid); landmark PAVILION is filed under G2 itself but lies in M3

Coordinates are near the real street (32.21 N, 119.43 E) but invented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from community.database import Database
from community.grids.models import Grid, GridLevel, Landmark
from community.outbox.models import OutboxMessage
from community.people.models import Person, PersonRole, Role, VolunteerProfile
from community.tickets.filing import FilingResult, file_report
from community.tickets.models import IssueCategory, Ticket, TicketEvent

T0 = datetime(2025, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Zhenjiang


def box(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


# Points inside each micro-grid (lat, lon).
IN_M1 = (32.2105, 119.4305)  # in M1, outside M1A
IN_M1A = (32.2115, 119.4315)  # in M1A (and therefore in M1 too)
IN_M2 = (32.2115, 119.4360)
IN_M3 = (32.2115, 119.4440)
OUTSIDE = (32.3000, 119.5000)

GRIDS: list[dict[str, Any]] = [
    {
        "code": "XJ",
        "parent": None,
        "level": GridLevel.COMMUNITY,
        "poly": box(119.420, 32.200, 119.460, 32.220),
        "zh": "西津古渡社区",
        "en": "Xijin Ferry community",
    },
    {
        "code": "G1",
        "parent": "XJ",
        "level": GridLevel.GRID,
        "poly": box(119.428, 32.208, 119.440, 32.215),
        "zh": "小码头街网格",
        "en": "Xiaomatou Street grid",
    },
    {
        "code": "G2",
        "parent": "XJ",
        "level": GridLevel.GRID,
        "poly": box(119.440, 32.208, 119.452, 32.215),
        "zh": "云台山网格",
        "en": "Yuntai Hill grid",
    },
    {
        "code": "M1",
        "parent": "G1",
        "level": GridLevel.MICRO_GRID,
        "poly": box(119.430, 32.210, 119.434, 32.213),
        "zh": "待渡亭微网格",
        "en": "Ferry Pavilion micro-grid",
    },
    {
        "code": "M1A",
        "parent": "G1",
        "level": GridLevel.MICRO_GRID,
        "poly": box(119.431, 32.211, 119.432, 32.212),
        "zh": "救生会微网格",
        "en": "Lifesaving Hall micro-grid",
    },
    {
        "code": "M2",
        "parent": "G1",
        "level": GridLevel.MICRO_GRID,
        "poly": box(119.434, 32.210, 119.438, 32.213),
        "zh": "昭关微网格",
        "en": "Zhaoguan micro-grid",
    },
    {
        "code": "M3",
        "parent": "G2",
        "level": GridLevel.MICRO_GRID,
        "poly": box(119.442, 32.210, 119.446, 32.213),
        "zh": "观音洞微网格",
        "en": "Guanyin Cave micro-grid",
    },
]

CATEGORIES: list[dict[str, Any]] = [
    {
        "code": "streetlight",
        "skill": "electric",
        "urgency": "normal",
        "emergency": False,
        "accept": 30,
        "resolve": 240,
        "zh": "路灯故障",
        "en": "Broken street light",
        "ja": "街灯の故障",
    },
    {
        "code": "litter",
        "skill": "cleaning",
        "urgency": "normal",
        "emergency": False,
        "accept": 60,
        "resolve": 480,
        "zh": "垃圾堆积",
        "en": "Litter",
        "ja": "ごみ",
    },
    {
        "code": "plumbing",
        "skill": "plumbing",
        "urgency": "urgent",
        "emergency": False,
        "accept": 30,
        "resolve": 600,
        "zh": "漏水",
        "en": "Water leak",
        "ja": "水漏れ",
    },
    {
        "code": "first_aid",
        "skill": "first_aid",
        "urgency": "emergency",
        "emergency": True,
        "accept": 5,
        "resolve": 60,
        "zh": "急救",
        "en": "First aid",
        "ja": "応急手当",
    },
]

# key: (display name, language, [(role, grid)], volunteer profile (on_duty, skills) or None)
PEOPLE: dict[str, tuple[str, str, list[tuple[Role, str | None]], tuple[bool, list[str]] | None]] = {
    "v_m1_a": ("Wang Fang", "zh-Hans", [(Role.VOLUNTEER, "M1")], (True, ["electric"])),
    "v_m1_b": ("Li Na", "zh-Hans", [(Role.VOLUNTEER, "M1")], (True, ["electric", "cleaning"])),
    "v_m1_off": ("Zhao Lei", "zh-Hans", [(Role.VOLUNTEER, "M1")], (False, ["electric", "cleaning"])),
    "v_m1a": ("Chen Jing", "en", [(Role.VOLUNTEER, "M1A")], (True, ["electric"])),
    "v_m2": ("Sun Li", "zh-Hans", [(Role.VOLUNTEER, "M2")], (True, ["cleaning", "first_aid"])),
    "v_m3": ("Zhou Qiang", "zh-Hans", [(Role.VOLUNTEER, "M3")], (True, ["electric", "cleaning"])),
    "gm_g1": ("Grid Member One", "zh-Hans", [(Role.GRID_MEMBER, "G1")], None),
    "gm_g2": ("Grid Member Two", "zh-Hans", [(Role.GRID_MEMBER, "G2")], None),
    "cm_1": ("Committee One", "zh-Hans", [(Role.COMMITTEE_MEMBER, "XJ")], None),
    "cm_2": ("Committee Two", "ko", [(Role.COMMITTEE_MEMBER, "XJ")], None),
    "desk": ("Desk Clerk", "zh-Hans", [(Role.DESK, None)], None),
    "alice": ("Alice Smith", "en", [(Role.TOURIST, None)], None),
    "sato": ("Sato Hanako", "ja", [(Role.TOURIST, None)], None),
    "zhang": ("张伟", "zh-Hans", [(Role.RESIDENT, None)], None),
    "kim": ("Kim Minji", "ko", [(Role.RESIDENT, None)], None),
}


@dataclass
class World:
    people: dict[str, int] = field(default_factory=dict)

    def id(self, key: str) -> int:
        return self.people[key]

    def person(self, session: Session, key: str) -> Person:
        person = session.get(Person, self.people[key])
        assert person is not None
        return person


def add_person(
    session: Session,
    key: str,
    name: str,
    language: str,
    roles: list[tuple[Role, str | None]],
    profile: tuple[bool, list[str]] | None,
    telegram_id: int,
) -> Person:
    person = Person(
        external_key=f"test:{key}",
        telegram_id=telegram_id,
        chat_id=str(telegram_id),
        display_name=name,
        preferred_language=language,
        roles=[PersonRole(role=role, grid_code=grid) for role, grid in roles],
    )
    if profile is not None:
        person.volunteer = VolunteerProfile(on_duty=profile[0], skills=list(profile[1]))
    session.add(person)
    session.flush()
    return person


def build_world(database: Database) -> World:
    world = World()
    with database.session() as session:
        for g in GRIDS:
            session.add(
                Grid(
                    code=g["code"],
                    parent_code=g["parent"],
                    level=g["level"],
                    polygon=g["poly"],
                    names={"zh-Hans": g["zh"], "en": g["en"]},
                    red=False,
                    active=True,
                    content_hash="",
                )
            )
            session.flush()
        session.add_all(
            [
                Landmark(
                    code="PAGODA",
                    grid_code="M2",
                    names={"zh-Hans": "昭关石塔", "en": "Zhaoguan Stone Pagoda"},
                    aliases=[],
                    lat=32.2116,
                    lon=119.4362,
                    active=True,
                ),
                Landmark(
                    code="PAVILION",
                    grid_code="G2",
                    names={"zh-Hans": "云台阁", "en": "Yuntai Pavilion"},
                    aliases=[],
                    lat=32.2112,
                    lon=119.4443,
                    active=True,
                ),
            ]
        )
        for c in CATEGORIES:
            session.add(
                IssueCategory(
                    code=c["code"],
                    names={"zh-Hans": c["zh"], "en": c["en"], "ja": c["ja"]},
                    keywords={},
                    skill=c["skill"],
                    urgency=c["urgency"],
                    emergency=c["emergency"],
                    accept_sla_minutes=c["accept"],
                    resolve_sla_minutes=c["resolve"],
                    active=True,
                )
            )
        for n, (key, (name, language, roles, profile)) in enumerate(PEOPLE.items(), start=1):
            world.people[key] = add_person(session, key, name, language, roles, profile, 1000 + n).id
    return world


def file(
    database: Database,
    world: World,
    reporter: str,
    category: str | None,
    point: tuple[float, float] | None = None,
    now: datetime = T0,
    **kwargs: Any,
) -> FilingResult:
    with database.session() as session:
        lat, lon = point if point else (None, None)
        return file_report(
            session,
            reporter=world.person(session, reporter),
            category_code=category,
            lat=lat,
            lon=lon,
            now=now,
            **kwargs,
        )


def ticket(database: Database, ticket_id: int) -> Ticket:
    with database.session() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def events(database: Database, ticket_id: int) -> list[TicketEvent]:
    with database.session() as session:
        return list(
            session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
            )
        )


def messages(
    database: Database, person_id: int | None = None, ticket_id: int | None = None
) -> list[OutboxMessage]:
    with database.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
        if person_id is not None:
            query = query.where(OutboxMessage.recipient_id == person_id)
        if ticket_id is not None:
            query = query.where(OutboxMessage.ticket_id == ticket_id)
        return list(session.scalars(query))


def last_message(database: Database, person_id: int, kind: str | None = None) -> OutboxMessage:
    found = [m for m in messages(database, person_id) if kind is None or m.kind == kind]
    assert found, f"no message{' of kind ' + kind if kind else ''} for person {person_id}"
    return found[-1]


def later(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)
