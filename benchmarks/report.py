"""Writing one section of docs/benchmarks.md, leaving the other benchmarks' sections as they are."""

from __future__ import annotations

import re
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(title: str, section: str, path: Path = REPORT) -> None:
    """Replace the section headed `## {title}` (or append it); `section` starts with that heading."""
    path.parent.mkdir(parents=True, exist_ok=True)
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", current).rstrip("\n") + "\n"
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    path.write_text(updated, encoding="utf-8")
