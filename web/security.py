"""What every part of web/ uses to trust a browser: signed values, CSRF tokens, a rate limit for POSTs.

The interface for a router:

- `signer(request, purpose)` → a `Signer`: `sign(value)` gives `value.signature`, `unsign(token)` the value
  or None. Each purpose ("chat-identity", "office-login" …) has a key of its own, derived from one secret.
- `csrf_token(request, response)` → the token to put in a form (field `csrf_token`) or in a page's
  `<meta name="csrf-token">` for scripts (header `X-CSRF-Token`). It is bound to a random, httponly cookie
  (`xijin_csrf`) that the call sets when the browser has none.
- `Depends(require_csrf)` on every POST: 403 unless the request carries the token that belongs to its
  cookie, and, when the browser names the page it comes from (`Origin`), that page is ours.
- `Depends(rate_limit("scope", per_minute=N))` on every POST: 429 (with Retry-After) once a client (a peer
  address) has spent its budget for that scope.

The secret is the `XIJIN_CHANNEL_SECRET` setting (`xijin run` exports a random one when none is configured):
a key derived from it cannot be turned back into it, so the web front end holds no second secret. Without
any secret (a bare `python -m web` in development) a random key is made at start, and cookies signed before
a restart are no longer believed: a browser becomes a new person, never someone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, Response

from community.settings import Settings

logger = logging.getLogger(__name__)

CSRF_COOKIE = "xijin_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# The request header a script sends its CSRF token in; forms send the field.
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Signer:
    """HMAC-SHA256 over a value, for one purpose. The value must not contain '.' (ids and tokens do not)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def signature(self, value: str) -> str:
        return _b64(hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).digest())

    def sign(self, value: str) -> str:
        return f"{value}.{self.signature(value)}"

    def unsign(self, token: str | None) -> str | None:
        """The value when `token` was signed with this key; None for anything else (altered, foreign)."""
        if not token or token.count(".") != 1:
            return None
        value, signature = token.split(".")
        if not value or not hmac.compare_digest(self.signature(value), signature):
            return None
        return value


class WebSecurity:
    """The keys and the rate buckets of one web application (one per `create_app`)."""

    def __init__(self, secret: str) -> None:
        if not secret:
            logger.warning(
                "XIJIN_CHANNEL_SECRET is not set: web cookies are signed with a key of this process only"
            )
            secret = secrets.token_urlsafe(32)
        self._root = secret.encode("utf-8")
        self.limits: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> WebSecurity:
        return cls(settings.xijin_channel_secret.get_secret_value())

    def signer(self, purpose: str) -> Signer:
        key = hmac.new(self._root, b"xijin-web:" + purpose.encode("utf-8"), hashlib.sha256).digest()
        return Signer(key)

    def limiter(self, scope: str, per_minute: int, burst: int | None) -> RateLimiter:
        with self._lock:
            limiter = self.limits.get(scope)
            if limiter is None:
                limiter = self.limits[scope] = RateLimiter(per_minute, burst or per_minute)
            return limiter


def security_of(request: Request) -> WebSecurity:
    """The application's WebSecurity, made on first use from the application's settings."""
    state = request.app.state
    found: WebSecurity | None = getattr(state, "web_security", None)
    if found is None:
        found = state.web_security = WebSecurity.from_settings(state.settings)
    return found


def signer(request: Request, purpose: str) -> Signer:
    return security_of(request).signer(purpose)


def secure_cookies(request: Request) -> bool:
    """Cookies are `Secure` when the public address is https (behind the reverse proxy)."""
    return str(request.app.state.settings.web_public_url).startswith("https://")


# Headers for a page of ours: scripts, styles and pictures only from this site (no inline script, so an
# injected one would not run), never framed by another site.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
}


# --- CSRF ------------------------------------------------------------------------------------------------


def csrf_token(request: Request, response: Response) -> str:
    """The CSRF token of this browser, for a form or a page's meta tag; sets the browser's CSRF cookie when it
    has none (or a forged one)."""
    csrf = signer(request, "csrf")
    nonce = csrf.unsign(request.cookies.get(CSRF_COOKIE))
    if nonce is None:
        nonce = secrets.token_urlsafe(18).replace(".", "")
        response.set_cookie(
            CSRF_COOKIE,
            csrf.sign(nonce),
            httponly=True,
            samesite="strict",
            secure=secure_cookies(request),
            path="/",
        )
    return signer(request, "csrf-form").signature(nonce)


def _same_origin(request: Request, origin: str) -> bool:
    public = urlsplit(str(request.app.state.settings.web_public_url))
    seen = urlsplit(origin)
    own = {(public.scheme, public.netloc), (request.url.scheme, request.headers.get("host", ""))}
    return (seen.scheme, seen.netloc) in own


async def require_csrf(request: Request) -> None:
    """A dependency for every POST: 403 unless the request carries its cookie's token (field or header)."""
    if request.method not in _UNSAFE:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null" and not _same_origin(request, origin):
        raise HTTPException(status_code=403, detail="cross-site request refused")
    nonce = signer(request, "csrf").unsign(request.cookies.get(CSRF_COOKIE))
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # Starlette keeps the parsed form: the route reads the same one.
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = signer(request, "csrf-form").signature(nonce) if nonce else None
    if expected is None or sent is None or not hmac.compare_digest(expected, sent):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


# --- rate limit ------------------------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per client: `burst` requests at once, then `per_minute` a minute.

    In memory, per process: one web process serves the community (a second one would give each client twice
    the budget, which is still a limit). The least recently seen clients are forgotten past `max_clients`, so
    a flood of new addresses cannot grow it without bound.
    """

    def __init__(self, per_minute: int, burst: int, *, max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """0 when the request may go on (one token spent); else the seconds until the next token."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.pop(client, None) or _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            self._buckets[client] = bucket
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate


def client_key(request: Request) -> str:
    """Who is asking, for the rate limit: the peer address (uvicorn takes it from X-Forwarded-For only when
    the proxy in front is trusted). Not a cookie: a client can shed or mint cookies, not addresses."""
    return request.client.host if request.client else "unknown"


def rate_limit(
    scope: str, *, per_minute: int, burst: int | None = None
) -> Callable[[Request], Awaitable[None]]:
    """A dependency: 429 with Retry-After once the client has spent its budget for `scope`."""

    async def check(request: Request) -> None:
        limiter = security_of(request).limiter(scope, per_minute, burst)
        wait = limiter.take(client_key(request))
        if wait > 0:
            raise HTTPException(
                status_code=429,
                detail="too many requests",
                headers={"Retry-After": str(max(1, round(wait)))},
            )

    return check
