"""Schema of the knowledge files and `load_knowledge`, which validates all of them before returning.

Everything is checked before anything is written: a reviewer's mistake must be rejected whole, with the file,
the entry and the field named, never half-loaded. Problems are collected across all files so that one run
lists everything to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

from community.grids.geo import haversine_m
from community.i18n import CURATED_LANGUAGES
from community.servicemap.hours import HoursError, parse_hours

FILES = {
    "faq": "faq.yml",
    "grids": "grids.yml",
    "service_points": "service_points.yml",
    "categories": "categories.yml",
    "roster": "roster.yml",
    "teams": "teams.yml",  # optional; read by community/people/teams.py
    "partners": "partners.yml",  # optional; read by community/partners/knowledge.py (issue #17)
    # Service items of the micro-grid stations: optional; read by community/bookings/knowledge.py.
    "service_items": "service_items.yml",
}
# Skills the community desk covers for the whole community; every other skill must be on duty in every grid.
DESK_SKILLS = frozenset({"triage"})
# Relative tolerance for area comparisons: shared vertices make true overlaps/gaps exactly zero, so anything
# above float noise is a real mistake in the file.
AREA_TOLERANCE = 1e-9
# A service point more than this far from its landmark is almost certainly a typo in one of the coordinates.
MAX_LANDMARK_DISTANCE_M = 500.0

ServiceType = Literal[
    "toilet",
    "first_aid",
    "charging",
    "luggage",
    "drinking_water",
    "guide",
    "volunteer_station",
    "police",
    "atm",
    "lost_and_found",
    "service_point",
]
SERVICE_TYPES: tuple[str, ...] = get_args(ServiceType)
Urgency = Literal["normal", "urgent", "emergency"]
SlaClock = Literal["around_the_clock", "working_hours"]
RoleName = Literal["volunteer", "grid_member", "committee_member", "desk"]

# Ids are stable keys in the database (tickets refer to them): lower-case, no spaces, within column sizes.
Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
PointId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
PersonId = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=73)
]  # "roster:" + id ≤ 80
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", max_length=10)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class _Strict(BaseModel):
    # strict: a YAML slip (unquoted 17:30 → int, "yes" → bool) must fail instead of being coerced quietly.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class Texts(_Strict):
    """A text in each curated language; all five are required."""

    zh_Hans: Text = Field(alias="zh-Hans")
    zh_Hant: Text = Field(alias="zh-Hant")
    en: Text
    ja: Text
    ko: Text

    def as_dict(self) -> dict[str, str]:
        return self.model_dump(by_alias=True)


class Keywords(_Strict):
    zh_Hans: list[Keyword] = Field(alias="zh-Hans", min_length=1)
    zh_Hant: list[Keyword] = Field(alias="zh-Hant", min_length=1)
    en: list[Keyword] = Field(min_length=1)
    ja: list[Keyword] = Field(min_length=1)
    ko: list[Keyword] = Field(min_length=1)

    def as_dict(self) -> dict[str, list[str]]:
        return self.model_dump(by_alias=True)


# Keep the models in step with the message catalogue's list of curated languages.
assert tuple(f.alias or name for name, f in Texts.model_fields.items()) == CURATED_LANGUAGES
assert tuple(f.alias or name for name, f in Keywords.model_fields.items()) == CURATED_LANGUAGES


class Location(_Strict):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


Vertex = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=2)]


class _Area(_Strict):
    id: Id
    names: Texts
    # Outer ring [[lon, lat], ...], closed; at least a triangle plus the closing vertex.
    polygon: list[Vertex] = Field(min_length=4)

    def shape(self) -> Polygon:
        return Polygon([(x, y) for x, y in self.polygon])


class CommunityEntry(_Area):
    pass


class MicroGridEntry(_Area):
    red: bool = False


class GridEntry(_Area):
    red: bool = False
    # Validated entry by entry (each a MicroGridEntry) so that a problem names the micro-grid.
    micro_grids: list[Any] = Field(min_length=1)


class LandmarkEntry(_Strict):
    id: Id
    names: Texts
    aliases: list[Keyword] = []
    location: Location
    micro_grid: Id


class ServicePointEntry(_Strict):
    id: PointId
    type: ServiceType
    sample: bool = True
    names: Texts
    address: Texts
    location: Location
    landmark: Id | None = None
    # Checked by community.servicemap.hours.parse_hours, which names the element at fault.
    opening_hours: Any
    services: list[Code] = []
    languages: list[LanguageCode] = Field(min_length=1)
    contact: Annotated[str, StringConstraints(max_length=80)] = ""


class CategoryEntry(_Strict):
    id: Id
    names: Texts
    keywords: Keywords
    skill: Code
    urgency: Urgency
    emergency: bool
    accept_sla_minutes: int = Field(gt=0)
    resolve_sla_minutes: int = Field(gt=0)
    # around_the_clock (24×7) or working_hours (knowledge/calendar.yml); community/tickets/clock.py.
    sla_clock: SlaClock


class FaqEntryModel(_Strict):
    id: Id  # the topic of the NLU retrieval intent faq/<topic>
    sample: bool = False
    answers: Texts


class RoleEntry(_Strict):
    role: RoleName
    grid: Id


class PersonEntry(_Strict):
    id: PersonId
    sample: bool = True
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    telegram_id: int | None = Field(default=None, gt=0)
    language: LanguageCode = "zh-Hans"
    roles: list[RoleEntry] = Field(min_length=1)
    skills: list[Code] = []
    on_duty: bool = True


@dataclass(frozen=True)
class GridNode:
    """A row of the grid tree, flattened: the community, a grid or a micro-grid."""

    id: str
    parent: str | None
    level: Literal["community", "grid", "micro_grid"]
    names: Texts
    polygon: list[list[float]]
    red: bool

    def shape(self) -> Polygon:
        return Polygon([(x, y) for x, y in self.polygon])


@dataclass(frozen=True)
class KnowledgeBase:
    directory: Path
    faq: list[FaqEntryModel]
    community: CommunityEntry
    grids: list[GridEntry]
    micro_grids: dict[str, MicroGridEntry]  # by id, in file order
    micro_grid_parent: dict[str, str]
    landmarks: list[LandmarkEntry]
    service_points: list[ServicePointEntry]
    categories: list[CategoryEntry]
    people: list[PersonEntry]

    def grid_nodes(self) -> list[GridNode]:
        """Community, grids, micro-grids — parents before children, as they must be inserted."""
        nodes = [
            GridNode(
                self.community.id, None, "community", self.community.names, self.community.polygon, False
            )
        ]
        nodes += [GridNode(g.id, self.community.id, "grid", g.names, g.polygon, g.red) for g in self.grids]
        nodes += [
            GridNode(m.id, self.micro_grid_parent[m.id], "micro_grid", m.names, m.polygon, m.red)
            for m in self.micro_grids.values()
        ]
        return nodes


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.entry is not None:
            parts.append(f"entry '{self.entry}'")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        return ": ".join([*parts, self.message])


class KnowledgeError(ValueError):
    """The knowledge files were rejected; `problems` lists every one found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        if len(lines) == 1:
            message = lines[0]
        else:
            message = f"{len(lines)} problems in the knowledge files:\n" + "\n".join(lines)
        super().__init__(message)


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + part
    return path


