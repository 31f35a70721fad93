"""The Rasa server, the action server and the web front end (`python -m web`) under supervisord (the
`supervisor` package), kept alive by it.

Used by `xijin run` and by the integration tests, so both run the servers the same way. How they heal:

- A server that exits (a crash, SIGKILL) is started again by supervisord at once; one that dies again before
  it has stayed up for `start_seconds` counts as a failed start and is retried with a growing back-off
  (1 s, 2 s, 3 s …), each attempt a line in the log.
- A server that is alive but does not answer (hung, stopped, deadlocked) is found by superlance's `httpok`
  event listener, which GETs the server's health URL every 5 s and has supervisord restart it when the URL
  fails. It looks only at servers in the RUNNING state, which supervisord gives a server after
  `start_seconds`: Rasa, which loads its model for 30-60 s, is never killed while it is still starting.

The supervisor's config is written at start beside the log; its control socket is a unix socket there (no
TCP port); Rasa and the action server bind 127.0.0.1, the web front end WEB_HOST (loopback by default).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from supervisor.xmlrpc import SupervisorTransport

from community.settings import PROJECT_ROOT, Settings

MODELS = PROJECT_ROOT / "nlu" / "models"
MODEL = MODELS / "xijin.tar.gz"
# Trained in about a minute by a first start (scripts/setup.sh --quick-start) while the full model is missing.
QUICK_MODEL = MODELS / "quick.tar.gz"


def model_to_serve() -> Path | None:
    """The full model when it is there. Otherwise the quick one, given as the folder: Rasa loads the newest
    archive of a folder, so a Rasa restarted after the full model landed beside it loads the full one."""
    if MODEL.exists():
        return MODEL
    if QUICK_MODEL.exists():
        return MODELS
    return None


# The project's own Python runs the supervisor, its health listeners and the action server.
PYTHON = sys.executable
RASA = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
# Seconds between health checks: supervisord's TICK_5 event drives httpok.
HEALTH_TICK = "TICK_5"
# A unix socket's path must fit in sun_path (108 bytes on Linux, with the terminating NUL).
MAX_SOCKET_PATH = 100


class ServicesFailed(RuntimeError):
    pass


@dataclass(frozen=True)
class Program:
    """One supervised server and how its health is judged."""

    name: str
    command: list[str]
    health_url: str
    # A server that has stayed up this long is RUNNING: only then is it health-checked, and only an exit
    # before then is a failed start (retried with back-off).
    start_seconds: int
    # A health check that gets no answer in this many seconds restarts the server.
    health_timeout: int
    # SIGTERM, then SIGKILL after this many seconds (a SIGSTOPped server never handles the SIGTERM).
    stop_seconds: int
    # Failed starts in a row before supervisord gives up (FATAL): 1 s + 2 s + … + 30 s of back-off, ~8 min.
    start_retries: int = 30


def _value(text: str) -> str:
    """A plain value in supervisord's config: '%' is its interpolation character."""
    return text.replace("%", "%%")


def _quote(argument: str) -> str:
    """One argument for supervisord's command line: shell-quoted, and '%' escaped for its config parser."""
    head, env, _ = argument.partition("%(ENV_")
    if env:  # "%(ENV_X)s" or "--option=%(ENV_X)s": expanded by supervisord from its environment
        return shlex.quote(head).replace("%", "%%") + argument[len(head) :] if head else argument
    return shlex.quote(argument).replace("%", "%%")


