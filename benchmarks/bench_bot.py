"""End-to-end benchmark: the real bot against the Rasa server behind it, asked directly, in one run.

Not a test. Run it from the project root (`make bench` runs it):

    .venv/bin/python benchmarks/bench_bot.py [--users 1,20,50] [--turns 60,600,900] [--no-write]

It starts, as `xijin run` does, the Rasa server and the action server under the supervisor, on a database of
its own (SQLite under a temporary folder, migrated, the knowledge base loaded), a fake Telegram Bot API on
127.0.0.1 (tests/fakes/bot_api_server.py) and the real bot as a process of its own (`xijin bot`, long polling
that fake, with the project's default settings: concurrent updates, the rate limiter, the outbox relay and the
sweeper running). Then, for each number of concurrent users:

1. **direct**: that many clients send the same messages straight to Rasa's channel, signed as the bot signs
   them (bot/rasa_client.py), each waiting for Rasa's answer before its next message;
2. **bot**: that many Telegram users send them to the bot through the fake Bot API, each waiting for the bot's
   whole answer (as many messages as the same text got in a calibration turn) before the next.

Last, it kills the action server and then the Rasa server (SIGKILL, as a crash would) and measures how long
until the bot gives a real answer again (not its degraded menu), with a probe message every second.

It reports, per phase, the median and p95 time from sending a message to having its whole answer, the
throughput (answered messages per second over the phase), the messages lost (no whole answer within 30 s),
and the ratios bot / direct; then the resident memory (VmRSS, and its peak VmHWM) of the bot and the action
server. The figures are written to docs/benchmarks.md, section "Bot end to end".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_section  # noqa: E402
from bot.rasa_client import RasaClient  # noqa: E402
from bot.services import Services  # noqa: E402
from community.database import Database  # noqa: E402
from community.i18n import t  # noqa: E402
from community.identity import SECRET_ENV  # noqa: E402
from community.knowledge.loader import load  # noqa: E402
from community.migrate import upgrade  # noqa: E402
from community.settings import Settings  # noqa: E402
from tests.fakes.bot_api_server import FakeBotApi, SentCall  # noqa: E402

# What tourists and residents write most: greetings and questions in the five curated languages. Each is
# answered the same way whatever came before it, so one calibration turn tells how many messages the bot
# sends for it.
MESSAGES: list[tuple[str, str]] = [
    ("zh-Hans", "你好"),
    ("en", "hello"),
    ("ja", "こんにちは"),
    ("ko", "안녕하세요"),
    ("zh-Hans", "开放时间是几点？"),
    ("en", "What time does the street open?"),
    ("zh-Hant", "門票多少錢？"),
    ("ja", "入場料はいくらですか"),
    ("ko", "입장료가 얼마예요?"),
    ("en", "thank you"),
    ("zh-Hans", "有什么好吃的"),
    ("en", "is there a bus to the street?"),
]
ANSWER_TIMEOUT_SECONDS = 30.0
RECOVERY_LIMIT_SECONDS = 600.0
USER_BASE = 900_000_000
PATHS = {
    "direct": "Rasa asked directly",
    "bot": "bot (Telegram → reply)",
}  # Telegram user ids of the benchmark's users, far from any real one


@dataclass
class Phase:
    name: str
    users: int
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    seconds: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.latencies)

    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    def p95_ms(self) -> float:
        if len(self.latencies) < 2:
            return self.median_ms()
        return statistics.quantiles(self.latencies, n=20, method="inclusive")[18] * 1000

    def throughput(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def plan(users: int, turns: int) -> list[list[tuple[str, str]]]:
    """Each user's messages: `turns` in all, spread evenly, each user starting elsewhere in the list."""
    per_user = max(1, turns // users)
    return [[MESSAGES[(u + i) % len(MESSAGES)] for i in range(per_user)] for u in range(users)]


async def run_users(
    phase: Phase,
    scripts: list[list[tuple[str, str]]],
    turn: Callable[[int, str, str], Awaitable[float | None]],
) -> Phase:
    async def one_user(u: int) -> None:
        for language, text in scripts[u]:
            latency = await turn(u, language, text)
            if latency is None:
                phase.lost += 1
            else:
                phase.latencies.append(latency)

    started = time.perf_counter()
    await asyncio.gather(*(one_user(u) for u in range(len(scripts))))
    phase.seconds = time.perf_counter() - started
    return phase


# --- direct: Rasa asked as the bot asks it ------------------------------------------------------------------


async def direct_phase(rasa_url: str, token: str, secret: str, users: int, turns: int, run: int) -> Phase:
    client = RasaClient(rasa_url, token=token, timeout_seconds=ANSWER_TIMEOUT_SECONDS, secret=secret)

    async def turn(u: int, language: str, text: str) -> float | None:
        sender = f"telegram:{USER_BASE + run * 1000 + u}"
        user = {"key": sender, "telegram_id": None, "chat_id": None, "name": "Bench"}
        metadata = {"language": language, "channel": "telegram", "user": user, "location": None, "photos": []}
        started = time.perf_counter()
        try:
            answers = await client.send(sender, text, metadata)
        except Exception:
            return None
        return time.perf_counter() - started if answers else None

    try:
        return await run_users(Phase("direct", users), plan(users, turns), turn)
    finally:
        await client.aclose()


# --- bot: the real bot process behind the fake Bot API ---------------------------------------------------


class Deliveries:
    """When each message to each chat reached the fake Bot API, kept per chat as the calls arrive.

    The fake's server threads call `record`; the clients wait on an asyncio event per chat, so waiting costs
    nothing while the bot works (polling the fake's whole call list would compete with the bot for the CPU).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._times: dict[int, list[float]] = {}
        self._texts: dict[int, list[str]] = {}
        self._events: dict[int, asyncio.Event] = {}

    def record(self, call: SentCall) -> None:
        if call.method.startswith("send") and call.chat_id is not None:
            self._texts.setdefault(call.chat_id, []).append(call.text)
            self._times.setdefault(call.chat_id, []).append(call.at)
            self._loop.call_soon_threadsafe(self._event(call.chat_id).set)

    def _event(self, chat_id: int) -> asyncio.Event:
        return self._events.setdefault(chat_id, asyncio.Event())

    def text(self, chat_id: int, index: int) -> str:
        return self._texts[chat_id][index]

    def count(self, chat_id: int) -> int:
        return len(self._times.get(chat_id, ()))

    async def wait(self, chat_id: int, count: int) -> float | None:
        """The time the `count`-th message to the chat arrived, or None after the timeout."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_SECONDS
        event = self._event(chat_id)
        while self.count(chat_id) < count:
            event.clear()
            if self.count(chat_id) >= count:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return None
        return self._times[chat_id][count - 1]


async def calibrate(api: FakeBotApi, deliveries: Deliveries) -> dict[str, int]:
    """How many messages the bot sends for each text, from one user who sends each once."""
    chat_id = USER_BASE - 1
    counts: dict[str, int] = {}
    for language, text in MESSAGES:
        before = deliveries.count(chat_id)
        api.message(chat_id, text, language_code=language.split("-")[0])
        if await deliveries.wait(chat_id, before + 1) is None:
            raise SystemExit(f"the bot did not answer {text!r} during calibration")
        await asyncio.sleep(1.0)  # let the rest of the turn arrive
        counts[text] = deliveries.count(chat_id) - before
    return counts


async def bot_phase(
    api: FakeBotApi, deliveries: Deliveries, counts: dict[str, int], users: int, turns: int, run: int
) -> Phase:
    expected: dict[int, int] = {}

    async def turn(u: int, language: str, text: str) -> float | None:
        chat_id = USER_BASE + run * 1000 + u
        expected[chat_id] = expected.get(chat_id, 0) + counts[text]
        sent_at = time.time()
        api.message(chat_id, text, language_code=language.split("-")[0])
        done_at = await deliveries.wait(chat_id, expected[chat_id])
        if done_at is None:
            expected[chat_id] = deliveries.count(chat_id)  # the next turn waits for its own answer only
            return None
        return done_at - sent_at

    return await run_users(Phase("bot", users), plan(users, turns), turn)


def start_bot(
    settings: Settings, api: FakeBotApi, token: str, secret: str, log: Path
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=settings.database_url,
        RASA_URL=settings.rasa_url,
        RASA_TOKEN=token,
        TELEGRAM_BOT_TOKEN="123456:BENCH",
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_API_FILE_URL=api.base_url.replace("/bot", "/file/bot"),
        TRANSLATION_BACKEND="null",
        PYTHONUNBUFFERED="1",
    )
    env[SECRET_ENV] = secret
    return subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "xijin"), "bot"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


