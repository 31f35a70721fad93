"""The `xijin` command: the domain commands of community/cli.py plus `run`, which starts the assistant."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from community.cli import add_domain_commands
from community.settings import PROJECT_ROOT, get_settings


def build_assistant():  # type: ignore[no-untyped-def]
    from bot.pipeline import Assistant
    from bot.rasa_client import RasaClient
    from community.database import get_database

    settings = get_settings()
    rasa = RasaClient(
        settings.rasa_url,
        token=settings.rasa_token.get_secret_value(),
        secret=settings.xijin_channel_secret.get_secret_value(),
        timeout_seconds=settings.rasa_timeout_seconds,
    )
    return Assistant(get_database(), rasa, map_path=map_picture())


def map_picture():  # type: ignore[no-untyped-def]
    """The red service map as a PNG, rendered once per knowledge load (offline, no tiles)."""
    from community.database import get_database
    from community.servicemap.export import render_map_png

    path = PROJECT_ROOT / "var" / "map" / "red-service-map.png"
    if not path.exists():
        with get_database().session() as session:
            render_map_png(session, path)
    return path


def cmd_run(args: argparse.Namespace) -> int:
    """Rasa and the action server kept up by supervisord, then the bot in the foreground; Ctrl-C stops all."""
    from bot.services import Services, ServicesFailed

    export_channel_secret()
    settings = get_settings()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = Services(settings, rasa_port=int(settings.rasa_url.rsplit(":", 1)[1].split("/")[0]))
    print(f"starting Rasa, the action server and the web front end (logs: {services.folder}) …", flush=True)
    try:
        services.start()
    except ServicesFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        services.stop()
        return 130
    print(f"kept up by supervisord; status: {services.status_command()}", flush=True)
    print(f"the web pages (service map, chat, office): {services.web_url}/", flush=True)
    training = start_full_training(services)
    try:
        return run_bot(args)
    except KeyboardInterrupt:
        return 130
    finally:
        # Stop first: printing can fail (a closed pipe after Ctrl-C) and must not keep the servers running.
        if training is not None:
            training.stop()
        services.stop()
        with contextlib.suppress(OSError):
            print("\nstopped Rasa, the action server and the web front end", flush=True)


def start_full_training(services):  # type: ignore[no-untyped-def]
    """After a quick first start (scripts/setup.sh --quick-start), the full model trains behind the chat."""
    from bot.quickstart import FullModelTraining, full_model_missing

    if not full_model_missing():
        return None
    training = FullModelTraining(services, log_path=PROJECT_ROOT / "var" / "train-full-background.log")
    training.start()
    print(
        "[quick model: the full one is being trained in the background (about 4 minutes); "
        "Rasa switches to it by itself (answers pause for a minute then) and you will be told]",
        flush=True,
    )
    return training


def export_channel_secret() -> None:
    """The bot, Rasa's channel and the action server must share one secret: the configured one, else a random
    one for this run. The servers inherit it from this process's environment (Rasa reads no .env file)."""
    import os
    import secrets

    from community.identity import SECRET_ENV

    configured = get_settings().xijin_channel_secret.get_secret_value()
    os.environ[SECRET_ENV] = configured or secrets.token_urlsafe(32)
    get_settings.cache_clear()


def run_bot(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not settings.xijin_channel_secret.get_secret_value():
        # Rasa refuses every unsigned message: without the secret the bot could only ever answer degraded.
        print("XIJIN_CHANNEL_SECRET is not set: the bot signs every message to Rasa with it", file=sys.stderr)
        return 1
    assistant = build_assistant()
    if not settings.telegram_bot_token.get_secret_value():
        from bot.terminal import run_terminal

        asyncio.run(run_terminal(assistant, name=args.name))
        return 0
    from bot.telegram.app import build_application, run_polling, run_webhook

    logging.getLogger().setLevel(logging.INFO)
    application = build_application(settings, assistant)
    if settings.telegram_webhook_url:
        run_webhook(application, settings)
    else:
        run_polling(application)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xijin", description="Xijin Community Assistant")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="start Rasa, the action server and the bot (terminal chat without a token)"
    )
    run.add_argument("--name", default="local", help="your name in the terminal chat")
    run.set_defaults(func=cmd_run)
    bot_only = sub.add_parser("bot", help="only the bot (Rasa and the action server already running)")
    bot_only.add_argument("--name", default="local")
    bot_only.set_defaults(func=run_bot)
    add_domain_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
