"""web/security.py's parts on their own: the signer refuses what it did not sign, the rate limit's bucket
refills at its rate and forgets the least recent clients first (times passed in, never waited for)."""

from __future__ import annotations

from web.security import RateLimiter, WebSecurity


def test_a_value_signed_for_one_purpose_or_secret_is_refused_by_another() -> None:
    security = WebSecurity("one secret")
    chat = security.signer("chat-identity")
    token = chat.sign("abc123")
    assert chat.unsign(token) == "abc123"
    assert security.signer("office-login").unsign(token) is None
    assert WebSecurity("another secret").signer("chat-identity").unsign(token) is None
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for altered in (flipped, "abc124." + token.split(".")[1], "", "."):
        assert chat.unsign(altered) is None
    assert chat.unsign(token + ".more") is None


def test_the_bucket_allows_a_burst_then_one_request_per_interval() -> None:
    limiter = RateLimiter(per_minute=6, burst=2)
    assert [limiter.take("a", now=100.0) for _ in range(2)] == [0.0, 0.0]
    wait = limiter.take("a", now=100.0)
    assert wait == 10.0  # 6 a minute: one every 10 s
    assert limiter.take("b", now=100.0) == 0.0  # another client has its own bucket
    assert limiter.take("a", now=105.0) > 0  # half a token is not a request
    assert limiter.take("a", now=110.0) == 0.0


def test_the_least_recently_seen_clients_are_forgotten_first() -> None:
    limiter = RateLimiter(per_minute=1, burst=1, max_clients=2)
    limiter.take("a", now=0.0)
    limiter.take("b", now=0.0)
    limiter.take("c", now=0.0)  # "a" is forgotten: it gets a fresh bucket
    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("c", now=0.0) > 0
