"""The polite refusal of a project step."""

from __future__ import annotations

from typing import Any

from community.i18n import t


class ProjectError(Exception):
    """Refused politely: `key` is the catalogue text (community/i18n/projects.yml)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def localized(self, language: str) -> str:
        return t(self.key, language, **self.params)