def _die_with_parent() -> None:
    """Runs in the supervisord child before exec: if `xijin run` or the test session is killed outright,
    supervisord gets SIGTERM and stops both servers instead of living on as an orphan."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Services:
    settings: Settings
    log_path: Path = PROJECT_ROOT / "var" / "log" / "services.log"
    rasa_port: int = 5005
    extra_env: dict[str, str] = field(default_factory=dict)
    token: str = ""
    _process: subprocess.Popen[bytes] | None = None
    # Seconds from start() until both servers answered: how long a restart takes on this machine.
    ready_seconds: float = 0.0
    _socket_dir: str | None = None

    # --- what runs ---------------------------------------------------------------------------------------

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.action_server_port}"

    @property
    def web_url(self) -> str:
        """Where the web front end answers on this machine (what `xijin run` prints)."""
        host = self.settings.web_host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.settings.web_port}"

    @property
    def folder(self) -> Path:
        return self.log_path.parent

    @property
    def config_path(self) -> Path:
        return self.folder / "supervisord.conf"

    @property
    def socket_path(self) -> Path:
        path = self.folder / "supervisor.sock"
        if len(str(path)) <= MAX_SOCKET_PATH:
            return path
        if self._socket_dir is None:
            self._socket_dir = tempfile.mkdtemp(prefix="xijin-")
        return Path(self._socket_dir) / "supervisor.sock"

    def programs(self) -> list[Program]:
        return [
            Program(
                name="rasa",
                command=[
                    str(RASA),
                    "run",
                    "--enable-api",
                    # One argument with "=": a random token may begin with "-", which argparse would take
                    # for an option of its own ("expected one argument").
                    "--auth-token=%(ENV_RASA_TOKEN)s",
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(self.rasa_port),
                    "--model",
                    str(model_to_serve() or MODEL),
                    "--endpoints",
                    "nlu/endpoints.yml",
                    "--credentials",
                    "nlu/credentials.yml",
                ],
                # `GET /` answers once the model is loaded, without the token (which stays out of the config).
                health_url=f"{self.rasa_url}/",
                # Loading the model takes 30-60 s on an idle machine and over two minutes on a busy one.
                start_seconds=300,
                health_timeout=10,
                stop_seconds=10,
            ),
            Program(
                name="actions",
                command=[PYTHON, "-m", "actions", "--port", str(self.settings.action_server_port)],
                health_url=f"{self.action_url}/health",
                start_seconds=30,
                health_timeout=5,
                stop_seconds=5,
            ),
            Program(
                name="web",
                # Host and port come from WEB_HOST and WEB_PORT in the environment (environment() below).
                command=[PYTHON, "-m", "web"],
                health_url=f"{self.web_url}/healthz",
                # Checked only once up this long: on a busy machine its imports take more than 10 s, and a
                # check before it listens would restart it over and over.
                start_seconds=30,
                health_timeout=5,
                stop_seconds=5,
            ),
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            RASA_TOKEN=self.token,
            RASA_PORT=str(self.rasa_port),
            RASA_MODEL=str(model_to_serve() or MODEL),
            ACTION_SERVER_PORT=str(self.settings.action_server_port),
            ACTION_SERVER_URL=f"{self.action_url}/webhook",
            DATABASE_URL=self.settings.database_url,
            WEB_HOST=self.settings.web_host,
            WEB_PORT=str(self.settings.web_port),
            WEB_PUBLIC_URL=self.settings.web_public_url,
            TRANSLATION_BACKEND=self.settings.translation_backend,
            PYTHONPATH=str(PROJECT_ROOT / "nlu"),
            RASA_TELEMETRY_ENABLED="false",
            # Rasa logs a Sentry error when it cannot reach the internet; there is none here.
            SENTRY_DSN="",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def config(self) -> str:
        """supervisord's configuration: the servers, one httpok health listener per server, a unix socket."""
        folder = self.folder
        lines = [
            "; Written by bot/services.py at every start; edits are lost.",
            "[unix_http_server]",
            f"file={_value(str(self.socket_path))}",
            "chmod=0700",
            "",
            "[supervisord]",
            f"logfile={_value(str(self.log_path))}",
            "logfile_maxbytes=10MB",
            "logfile_backups=3",
            f"pidfile={_value(str(folder / 'supervisord.pid'))}",
            f"childlogdir={_value(str(folder))}",
            "nodaemon=true",
            "silent=true",
            "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
            "",
            "[supervisorctl]",
            f"serverurl=unix://{_value(str(self.socket_path))}",
        ]
        for program in self.programs():
            lines += [
                "",
                f"[program:{program.name}]",
                "command=" + " ".join(_quote(a) for a in program.command),
                f"directory={_value(str(PROJECT_ROOT))}",
                f"startsecs={program.start_seconds}",
                f"startretries={program.start_retries}",
                "autorestart=true",
                f"stopwaitsecs={program.stop_seconds}",
                # Whatever a server forks goes with it.
                "stopasgroup=true",
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={_value(str(folder / f'{program.name}.log'))}",
                "stdout_logfile_maxbytes=10MB",
                "stdout_logfile_backups=3",
                "",
                f"[eventlistener:health_{program.name}]",
                "command="
                + " ".join(
                    _quote(a)
                    for a in [
                        PYTHON,
                        "-m",
                        "superlance.httpok",
                        "-p",
                        program.name,
                        "-t",
                        str(program.health_timeout),
                        # Only a RUNNING server is checked: one still starting (or backing off) is left alone.
                        "-E",
                        program.health_url,
                    ]
                ),
                f"events={HEALTH_TICK}",
                # Ticks wait here while httpok restarts a server (it waits for RUNNING): none is dropped.
                "buffer_size=64",
                "autorestart=true",
                f"stderr_logfile={_value(str(folder / 'health.log'))}",
                "stderr_logfile_maxbytes=10MB",
                "stderr_logfile_backups=3",
            ]
        return "\n".join(lines) + "\n"

    # --- starting and stopping ---------------------------------------------------------------------------

    def start(self, timeout_seconds: float = 360.0) -> None:
        if model_to_serve() is None:
            raise ServicesFailed(f"no trained model at {MODEL}: run the set-up (make run) first")
        if not RASA.exists():
            raise ServicesFailed(f"no Rasa at {RASA}: run the set-up (make run) first")
        self.token = self.token or self.settings.rasa_token.get_secret_value() or secrets.token_urlsafe(24)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)  # left by a supervisord that was killed outright
        self.config_path.write_text(self.config())
        self.config_path.chmod(0o600)
        with self.log_path.open("ab") as log:
            # A session of its own: Ctrl-C in the terminal chat reaches only us, and we stop supervisord (and
            # so both servers) in order instead of every process dying at once.
            self._process = subprocess.Popen(
                [PYTHON, "-m", "supervisor.supervisord", "-c", str(self.config_path)],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        started = time.monotonic()
        self.wait_healthy(timeout_seconds)
        self.ready_seconds = time.monotonic() - started

    def wait_healthy(self, timeout_seconds: float) -> None:
        """Until every server answers its health URL (Rasa with its model loaded), or ServicesFailed."""
        deadline = time.monotonic() + timeout_seconds
        checks = {
            "action server": (f"{self.action_url}/health", None),
            "web": (f"{self.web_url}/healthz", None),
            "Rasa": (f"{self.rasa_url}/status", {"token": self.token}),
        }
        pending = dict(checks)
        while pending:
            if self._process is not None and self._process.poll() is not None:
                raise ServicesFailed(
                    f"the supervisor stopped during start-up; see {self.folder}:\n{self.log_tail()}"
                )
            for name, (url, params) in list(pending.items()):
                try:
                    response = httpx.get(url, params=params, timeout=2.0)
                    if response.status_code == 200 and (name != "Rasa" or response.json().get("model_file")):
                        del pending[name]
                except (httpx.HTTPError, ValueError):
                    pass
            fatal = [p.name for p in self.programs() if self.state(p.name) == "FATAL"]
            if fatal or (pending and time.monotonic() > deadline):
                self.stop()
                why = f"{', '.join(fatal)} gave up starting" if fatal else f"{', '.join(pending)} not healthy"
                raise ServicesFailed(
                    f"{why} after {timeout_seconds:.0f}s; see {self.folder}:\n{self.log_tail()}"
                )
            if pending:
                time.sleep(0.5)

    def reload_model(self, timeout_seconds: float = 600.0) -> str:
        """Restarts Rasa so that it loads the model now to serve (the full one once it landed beside a quick
        one), and waits for it. A restart rather than Rasa's `PUT /model`: loading blocks Rasa's event loop
        either way, and a blocked Rasa is what the health check restarts. Returns the loaded model's file
        name; ServicesFailed (the others keep running) when it is not back in time."""
        rpc = self.rpc()
        with contextlib.suppress(xmlrpc.client.Fault):  # NOT_RUNNING: it is being restarted already
            rpc.supervisor.stopProcess("rasa")
        with contextlib.suppress(xmlrpc.client.Fault):  # ALREADY_STARTED: supervisord restarted it itself
            rpc.supervisor.startProcess("rasa", False)
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                response = httpx.get(f"{self.rasa_url}/status", params={"token": self.token}, timeout=2.0)
                if response.status_code == 200 and response.json().get("model_file"):
                    return str(response.json()["model_file"])
            time.sleep(0.5)
        raise ServicesFailed(f"Rasa did not come back with a model in {timeout_seconds:.0f}s ({self.folder})")

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """SIGTERM to supervisord, which stops both servers and the listeners; SIGKILL whatever is left."""
        process, self._process = self._process, None
        if process is None:
            return
        children = self._child_pids()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # supervisord runs each child in a process group of its own; one it could not stop is killed here.
        for pid in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        if self._socket_dir is not None:
            with contextlib.suppress(OSError):
                self.socket_path.unlink(missing_ok=True)
                os.rmdir(self._socket_dir)

    def __enter__(self) -> Services:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- looking at them ---------------------------------------------------------------------------------

    def rpc(self) -> Any:
        """supervisord's XML-RPC interface over the unix socket (what `supervisorctl` uses)."""
        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def status_command(self) -> str:
        """The command line that shows the servers' states (supervisorctl on this run's socket)."""
        return shlex.join([PYTHON, "-m", "supervisor.supervisorctl", "-c", str(self.config_path), "status"])

    def pid(self, name: str) -> int:
        """The current pid of a server ("rasa" or "actions"); 0 while it is not running."""
        return int(self.rpc().supervisor.getProcessInfo(name)["pid"])

    def state(self, name: str) -> str | None:
        """supervisord's state of a server: STARTING, RUNNING (up for its start_seconds: health-checked),
        BACKOFF, FATAL …; None while supervisord does not answer."""
        try:
            return str(self.rpc().supervisor.getProcessInfo(name)["statename"])
        except (OSError, xmlrpc.client.Error):
            return None  # supervisord not listening yet (or any more)

    def _child_pids(self) -> list[int]:
        try:
            return [int(info["pid"]) for info in self.rpc().supervisor.getAllProcessInfo() if info["pid"]]
        except (OSError, xmlrpc.client.Error):
            return []

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in [self.log_path] + [self.folder / f"{p.name}.log" for p in self.programs()]:
            try:
                tail = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)
