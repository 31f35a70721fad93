"""The bot's liveness signal: a file whose modification time a JobQueue job renews every few seconds.

docker compose's health check for the bot runs `python -m bot.telegram.heartbeat`, which fails when the file
is older than MAX_AGE_SECONDS. A bot whose event loop is blocked or dead stops renewing it, so the check fails
for the states a process-exists check (`os.kill(1, 0)`) calls healthy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from telegram.ext import Application, ContextTypes

from community.settings import PROJECT_ROOT

HEARTBEAT_FILE = PROJECT_ROOT / "var" / "heartbeat"
INTERVAL_SECONDS = 15
# Four missed beats: a busy moment delays one job, not four.
MAX_AGE_SECONDS = 4 * INTERVAL_SECONDS


async def beat(context: ContextTypes.DEFAULT_TYPE) -> None:
    path: Path = context.job.data  # type: ignore[union-attr,assignment]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def schedule(application: Application, path: Path | None = None) -> None:  # type: ignore[type-arg]
    """The heartbeat job on the bot's JobQueue, first beat at once."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            beat, interval=INTERVAL_SECONDS, first=0, data=path or HEARTBEAT_FILE, name="heartbeat"
        )


def age_seconds(path: Path, now: float | None = None) -> float | None:
    """Seconds since the last beat; None when the bot has never beaten."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return (time.time() if now is None else now) - modified


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.telegram.heartbeat", description="exit 0 when the bot's heartbeat is fresh"
    )
    parser.add_argument("--file", type=Path, default=HEARTBEAT_FILE)
    parser.add_argument("--max-age", type=float, default=MAX_AGE_SECONDS, help="seconds")
    args = parser.parse_args(argv)
    age = age_seconds(args.file)
    if age is None:
        print(f"no heartbeat at {args.file}", file=sys.stderr)
        return 1
    if age > args.max_age:
        print(f"heartbeat {age:.0f}s old (more than {args.max_age:.0f}s): the bot is stuck", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
