"""Helpers shared by the knowledge-base and service-map tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from community.database import Database
from community.models import Base

KNOWLEDGE_DIR = Path(__file__).resolve().parents[2] / "knowledge"


def copy_knowledge(tmp_path: Path) -> Path:
    """A private copy named `knowledge/`, so messages read "knowledge/<file>" as they do for the real one."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    return target


def read_yaml(directory: Path, name: str) -> Any:
    return yaml.safe_load((directory / name).read_text(encoding="utf-8"))


def edit_yaml(directory: Path, name: str, change: Callable[[Any], None]) -> None:
    """Load a file, let `change` mutate it, write it back (comments are lost; only the content matters)."""
    data = read_yaml(directory, name)
    change(data)
    (directory / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def entry(entries: list[dict[str, Any]], entry_id: str) -> dict[str, Any]:
    return next(e for e in entries if e.get("id") == entry_id)


def micro_grid(grids_data: dict[str, Any], micro_id: str) -> dict[str, Any]:
    return next(m for g in grids_data["grids"] for m in g["micro_grids"] if m["id"] == micro_id)


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: equal snapshots mean nothing was written."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with database.session() as session:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            rows = session.execute(select(table).order_by(*order)).all()
            result[table.name] = [tuple(row) for row in rows]
    return result
