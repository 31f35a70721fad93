"""`python -m web`: the web front end on the configured interface and port (loopback unless told)."""

from __future__ import annotations

import uvicorn

from community.settings import get_settings
from web.app import create_app


def main() -> None:
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.web_host, port=settings.web_port, proxy_headers=True)


if __name__ == "__main__":
    main()
