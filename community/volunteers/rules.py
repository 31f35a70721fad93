"""The points rules and index weights of `knowledge/points.yml`, validated before use.

A reviewer's mistake is rejected whole with the file, the entry and the field named (the same
KnowledgeError and Problem as the other knowledge files), never used half-read.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from community.knowledge.schema import KnowledgeError, Problem
from community.settings import get_settings

FILE = "points.yml"

NonNegative = Field(ge=0, le=1000)


class _Strict(BaseModel):
    # strict: "2" or "yes" in the YAML must fail instead of being coerced quietly.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PointRules(_Strict):
    accepted_in_time: int = NonNegative
    resolved: int = NonNegative
    good_rating: int = NonNegative
    good_rating_min: int = Field(ge=1, le=5)
    duty_hour: int = NonNegative
    max_session_hours: int = Field(ge=1, le=24)
    # Each person of a confirmed claim on a completed community project (issue #17, community/projects/).
    project_done: int = Field(default=0, ge=0, le=1000)


class BonusRules(_Strict):
    max_points: int = Field(ge=1, le=1000)
    min_reason_length: int = Field(ge=1, le=200)


class _Weights(_Strict):
    @model_validator(mode="after")
    def _some_weight(self) -> _Weights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("the weights must not all be zero")
        return self


Weight = Field(ge=0, le=1)


class VanguardWeights(_Weights):
    response: float = Weight
    resolution: float = Weight
    satisfaction: float = Weight
    points: float = Weight
    duty: float = Weight


class FortressWeights(_Weights):
    response: float = Weight
    resolution: float = Weight
    satisfaction: float = Weight
    vanguard: float = Weight
    coverage: float = Weight


class IndexRules(_Strict):
    points_target_per_30_days: int = Field(ge=1, le=100_000)
    duty_hours_target_per_30_days: int = Field(ge=1, le=720)
    vanguard: VanguardWeights
    fortress: FortressWeights


class Rules(_Strict):
    points: PointRules
    bonus: BonusRules
    index: IndexRules


def _field(loc: tuple[int | str, ...]) -> tuple[str | None, str | None]:
    """(entry, field) of a pydantic location: the top-level section is the entry."""
    parts = [str(p) for p in loc]
    if not parts:
        return None, None
    return parts[0], ".".join(parts[1:]) or None


def load_rules(directory: Path) -> Rules:
    """The rules of `directory/points.yml`; KnowledgeError naming file, entry and field otherwise."""
    path = directory / FILE
    name = f"{directory.name}/{FILE}"
    if not path.is_file():
        raise KnowledgeError([Problem(name, None, None, "file not found")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeError([Problem(name, None, None, f"not valid YAML: {exc}")]) from exc
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            entry, field = _field(error["loc"])
            message = "required but missing" if error["type"] == "missing" else str(error["msg"])
            if error["type"] == "extra_forbidden":
                message = "unknown field"
            problems.append(Problem(name, entry, field, message))
        raise KnowledgeError(problems) from exc


@lru_cache(maxsize=4)
def _cached(directory: str, mtime: float) -> Rules:
    return load_rules(Path(directory))


def rules() -> Rules:
    """The rules of the configured knowledge folder, read again when the file changes."""
    directory = get_settings().knowledge_dir
    path = directory / FILE
    return _cached(str(directory), path.stat().st_mtime if path.is_file() else 0.0)
