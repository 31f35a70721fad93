"""Canned replies: curated progress and resolution notes per category, in the five curated languages.

The common case of the conversation on a ticket ("灯已修好", "we are on our way") needs no machine
translation: a volunteer picks a note with one tap and the reporter reads the reviewed text in their own
language. The notes are reviewed data in `knowledge/canned_replies.yml`, validated as a whole on load: a bad
file is rejected with the file, the entry and the field named (community/knowledge/schema.py's Problem).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator
from sqlalchemy import ForeignKey, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from community.database import Base, UTCDateTime, utcnow
from community.knowledge.schema import KnowledgeError, Problem, Texts, _error_message, _field_path

FILE = "canned_replies.yml"
CATEGORIES_FILE = "categories.yml"
ANY_CATEGORY = "any"  # a note that fits every category ("we are on our way")
Kind = Literal["progress", "resolution"]
# Short: the id rides in a button's callback data (64 bytes with the ticket id and version).
CannedId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=24)]
CategoryId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: CannedId
    category: CategoryId
    kind: Kind
    texts: Texts

    @field_validator("id")
    @classmethod
    def _not_a_staff_id(cls, value: str) -> str:
        if value.startswith("staff_"):
            raise ValueError("ids starting with staff_ belong to notes staff add in the bot")
        return value


@dataclass(frozen=True)
class CannedReply:
    id: str
    category: str
    kind: str
    texts: Mapping[str, str]  # curated language → text

    def text(self, language: str) -> str | None:
        return self.texts.get(language)


def _texts(texts: Texts) -> dict[str, str]:
    return dict(texts.model_dump(by_alias=True))


def _category_ids(directory: Path) -> set[str] | None:
    path = directory / CATEGORIES_FILE
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(c.get("id")) for c in data.get("categories") or [] if isinstance(c, dict)}


def parse(directory: Path) -> tuple[CannedReply, ...]:
    """Every canned reply of `directory/canned_replies.yml`, or KnowledgeError listing every problem."""
    path = directory / FILE
    name = f"{directory.name}/{FILE}"
    problems: list[Problem] = []
    if not path.is_file():
        raise KnowledgeError([Problem(name, None, None, "file not found")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise KnowledgeError([Problem(name, None, None, f"not valid YAML: {exc}")]) from None
    raw = data.get("replies") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise KnowledgeError([Problem(name, None, "replies", "expected a list at the top level")])
    known = _category_ids(directory)
    replies: list[CannedReply] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        label = entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), str) else None
        label = label or f"#{index + 1}"
        if not isinstance(entry, dict):
            problems.append(Problem(name, label, None, "expected a mapping"))
            continue
        try:
            valid = _Entry.model_validate(entry)
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(
                    Problem(name, label, _field_path(error["loc"]) or None, _error_message(error))
                )
            continue
        if valid.id in seen:
            problems.append(Problem(name, label, "id", "duplicate id"))
            continue
        seen.add(valid.id)
        if known is not None and valid.category != ANY_CATEGORY and valid.category not in known:
            problems.append(Problem(name, label, "category", f"unknown category {valid.category!r}"))
            continue
        replies.append(CannedReply(valid.id, valid.category, valid.kind, _texts(valid.texts)))
    if problems:
        raise KnowledgeError(problems)
    return tuple(replies)


@lru_cache(maxsize=4)
def _load(directory: Path) -> tuple[CannedReply, ...]:
    return parse(directory)


def all_replies() -> tuple[CannedReply, ...]:
    from community.settings import get_settings

    return _load(get_settings().knowledge_dir)


def for_category(category_code: str | None, kind: str) -> list[CannedReply]:
    """The notes of this kind for the category, its own first, then those for any category."""
    replies = [r for r in all_replies() if r.kind == kind]
    own = [r for r in replies if category_code and r.category == category_code]
    return own + [r for r in replies if r.category == ANY_CATEGORY]


def find(reply_id: str) -> CannedReply | None:
    return next((r for r in all_replies() if r.id == reply_id), None)


# --- notes staff add ------------------------------------------------------------------------------------
#
# Staff add notes of their own from the bot. They are not reviewed: they are stored in the writer's language
# and reach each reporter through the cached machine translation (translated once per language), like a
# typed message, until the community reviews them into the file above. Their ids ("staff_<n>") cannot clash
# with the file's: `staff_` is refused there.

STAFF_PREFIX = "staff_"


class AddedReply(Base):
    __tablename__ = "canned_replies_added"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str | None] = mapped_column(String(40), index=True)  # None: any category
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10))
    added_by: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def reply_id(self) -> str:
        return f"{STAFF_PREFIX}{self.id}"


MAX_ADDED_TEXT = 200  # a note is one line on a button's worth of screen, not an essay
MAX_ADDED_PER_CATEGORY = 8  # the newest are offered; a list of buttons is no place to search


def add(
    session: Session, person_id: int, category_code: str | None, kind: str, text: str, language: str
) -> AddedReply:
    text = " ".join(text.split())[:MAX_ADDED_TEXT]
    if kind not in ("progress", "resolution") or not text:
        raise ValueError("a note needs a kind (progress or resolution) and text")
    reply = AddedReply(
        category_code=category_code, kind=kind, text=text, language=language, added_by=person_id
    )
    session.add(reply)
    session.flush()
    return reply


def added_for(session: Session, category_code: str | None, kind: str) -> list[AddedReply]:
    """The newest notes staff added for this category (and for any), newest first."""
    return list(
        session.scalars(
            select(AddedReply)
            .where(
                AddedReply.kind == kind,
                or_(AddedReply.category_code == category_code, AddedReply.category_code.is_(None)),
            )
            .order_by(AddedReply.id.desc())
            .limit(MAX_ADDED_PER_CATEGORY)
        )
    )


def find_added(session: Session, reply_id: str) -> AddedReply | None:
    number = reply_id.removeprefix(STAFF_PREFIX)
    if not reply_id.startswith(STAFF_PREFIX) or not number.isdigit():
        return None
    return session.get(AddedReply, int(number))
