"""A first start that does not wait for the full model.

On a fresh clone `make run` trains a quick model (nlu/config.quick.yml, about a minute) and opens the chat
on it. `xijin run` then trains the full model in the background, at low priority, with the set-up's own
command (so its fingerprint and Rasa's cache are the ones `make test` uses), and asks the running Rasa server
to load it (`PUT /model` of Rasa's HTTP API). The person chatting is told both times.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from bot.services import MODEL, QUICK_MODEL
from community.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

TRAIN_FULL = ("nice", "-n", "10", str(PROJECT_ROOT / "scripts" / "setup.sh"), "--no-data")
# Loading an 80 MB model takes 30-60 s on a quiet machine; Rasa answers the PUT once it is loaded.
LOAD_TIMEOUT_SECONDS = 600.0


def full_model_missing() -> bool:
    return not MODEL.exists() and QUICK_MODEL.exists()


class FullModelTraining:
    """The background training of a quick start, and the swap when it ends."""

    def __init__(
        self,
        rasa_url: str,
        token: str,
        *,
        log_path: Path,
        say: Callable[[str], None] = print,
        command: Sequence[str] = TRAIN_FULL,
        model: Path = MODEL,
    ) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.token = token
        self.log_path = log_path
        self.say = say
        self.command = list(command)
        self.model = model
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
        """Rasa's `PUT /model` loads the archive and swaps it in; messages keep being answered meanwhile."""
        try:
            response = httpx.put(
                f"{self.rasa_url}/model",
                params={"token": self.token},
                json={"model_file": str(self.model)},
                timeout=LOAD_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            logger.warning("Rasa did not load the full model: %s", exc)
            self.say("[the full model is trained but Rasa could not load it; it is used from the next start]")
            return
        if response.status_code != 204:
            logger.warning("Rasa refused the full model: %s %s", response.status_code, response.text[:300])
            self.say("[the full model is trained but Rasa could not load it; it is used from the next start]")
            return
        self.loaded.set()
        self.say("[full model loaded: answers are now as good as they get]")