def _error_message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return "unknown field"
    message = str(error["msg"])
    value = error.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        message += f" (got {value!r})"
    return message


M = TypeVar("M", bound=BaseModel)


@dataclass
class _Checker:
    directory: Path
    problems: list[Problem] = field(default_factory=list)

    def name(self, kind: str) -> str:
        return f"{self.directory.name}/{FILES[kind]}"

    def add(self, kind: str, entry: str | None, field_: str | None, message: str) -> None:
        self.problems.append(Problem(self.name(kind), entry, field_, message))

    def read(self, kind: str, keys: dict[str, type]) -> dict[str, Any] | None:
        """The top-level mapping of a file, with the expected keys of the expected types."""
        path = self.directory / FILES[kind]
        if not path.is_file():
            self.add(kind, None, None, "file not found")
            return None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            self.add(kind, None, None, f"not valid YAML: {exc}")
            return None
        if not isinstance(data, dict):
            self.add(kind, None, None, "expected a mapping at the top level")
            return None
        ok = True
        for key in sorted(set(data) - set(keys) - {"sample"}):
            self.add(kind, None, str(key), "unknown top-level key")
            ok = False
        for key, expected in keys.items():
            if not isinstance(data.get(key), expected):
                self.add(kind, None, key, f"expected a {expected.__name__} at the top level")
                ok = False
        return data if ok else None

    def entries(
        self, kind: str, raw_entries: list[Any], model: type[M], known: set[str] | None = None
    ) -> list[M]:
        """Each entry validated on its own, so that one bad entry names itself and the rest still get checked.
        Ids of entries that failed go into `known` too: a reference to them is not a second problem."""
        valid: list[M] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_entries):
            entry_id = raw.get("id") if isinstance(raw, dict) else None
            label = entry_id if isinstance(entry_id, str) else f"#{index + 1}"
            if isinstance(entry_id, str):
                if known is not None:
                    known.add(entry_id)
                if entry_id in seen:
                    self.add(kind, label, "id", f"duplicate id (also entry #{seen[entry_id] + 1})")
                    continue
                seen[entry_id] = index
            if not isinstance(raw, dict):
                self.add(kind, label, None, "expected a mapping")
                continue
            try:
                valid.append(model.model_validate(raw))
            except ValidationError as exc:
                for error in exc.errors():
                    self.add(kind, label, _field_path(error["loc"]) or None, _error_message(error))
        return valid


