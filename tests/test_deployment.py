"""The production compose file and the documented settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from community.settings import PROJECT_ROOT, Settings

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not installed (scripts/test.sh installs Debian's package)", pytrace=False
        )
    env = dict(os.environ, POSTGRES_PASSWORD="test-password", RASA_TOKEN="test-token")
    return subprocess.run(
        [exe, "-f", str(path), "config", "-q"],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_compose_file_is_valid() -> None:
    result = compose_config(COMPOSE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("good", "bad"), [("healthcheck:", "healthchek:"), ("depends_on:", "depend_on:"), ("command:", "comand:")]
)
def test_a_misspelt_compose_file_is_rejected(tmp_path: Path, good: str, bad: str) -> None:
    text = COMPOSE.read_text()
    assert good in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(good, bad, 1))
    (tmp_path / "nlu").mkdir()
    assert compose_config(broken).returncode != 0


def test_compose_runs_the_services_the_design_names() -> None:
    text = COMPOSE.read_text()
    for service in ("rasa", "actions", "bot", "postgres", "redis"):
        assert re.search(rf"^  {service}:$", text, re.MULTILINE), service
    assert "image: rasa/rasa:3.6.21-full" in text
    assert "enable_selective_domain" not in text


def test_every_setting_is_documented_in_env_example() -> None:
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M)
    )
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - documented == set()


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:from-env")
    monkeypatch.setenv("DATABASE_URL", "")  # an empty value falls back to the default
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram_bot_token.get_secret_value() == "123:from-env"
    assert "from-env" not in repr(settings)
    assert settings.database_url.startswith("sqlite:///")
