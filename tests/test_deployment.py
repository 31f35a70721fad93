"""The production compose file and the documented settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.pipeline import Assistant
from bot.rasa_client import RasaClient
from bot.telegram import heartbeat
from bot.telegram.app import build_application
from community.database import Database
from community.settings import PROJECT_ROOT, Settings
from tests.integration.telegram_fake import FakeTelegram

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is not installed (scripts/test.sh installs Debian's package)", pytrace=False
        )
    env = dict(
        os.environ,
        POSTGRES_PASSWORD="test-password",
        RASA_TOKEN="test-token",
        XIJIN_CHANNEL_SECRET="test-secret",
    )
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
    for service in ("rasa", "actions", "bot", "postgres", "redis", "web", "proxy"):
        assert re.search(rf"^  {service}:$", text, re.MULTILINE), service
    assert "enable_selective_domain" not in text


def services() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


# What each service's health check must probe: something that stops answering when the service hangs.
PROBES = {
    "postgres": "SELECT 1",
    "redis": "PONG",
    "rasa": "http://localhost:5005/",
    "actions": "http://localhost:5055/health",
    "bot": "bot.telegram.heartbeat",
    "web": "http://localhost:8080/healthz",
    "proxy": "http://127.0.0.1:8080/healthz",
}
NO_OPS = ("exit 0", "true", "/bin/true", ":", "NONE")


@pytest.mark.parametrize("name", sorted(PROBES))
def test_every_service_has_a_health_check_that_can_fail(name: str) -> None:
    check = services()[name].get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no health check"
    command = check["test"]
    probe = " ".join(command[1:] if isinstance(command, list) else [command]).strip()
    # A process that exists is not a service that answers (the bot's check was once `os.kill(1, 0)`).
    assert probe not in NO_OPS and "os.kill(" not in probe, f"{name}'s health check cannot fail: {command}"
    assert PROBES[name] in probe, f"{name}'s health check does not probe {PROBES[name]}: {command}"
    assert check.get("retries", 3) >= 1 and check.get("timeout")


def test_every_service_is_restarted_when_it_exits() -> None:
    policies = {name: service.get("restart") for name, service in services().items()}
    assert set(policies) == set(PROBES)
    assert all(policy in ("always", "unless-stopped", "on-failure") for policy in policies.values()), policies


def test_no_container_installs_packages_at_start() -> None:
    for name, service in services().items():
        started = " ".join(word for key in ("command", "entrypoint") for word in _words(service.get(key)))
        for installer in ("pip install", "pip3 install", "apt-get", "npm install", "conda install"):
            assert installer not in started, f"{name} runs {installer} at start: {started}"


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def test_only_the_proxy_is_published_and_only_on_loopback() -> None:
    published = {name: service["ports"] for name, service in services().items() if service.get("ports")}
    assert published == {"proxy": ["127.0.0.1:8443:8080"]}


def test_the_proxy_sends_the_webhook_path_to_the_bot_and_the_rest_to_the_web() -> None:
    from bot.telegram.app import WEBHOOK_PATH

    proxy = services()["proxy"]
    [mount] = proxy["volumes"]
    source, target = mount.split(":")[:2]
    assert target == "/etc/nginx/conf.d/default.conf"
    config = (PROJECT_ROOT / source).read_text()
    locations = dict(
        re.findall(r"location\s+(=?\s*/\S*)\s*\{[^}]*?proxy_pass\s+([^;]+);", config, re.S)
    )
    assert locations == {f"= /{WEBHOOK_PATH}": "http://bot:8443", "/": "http://web:8080"}
    assert "listen 8080;" in config
    bot, web = services()["bot"]["environment"], services()["web"]["environment"]
    assert bot["TELEGRAM_WEBHOOK_LISTEN"] == "0.0.0.0" and web["WEB_HOST"] == "0.0.0.0"
    assert web["WEB_PORT"] == "8080"


def test_rasa_runs_an_image_built_with_what_nlu_needs() -> None:
    rasa = services()["rasa"]
    assert rasa["build"]["dockerfile"] == "Dockerfile.rasa"
    dockerfile = (PROJECT_ROOT / "Dockerfile.rasa").read_text()
    assert re.search(r"^FROM rasa/rasa:3\.6\.21-full$", dockerfile, re.M)
    for requirements in ("requirements-rasa.txt", "requirements-rasa-nodeps.txt"):
        assert (PROJECT_ROOT / "nlu" / requirements).exists()
        assert re.search(rf"pip install .*-r \S*{re.escape(requirements)}", dockerfile), requirements
    assert "--no-deps -r /tmp/requirements/requirements-rasa-nodeps.txt" in dockerfile


# --- the bot's liveness signal, as compose checks it ------------------------------------------------------


def run_bot_health_check(heartbeat_file: Path) -> int:
    """The bot's health check command from the compose file, pointed at a heartbeat file of the test's own."""
    command = services()["bot"]["healthcheck"]["test"][1:]
    assert command[:3] == ["python", "-m", "bot.telegram.heartbeat"]
    result = subprocess.run(
        [sys.executable, *command[1:], "--file", str(heartbeat_file)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode


def test_the_bot_health_check_fails_without_a_fresh_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    assert run_bot_health_check(beat) == 1  # the bot never beat
    beat.touch()
    assert run_bot_health_check(beat) == 0
    stale = time.time() - heartbeat.MAX_AGE_SECONDS - 5
    os.utime(beat, (stale, stale))
    assert run_bot_health_check(beat) == 1  # the bot stopped beating: stuck


async def test_the_bot_job_queue_renews_the_heartbeat_compose_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beat = tmp_path / "var" / "heartbeat"
    monkeypatch.setattr(heartbeat, "HEARTBEAT_FILE", beat)
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    settings = Settings(_env_file=None, telegram_bot_token="123456:TEST-TOKEN")  # type: ignore[call-arg]
    assistant = Assistant(database, RasaClient("http://127.0.0.1:9"))
    application = build_application(settings, assistant, request=FakeTelegram(), run_jobs=True)
    assert application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name("heartbeat")
    assert job.job.trigger.interval.total_seconds() == heartbeat.INTERVAL_SECONDS
    assert run_bot_health_check(beat) == 1
    await job.run(application)
    assert run_bot_health_check(beat) == 0
    await assistant.rasa.aclose()
    database.dispose()


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
