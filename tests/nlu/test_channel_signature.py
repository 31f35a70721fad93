"""The `xijin` channel's check (nlu/channels/signature.py, run inside Rasa) accepts exactly what the bot signs
(community/identity.py): the two sides live in two environments and must agree on one format."""

from __future__ import annotations

import sys
import time

from community.identity import SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_request
from community.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "nlu"))

from channels.signature import MAX_AGE_SECONDS, is_signed

SECRET = "the-bots-secret"


def test_a_request_the_bot_signed_is_accepted() -> None:
    body, headers = signed_request(SECRET, "telegram:1", "你好", {"language": "zh-Hans"})
    assert is_signed(SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])


def test_another_secret_a_changed_body_or_no_signature_is_refused() -> None:
    body, headers = signed_request(SECRET, "telegram:1", "你好", {})
    stamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert not is_signed("a guess", body, stamp, signature)
    assert not is_signed(SECRET, body.replace(b"telegram:1", b"telegram:2"), stamp, signature)
    assert not is_signed(SECRET, body, None, None)
    assert not is_signed(SECRET, body, "not a time", signature)
    assert not is_signed("", body, stamp, signature)  # a channel without a secret takes nothing


def test_a_request_replayed_after_the_window_is_refused() -> None:
    signed_at = float(int(time.time()) - 1000)  # whole seconds, as the header carries it
    body, headers = signed_request(SECRET, "telegram:1", "hello", {}, now=signed_at)
    stamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert is_signed(SECRET, body, stamp, signature, now=signed_at + MAX_AGE_SECONDS)
    assert not is_signed(SECRET, body, stamp, signature, now=signed_at + MAX_AGE_SECONDS + 2)
