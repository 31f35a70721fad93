"""Starting and stopping the Rasa server and the action server under honcho (a Procfile runner).

Used by `xijin run` and by the integration tests, so both run the servers the same way.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from community.settings import PROJECT_ROOT, Settings

MODEL = PROJECT_ROOT / "nlu" / "models" / "xijin.tar.gz"
HONCHO = Path(os.environ.get("VIRTUAL_ENV", PROJECT_ROOT / ".venv")) / "bin" / "honcho"


class ServicesFailed(RuntimeError):
    pass


@dataclass
class Services:
    settings: Settings
    log_path: Path = PROJECT_ROOT / "var" / "log" / "services.log"
    rasa_port: int = 5005
    extra_env: dict[str, str] = field(default_factory=dict)
    token: str = ""
    _process: subprocess.Popen[bytes] | None = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.action_server_port}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            RASA_TOKEN=self.token,
            RASA_PORT=str(self.rasa_port),
            RASA_MODEL=str(MODEL),
            ACTION_SERVER_PORT=str(self.settings.action_server_port),
            ACTION_SERVER_URL=f"{self.action_url}/webhook",
            DATABASE_URL=self.settings.database_url,
            TRANSLATION_BACKEND=self.settings.translation_backend,
            PYTHONPATH=str(PROJECT_ROOT / "nlu"),
            RASA_TELEMETRY_ENABLED="false",
            # Rasa logs a Sentry error when it cannot reach the internet; there is none here.
            SENTRY_DSN="",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout_seconds: float = 240.0) -> None:
        if not MODEL.exists():
            raise ServicesFailed(f"no trained model at {MODEL}: run the set-up (make run) first")
        self.token = self.token or self.settings.rasa_token.get_secret_value() or secrets.token_urlsafe(24)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # A session of its own: Ctrl-C in the terminal chat reaches us, and we stop honcho (and so both
        # servers) in order, instead of every process dying at once.
        self._process = subprocess.Popen(
            [
                str(HONCHO),
                "start",
                "--no-colour",
                "-f",
                str(PROJECT_ROOT / "Procfile"),
                "-d",
                str(PROJECT_ROOT),
            ],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_healthy(timeout_seconds)

    def wait_healthy(self, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        checks = {
            "action server": (f"{self.action_url}/health", None),
            "Rasa": (f"{self.rasa_url}/status", {"token": self.token}),
        }
        pending = dict(checks)
        while pending:
            if self._process is not None and self._process.poll() is not None:
                raise ServicesFailed(
                    f"the servers stopped during start-up; see {self.log_path}:\n{self.log_tail()}"
                )
            for name, (url, params) in list(pending.items()):
                try:
                    response = httpx.get(url, params=params, timeout=2.0)
                    if response.status_code == 200 and (name != "Rasa" or response.json().get("model_file")):
                        del pending[name]
                except (httpx.HTTPError, ValueError):
                    pass
            if pending and time.monotonic() > deadline:
                self.stop()
                raise ServicesFailed(
                    f"{', '.join(pending)} not healthy after {timeout_seconds:.0f}s; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            if pending:
                time.sleep(0.5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """SIGTERM to honcho's process group; honcho stops both servers; SIGKILL whatever is left."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        pgid = os.getpgid(process.pid)
        os.killpg(pgid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(pgid, signal.SIGKILL)  # stragglers of the group, if any
        except ProcessLookupError:
            pass

    def __enter__(self) -> Services:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