# --- recovery after a crash -------------------------------------------------------------------------------


async def recovery_seconds(api: FakeBotApi, deliveries: Deliveries, services: Services, server: str) -> float:
    """Seconds from a SIGKILL of `server` until the bot answers a greeting for real, not with its menu."""
    degraded = t("bot.degraded", "zh-Hans")
    chat_id = USER_BASE - 2 - len(server)
    os.kill(services.pid(server), signal.SIGKILL)
    killed = time.monotonic()
    while time.monotonic() - killed < RECOVERY_LIMIT_SECONDS:
        before = deliveries.count(chat_id)
        api.message(chat_id, "你好", language_code="zh")
        if await deliveries.wait(chat_id, before + 1) is not None:
            answer = deliveries.text(chat_id, before)
            if answer and answer != degraded:
                return time.monotonic() - killed
        await asyncio.sleep(1.0)
    return float("inf")


# --- the report --------------------------------------------------------------------------------------------


def report(
    pairs: list[tuple[Phase, Phase]],
    memory: dict[str, tuple[int, int]],
    recovery: dict[str, float],
    load: tuple[float, float],
) -> str:
    lines = [
        "## Bot end to end",
        "",
        f"`benchmarks/bench_bot.py`, run {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}; load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end. Everything on one machine: Rasa, the "
        "action server, the bot, the fake Bot API and the clients share its cores, so the bot's own work "
        "competes with Rasa's. SQLite database. Each user waits for the whole answer before the next "
        "message; a message is lost when no whole answer came within 30 s.",
        "",
        "| users | path | messages | median | p95 | throughput | lost |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    ratios = []
    for direct, bot in pairs:
        for phase in (direct, bot):
            lines.append(
                f"| {phase.users} | {PATHS[phase.name]} "
                f"| {phase.answered + phase.lost} | {phase.median_ms():.0f} ms | {phase.p95_ms():.0f} ms "
                f"| {phase.throughput():.1f} /s | {phase.lost} |"
            )
        ratios.append(
            f"| {direct.users} | {bot.median_ms() / direct.median_ms():.2f} "
            f"| {bot.p95_ms() / direct.p95_ms():.2f} | {bot.throughput() / direct.throughput():.2f} |"
        )
    lines += [
        "",
        "Ratios, bot / Rasa asked directly:",
        "",
        "| users | median | p95 | throughput |",
        "|---:|---:|---:|---:|",
    ]
    lines += ratios
    lines += ["", "Memory after the run:", "", "| process | RSS | peak RSS |", "|---|---:|---:|"]
    for name, (rss, hwm) in memory.items():
        lines.append(f"| {name} | {rss / 1024:.0f} MB | {hwm / 1024:.0f} MB |")
    lines += [
        "",
        "Recovery: a SIGKILL of each server while the bot runs; seconds until the bot answers a greeting for "
        "real again (a probe every second; meanwhile it answers with its degraded menu). The supervisor "
        "restarts the server; the bot's circuit breaker lets a trial call through every 15 s.",
        "",
        "| server killed | real answers again after |",
        "|---|---:|",
    ]
    for name, seconds in recovery.items():
        lines.append(f"| {name} | {seconds:.0f} s |")
    return "\n".join(lines) + "\n"


async def measure(args: argparse.Namespace, folder: Path) -> str:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    database = Database(url)
    load(database, ROOT / "knowledge")
    database.dispose()
    secret = os.environ.get(SECRET_ENV) or os.urandom(24).hex()
    os.environ[SECRET_ENV] = secret  # the supervised servers inherit it
    rasa_port = free_port()
    settings = Settings(
        database_url=url,
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        action_server_port=free_port(),
        web_port=free_port(),
        translation_backend="null",
    )
    services = Services(settings, log_path=folder / "services.log", rasa_port=rasa_port)
    print("starting Rasa and the action server …", flush=True)
    services.start()
    load_before = os.getloadavg()[0]
    bot: subprocess.Popen[bytes] | None = None
    try:
        deliveries = Deliveries(asyncio.get_running_loop())
        with FakeBotApi(before_answer=deliveries.record) as api:
            bot = start_bot(settings, api, services.token, secret, folder / "bot.log")
            counts = await calibrate(api, deliveries)
            print(f"calibrated: {counts}", flush=True)
            pairs = []
            for run, (users, turns) in enumerate(zip(args.users, args.turns, strict=True), start=1):
                direct = await direct_phase(services.rasa_url, services.token, secret, users, turns, 2 * run)
                through_bot = await bot_phase(api, deliveries, counts, users, turns, 2 * run + 1)
                print(
                    f"{users} users: direct p95 {direct.p95_ms():.0f} ms {direct.throughput():.1f}/s, "
                    f"bot p95 {through_bot.p95_ms():.0f} ms {through_bot.throughput():.1f}/s "
                    f"lost {through_bot.lost}",
                    flush=True,
                )
                pairs.append((direct, through_bot))
            memory = {"bot": rss_kib(bot.pid), "action server": rss_kib(services.pid("actions"))}
            recovery = {
                "action server": await recovery_seconds(api, deliveries, services, "actions"),
                "Rasa server": await recovery_seconds(api, deliveries, services, "rasa"),
            }
            print(f"recovery: {recovery}", flush=True)
    finally:
        if bot is not None:
            bot.terminate()
            try:
                bot.wait(timeout=20)
            except subprocess.TimeoutExpired:
                bot.kill()
        services.stop()
    return report(pairs, memory, recovery, (load_before, os.getloadavg()[0]))


def numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=numbers, default=[1, 20, 50])
    # Phases of 20–30 s: a shorter one moves by ±0.05 in throughput on two shared cores.
    parser.add_argument("--turns", type=numbers, default=[60, 600, 900], help="messages per phase")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if len(args.users) != len(args.turns):
        parser.error("--users and --turns need as many numbers")
    with tempfile.TemporaryDirectory(prefix="xijin-bench-") as folder:
        section = asyncio.run(measure(args, Path(folder)))
    print(section)
    if not args.no_write:
        write_section("Bot end to end", section)


if __name__ == "__main__":
    main()
