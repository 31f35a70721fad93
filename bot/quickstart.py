"""A first start that does not wait for the full model.

On a fresh clone `make run` trains a quick model (nlu/config.quick.yml, about two minutes) and opens the
chat on it. `xijin run` then trains the full model in the background, at low priority, with the set-up's own
command (so its fingerprint and Rasa's cache are the ones `make test` uses; the quick model has a cache of
its own), and has Rasa load it (a restart by supervisord: Rasa loads the newest model of its folder). The
person chatting is told both times; meanwhile the bot answers with its degraded menu, as during any Rasa
restart.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import xmlrpc.client
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.services import MODEL, QUICK_MODEL, Services, ServicesFailed
from community.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

TRAIN_FULL = ("nice", "-n", "10", str(PROJECT_ROOT / "scripts" / "setup.sh"), "--no-data")
# Loading an 80 MB model takes 30-60 s on a quiet machine, minutes on a busy one.
LOAD_TIMEOUT_SECONDS = 600.0


def full_model_missing() -> bool:
    return not MODEL.exists() and QUICK_MODEL.exists()


class FullModelTraining:
    """The background training of a quick start, and the swap when it ends."""

    def __init__(
        self,
        services: Services,
        *,
        log_path: Path,
        say: Callable[[str], None] = print,
        command: Sequence[str] = TRAIN_FULL,
    ) -> None:
        self.services = services
        self.log_path = log_path
        self.say = say
        self.command = list(command)
        self.process: subprocess.Popen[bytes] | None = None
        self.loaded = threading.Event()
        self.finished = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # A session of its own, so that stop() ends the training and every process it started.
            self.process = subprocess.Popen(
                self.command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._thread = threading.Thread(target=self._wait_and_swap, name="full-model-training", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)

    def _wait_and_swap(self) -> None:
        try:
            assert self.process is not None
            code = self.process.wait()
            if code != 0:
                if code > 0:  # a negative code is our own stop()
                    self.say(f"[the full model could not be trained ({self.log_path}); the quick one stays]")
                return
            self.load_full_model()
        finally:
            self.finished.set()

    def load_full_model(self) -> None:
        """Rasa is restarted onto the newest model of its folder: the full one (Services.reload_model)."""
        try:
            loaded = self.services.reload_model(LOAD_TIMEOUT_SECONDS)
        except (ServicesFailed, OSError, xmlrpc.client.Error) as exc:
            logger.warning("Rasa did not load the full model: %s", exc)
            self.say("[the full model is trained but Rasa could not load it; it is used from the next start]")
            return
        self.loaded.set()
        self.say(f"[full model loaded ({loaded}): answers are now as good as they get]")
