"""The one circuit breaker (community/breaker.py) on a fake clock, and the Rasa client behind it: a failure
rate over a time window opens it, one slow answer does not, and a half-open trial closes it by itself."""

from __future__ import annotations

import httpx
import pytest

from bot.rasa_client import RasaClient, RasaUnavailable
from community.breaker import CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_when_half_of_at_least_five_calls_failed() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(clock=clock)
    for failed in (False, True, False, True):
        assert breaker.allow()
        breaker.record_failure() if failed else breaker.record_success()
    assert breaker.state == "closed"  # four calls: too few to judge
    assert breaker.allow()
    breaker.record_failure()  # 3 of 5 failed
    assert breaker.state == "open"
    assert not breaker.allow()


def test_a_few_failures_among_many_successes_keep_it_closed() -> None:
    breaker = CircuitBreaker(clock=FakeClock())
    for index in range(20):
        breaker.record_failure() if index % 3 == 0 else breaker.record_success()
    assert breaker.state == "closed"  # 7 of 20 failed: below half


def test_failures_older_than_the_window_no_longer_count() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(window_seconds=30, clock=clock)
    for _ in range(4):
        breaker.record_failure()
    clock.now += 31
    for _ in range(4):
        breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"  # the window holds 4 successes and 1 failure


def test_half_open_lets_one_trial_through_and_its_outcome_decides() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(open_seconds=15, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 14.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state == "half-open"
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # everyone else fails fast while it runs
    breaker.record_failure()
    assert breaker.state == "open"  # the trial failed: another open period
    clock.now += 15
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "closed"  # a closed breaker starts with a clean window


def test_a_cancelled_trial_frees_the_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(open_seconds=15, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 15
    assert breaker.allow()
    breaker.record_cancelled()
    assert breaker.allow()


@pytest.mark.parametrize("bad", [0.0, 1.5])
def test_a_rate_outside_zero_to_one_is_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_rate=bad)


# --- the Rasa client ------------------------------------------------------------------------------------


class FakeRasa:
    """Rasa's REST channel: answers, or times out (a hung Rasa) while `hung` is set."""

    def __init__(self) -> None:
        self.hung = False
        self.requests = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.hung:
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "hello"}])


async def test_one_rasa_timeout_does_not_put_everyone_in_degraded_mode() -> None:
    rasa = FakeRasa()
    client = RasaClient(
        "http://rasa", breaker=CircuitBreaker(clock=FakeClock()), transport=httpx.MockTransport(rasa.handler)
    )
    try:
        for user in range(4):
            await client.send(f"user{user}", "hi", {})
        rasa.hung = True
        with pytest.raises(RasaUnavailable):
            await client.send("slow", "hi", {})
        rasa.hung = False
        assert not client.is_open
        assert await client.send("next", "hi", {}) == [{"recipient_id": "x", "text": "hello"}]
    finally:
        await client.aclose()


async def test_the_client_leaves_degraded_mode_by_itself_when_rasa_answers_again() -> None:
    rasa = FakeRasa()
    clock = FakeClock()
    breaker = CircuitBreaker(open_seconds=15, clock=clock)
    client = RasaClient("http://rasa", breaker=breaker, transport=httpx.MockTransport(rasa.handler))
    try:
        rasa.hung = True
        for _ in range(5):
            with pytest.raises(RasaUnavailable):
                await client.send("u", "hi", {})
        assert client.is_open
        asked = rasa.requests
        rasa.hung = False  # Rasa is back, but the circuit does not know yet
        with pytest.raises(RasaUnavailable, match="circuit open"):
            await client.send("u", "hi", {})
        assert rasa.requests == asked  # failing fast: Rasa is not asked
        clock.now += 15
        assert await client.send("u", "hi", {}) == [{"recipient_id": "x", "text": "hello"}]  # the probe
        assert breaker.state == "closed" and not client.is_open
    finally:
        await client.aclose()