def _polygon_problems(ring: list[list[float]]) -> Iterator[str]:
    for lon, lat in ring:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            yield f"vertex [{lon}, {lat}] is not [lon, lat]"
            return
    if ring[0] != ring[-1]:
        yield "ring is not closed: the last vertex must repeat the first"
        return
    shape = Polygon([(x, y) for x, y in ring])
    if not shape.is_valid:
        from shapely.validation import explain_validity

        yield f"not a valid polygon: {explain_validity(shape)}"
    elif shape.area == 0:
        yield "polygon has no area"


def _check_tiling(
    checker: _Checker,
    parent_id: str,
    parent: Polygon,
    children: list[tuple[str, Polygon]],
    child_kind: str,
    parent_field: str,
) -> None:
    """Children must lie inside the parent, not overlap each other, and leave no gap."""
    tolerance = AREA_TOLERANCE * parent.area
    for child_id, shape in children:
        outside = shape.difference(parent).area
        if outside > tolerance:
            checker.add(
                "grids",
                child_id,
                "polygon",
                f"reaches outside {parent_id!r} ({outside / shape.area:.1%} of it)",
            )
    for i, (id_a, a) in enumerate(children):
        for id_b, b in children[i + 1 :]:
            overlap = a.intersection(b).area
            if overlap > tolerance:
                checker.add(
                    "grids",
                    id_b,
                    "polygon",
                    f"overlaps {child_kind} {id_a!r} ({overlap / min(a.area, b.area):.1%} of the smaller)",
                )
    if children:
        union = unary_union([shape for _, shape in children])
        gap = parent.difference(union)
        if gap.area > tolerance:
            where = gap.representative_point()
            checker.add(
                "grids",
                parent_id,
                parent_field,
                f"the {child_kind}s leave a gap of {gap.area / parent.area:.2%} of the area "
                f"(near lat {where.y:.5f}, lon {where.x:.5f})",
            )
        elif abs(union.area - parent.area) > tolerance:
            checker.add("grids", parent_id, parent_field, f"the {child_kind}s do not tile {parent_id!r}")


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Read and validate every knowledge file in `directory`; raise KnowledgeError listing all problems."""
    directory = Path(directory)
    c = _Checker(directory)

    # --- FAQ
    faq: list[FaqEntryModel] = []
    data = c.read("faq", {"faq": list})
    if data is not None:
        faq = c.entries("faq", data["faq"], FaqEntryModel)

    # --- Grids and landmarks
    community: CommunityEntry | None = None
    grids: list[GridEntry] = []
    micro: dict[str, MicroGridEntry] = {}
    micro_parent: dict[str, str] = {}
    landmarks: list[LandmarkEntry] = []
    grid_ids: set[str] = set()  # every id seen at grid level, valid or not
    micro_ids: set[str] = set()
    landmark_ids: set[str] = set()
    data = c.read("grids", {"community": dict, "grids": list, "landmarks": list})
    if data is not None:
        try:
            community = CommunityEntry.model_validate(data["community"])
        except ValidationError as exc:
            label = data["community"].get("id", "community")
            for error in exc.errors():
                c.add("grids", str(label), _field_path(error["loc"]), _error_message(error))
        grids = c.entries("grids", data["grids"], GridEntry, grid_ids)
        for grid in grids:
            for child in c.entries("grids", grid.micro_grids, MicroGridEntry, micro_ids):
                if child.id in micro:
                    c.add(
                        "grids",
                        child.id,
                        "id",
                        f"duplicate micro-grid id (also in {micro_parent[child.id]!r})",
                    )
                    continue
                micro[child.id] = child
                micro_parent[child.id] = grid.id
        # One table holds all levels, so an id may appear only once across them.
        upper = set(grid_ids) | ({community.id} if community else set())
        for grid in grids:
            if community is not None and grid.id == community.id:
                c.add("grids", grid.id, "id", "is also the community's id")
        for mid in sorted(micro_ids & upper):
            c.add("grids", mid, "id", "used at more than one level of the grid tree")
        landmarks = c.entries("grids", data["landmarks"], LandmarkEntry, landmark_ids)

    # Geometry: each polygon on its own, then the tree.
    shapes: dict[str, Polygon] = {}
    areas: list[tuple[str, list[list[float]]]] = []
    if community is not None:
        areas.append((community.id, community.polygon))
    areas += [(g.id, g.polygon) for g in grids] + [(m.id, m.polygon) for m in micro.values()]
    for area_id, ring in areas:
        messages = list(_polygon_problems(ring))
        for message in messages:
            c.add("grids", area_id, "polygon", message)
        if not messages:
            shapes[area_id] = Polygon([(x, y) for x, y in ring])
    if community is not None and community.id in shapes:
        _check_tiling(
            c,
            community.id,
            shapes[community.id],
            [(g.id, shapes[g.id]) for g in grids if g.id in shapes],
            "grid",
            "polygon",
        )
    for grid in grids:
        if grid.id in shapes:
            children = [
                (m, shapes[m]) for m, parent in micro_parent.items() if parent == grid.id and m in shapes
            ]
            _check_tiling(c, grid.id, shapes[grid.id], children, "micro-grid", "micro_grids")
    if grids and not any(g.red for g in grids):
        c.add("grids", None, "grids", "no grid has red: true (the scenic area's dedicated red grid)")
    for mid, child in micro.items():
        parent_grid = next(g for g in grids if g.id == micro_parent[mid])
        if child.red and not parent_grid.red:
            c.add("grids", mid, "red", f"a red micro-grid must lie in a red grid ({parent_grid.id!r} is not)")
    community_shape = shapes.get(community.id) if community else None

    def outside_community(location: Location) -> bool:
        return community_shape is not None and not community_shape.covers(Point(location.lon, location.lat))

    for landmark in landmarks:
        if landmark.micro_grid not in micro:
            if landmark.micro_grid not in micro_ids:
                c.add("grids", landmark.id, "micro_grid", f"unknown micro-grid {landmark.micro_grid!r}")
        elif outside_community(landmark.location):
            c.add("grids", landmark.id, "location", "lies outside the community polygon")
        elif landmark.micro_grid in shapes and not shapes[landmark.micro_grid].covers(
            Point(landmark.location.lon, landmark.location.lat)
        ):
            c.add("grids", landmark.id, "location", f"lies outside its micro-grid {landmark.micro_grid!r}")

    # --- Service points
    points: list[ServicePointEntry] = []
    data = c.read("service_points", {"service_points": list})
    if data is not None:
        points = c.entries("service_points", data["service_points"], ServicePointEntry)
    landmark_by_id = {lm.id: lm for lm in landmarks}
    for point in points:
        if outside_community(point.location):
            c.add("service_points", point.id, "location", "lies outside the community polygon")
        if point.landmark is not None:
            target = landmark_by_id.get(point.landmark)
            if target is None:
                if point.landmark not in landmark_ids:
                    c.add("service_points", point.id, "landmark", f"unknown landmark {point.landmark!r}")
            else:
                distance = haversine_m(
                    point.location.lat, point.location.lon, target.location.lat, target.location.lon
                )
                if distance > MAX_LANDMARK_DISTANCE_M:
                    c.add(
                        "service_points",
                        point.id,
                        "location",
                        f"{distance:.0f} m from its landmark {point.landmark!r} (more than "
                        f"{MAX_LANDMARK_DISTANCE_M:.0f} m: check the coordinates)",
                    )
        try:
            parse_hours(point.opening_hours)
        except HoursError as exc:
            c.add("service_points", point.id, "opening_hours" + exc.path, exc.message)

    # --- Categories
    categories: list[CategoryEntry] = []
    data = c.read("categories", {"categories": list})
    if data is not None:
        categories = c.entries("categories", data["categories"], CategoryEntry)
    for category in categories:
        if category.emergency != (category.urgency == "emergency"):
            c.add("categories", category.id, "emergency", "must be true exactly when urgency is 'emergency'")
        if category.urgency != "normal" and category.sla_clock != "around_the_clock":
            message = f"must be around_the_clock for {category.urgency!r}"
            c.add("categories", category.id, "sla_clock", message)
        if category.accept_sla_minutes > category.resolve_sla_minutes:
            c.add("categories", category.id, "accept_sla_minutes", "is longer than resolve_sla_minutes")

    # --- Roster
    people: list[PersonEntry] = []
    data = c.read("roster", {"people": list})
    if data is not None:
        people = c.entries("roster", data["people"], PersonEntry)
    grid_level = {g.id for g in grids} | (grid_ids - micro_ids)
    community_id = community.id if community else None
    telegram_seen: dict[int, str] = {}
    for person in people:
        if person.telegram_id is not None:
            if person.telegram_id in telegram_seen:
                c.add(
                    "roster",
                    person.id,
                    "telegram_id",
                    f"also used by {telegram_seen[person.telegram_id]!r}",
                )
            telegram_seen.setdefault(person.telegram_id, person.id)
        pairs: set[tuple[str, str]] = set()
        for index, role in enumerate(person.roles):
            where = f"roles[{index}].grid"
            if (role.role, role.grid) in pairs:
                c.add("roster", person.id, f"roles[{index}]", "listed twice")
            pairs.add((role.role, role.grid))
            if community is None:
                continue  # grids.yml is broken: its own problems say why; unknown-grid noise would not help
            if role.role == "volunteer" and role.grid not in micro_ids:
                hint = " (a volunteer serves a micro-grid)" if role.grid in grid_level else ""
                c.add("roster", person.id, where, f"unknown micro-grid {role.grid!r}{hint}")
            elif role.role == "grid_member" and role.grid not in grid_level:
                c.add("roster", person.id, where, f"unknown grid {role.grid!r} (a grid member serves a grid)")
            elif role.role in ("committee_member", "desk") and role.grid != community_id:
                c.add("roster", person.id, where, f"must be the community {community_id!r}")

    # Coverage: routing needs someone on duty everywhere, with every skill the categories ask for.
    if people and grids:
        on_duty_volunteers: dict[str, list[PersonEntry]] = {}
        for person in people:
            for role in person.roles:
                if role.role == "volunteer" and person.on_duty:
                    on_duty_volunteers.setdefault(role.grid, []).append(person)
        for mid in micro:
            if not on_duty_volunteers.get(mid):
                c.add("roster", None, None, f"micro-grid {mid!r} has no on-duty volunteer")
        for grid in grids:
            if not any(r.role == "grid_member" and r.grid == grid.id for p in people for r in p.roles):
                c.add("roster", None, None, f"grid {grid.id!r} has no grid member")
        committee = [p for p in people if any(r.role == "committee_member" for r in p.roles)]
        if len(committee) < 2:
            c.add("roster", None, None, f"at least 2 committee members needed, found {len(committee)}")
        desk = [p for p in people if any(r.role == "desk" for r in p.roles)]
        if not desk:
            c.add("roster", None, None, "no community desk person (role desk)")
        for category in categories:
            if category.skill in DESK_SKILLS:
                if not any(category.skill in p.skills for p in desk):
                    c.add(
                        "categories",
                        category.id,
                        "skill",
                        f"no desk person in roster.yml has {category.skill!r}",
                    )
                continue
            for grid in grids:
                mids = [m for m, parent in micro_parent.items() if parent == grid.id]
                if not any(category.skill in p.skills for m in mids for p in on_duty_volunteers.get(m, [])):
                    c.add(
                        "categories",
                        category.id,
                        "skill",
                        f"no on-duty volunteer in grid {grid.id!r} has skill {category.skill!r} (roster.yml)",
                    )

    # The working-hours calendar is checked with the rest: a bad one fails the load, not the first deadline.
    from community.knowledge.calendar import load_calendar  # it builds on this module

    try:
        load_calendar(directory)
    except KnowledgeError as exc:
        c.problems += exc.problems

    if c.problems or community is None:
        if community is None and not c.problems:
            c.add("grids", None, "community", "missing")
        raise KnowledgeError(c.problems)
    return KnowledgeBase(
        directory=directory,
        faq=faq,
        community=community,
        grids=grids,
        micro_grids=micro,
        micro_grid_parent=micro_parent,
        landmarks=landmarks,
        service_points=points,
        categories=categories,
        people=people,
    )
