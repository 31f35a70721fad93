"""The web front end as a supervised program of `xijin run` (bot/services.py): supervisord starts it with the
settings' host and port, checks /healthz, and the URL printed is where it answers."""

from __future__ import annotations

import configparser
import socket
import subprocess
import time
from pathlib import Path

import httpx

from bot.services import PYTHON, Services
from community.settings import PROJECT_ROOT, Settings
from tests.test_services_config import command_of


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_supervisord_runs_the_web_front_end_and_checks_its_health(tmp_path: Path) -> None:
    port = _free_port()
    services = Services(Settings(web_port=port), log_path=tmp_path / "services.log", rasa_port=5999)
    config = services.config()
    assert command_of(config, "web", {}) == [PYTHON, "-m", "web"]
    parser = configparser.RawConfigParser()
    parser.read_string(config)
    health = parser.get("eventlistener:health_web", "command")
    assert f"http://127.0.0.1:{port}/healthz" in health and "-p web" in health
    assert services.environment()["WEB_PORT"] == str(port)
    assert services.web_url == f"http://127.0.0.1:{port}"


def test_the_web_program_answers_its_health_url_with_the_environment_supervisord_gives_it(
    tmp_path: Path,
) -> None:
    port = _free_port()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'web.db'}",
        web_port=port,
    )
    services = Services(settings, log_path=tmp_path / "services.log", rasa_port=5999)
    environment = services.environment()
    process = subprocess.Popen(
        command_of(services.config(), "web", environment),
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"{services.web_url}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the web front end did not answer in 60 s"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=20)
