"""The action server in one process: rasa-sdk's `run` without Sanic's process manager.

rasa-sdk 3.21 serves through `Sanic.serve`, a manager process that spawns a worker which does the serving.
Under a supervisor that is wrong twice over: the supervised pid is the manager, so a hung worker looks alive
to it, and a manager killed outright leaves its worker holding the port, so the restarted server cannot bind
and the old one answers on. One process serving is what supervisord (bot/services.py) and the compose health
check can watch, signal and restart — and it holds the actions' memory once instead of twice.
"""

from __future__ import annotations

import os

from rasa_sdk.endpoint import DEFAULT_ENDPOINTS_PATH, create_app_for_serve, create_ssl_config
from rasa_sdk.executor import ActionExecutor


def serve_in_one_process(
    action_executor: ActionExecutor,
    port: int = 5055,
    cors_origins: str | list[str] | None = "*",
    ssl_certificate: str | None = None,
    ssl_keyfile: str | None = None,
    ssl_password: str | None = None,
    auto_reload: bool = False,
    endpoints: str = DEFAULT_ENDPOINTS_PATH,
) -> None:
    """Same arguments as rasa_sdk.endpoint.run, which rasa_sdk's command line calls."""
    app = create_app_for_serve(action_executor, cors_origins=cors_origins, endpoints=endpoints)
    app.run(
        host=os.environ.get("SANIC_HOST", "127.0.0.1"),
        port=port,
        ssl=create_ssl_config(ssl_certificate, ssl_keyfile, ssl_password),
        single_process=True,
        access_log=False,
    )
