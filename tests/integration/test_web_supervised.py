"""The web front end as `xijin run` runs it: a program of the supervisor beside Rasa and the action server,
serving the stack's database, and started again when it is killed or hangs."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import httpx
import pytest

from tests.integration.conftest import Stack

pytestmark = [pytest.mark.rasa, pytest.mark.faults]
# Restart with back-off plus a health check every 5 s; generous on a busy 2-core machine.
BACK_WITHIN_SECONDS = 90


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + BACK_WITHIN_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {BACK_WITHIN_SECONDS}s", pytrace=False)
        time.sleep(0.5)


def test_the_supervised_web_serves_the_map_from_the_stacks_database(stack: Stack) -> None:
    web = stack.services.web_url
    page = httpx.get(f"{web}/", params={"lang": "en"}, timeout=10)
    assert page.status_code == 200 and "Public Toilet (Zhaoguan Pagoda)" in page.text
    data = httpx.get(f"{web}/map.geojson", timeout=10).json()
    assert sum(1 for f in data["features"] if f["properties"].get("level") == "micro_grid") == 12


@pytest.mark.parametrize("fault", [signal.SIGKILL, signal.SIGSTOP])
def test_a_killed_or_hung_web_server_is_started_again(stack: Stack, fault: signal.Signals) -> None:
    health = f"{stack.services.web_url}/healthz"
    wait_until(lambda: stack.services.state("web") == "RUNNING" and answers(health), "web running")
    before = stack.services.pid("web")
    os.kill(before, fault)
    try:
        wait_until(lambda: stack.services.pid("web") not in (0, before), "a new web process")
        wait_until(lambda: answers(health), "the web answering again")
    finally:
        if fault is signal.SIGSTOP:
            with contextlib.suppress(ProcessLookupError):
                os.kill(before, signal.SIGCONT)  # a failed test leaves no stopped server behind
