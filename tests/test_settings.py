"""Every setting is read (tests/test_deployment.py checks that each is documented): a field of
community/settings.py that no production module uses by name is a promise the assistant does not keep
(TIMEZONE and OUTBOX_MAX_ATTEMPTS once did nothing)."""

from __future__ import annotations

import re

from community.settings import PROJECT_ROOT, Settings

PRODUCTION = ("bot", "community", "actions", "web")


def _production_source() -> str:
    # settings.py counts too: a property there (`zone` from `self.timezone`) is how some settings are read.
    files = [
        path
        for folder in PRODUCTION
        if (PROJECT_ROOT / folder).is_dir()
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts
    ]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def test_every_setting_is_read_by_production_code() -> None:
    source = _production_source()
    # Read means used by name as an attribute (settings.timezone) or a key ("timezone"): a bare word would
    # also match `DateTime(timezone=True)`.
    unread = {
        name for name in Settings.model_fields if not re.search(rf"\.{name}\b|[\"']{name}[\"']", source)
    }
    assert unread == set(), f"settings nothing reads: {sorted(unread)}"
