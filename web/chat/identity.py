"""A person per browser: a random id in a signed, httponly cookie.

The id is made here and only here; nothing in a request body names the person. A cookie that does not carry
our signature (altered, forged, from another deployment) is not believed: that browser becomes a new person,
never the one it tried to be.
"""

from __future__ import annotations

import secrets

from fastapi import Request, Response

from bot.pipeline import ChatUser
from web.security import secure_cookies, signer

COOKIE = "xijin_chat"
PURPOSE = "chat-identity"
# A year: a resident follows a report for weeks; the cookie is the only key to their chat.
MAX_AGE_SECONDS = 365 * 24 * 3600
CHANNEL = "web"


def _new_id() -> str:
    return secrets.token_urlsafe(18).replace(".", "")


def browser_id(request: Request) -> str | None:
    """The id this browser was given, when its cookie carries our signature."""
    return signer(request, PURPOSE).unsign(request.cookies.get(COOKIE))


def web_user(request: Request, response: Response) -> ChatUser:
    """The browser's person for the pipeline; a browser without a valid cookie gets a new id (and cookie)."""
    found = browser_id(request)
    if found is None:
        found = _new_id()
        response.set_cookie(
            COOKIE,
            signer(request, PURPOSE).sign(found),
            max_age=MAX_AGE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )
    return chat_user(found)


def chat_user(browser: str) -> ChatUser:
    # The browser's language comes with each page (Accept-Language) and the message itself; no hint here.
    return ChatUser(channel=CHANNEL, user_id=browser, chat_id=browser)
