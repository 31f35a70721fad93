"""The supervisord configuration that bot/services.py writes: what the servers' command lines become."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from bot.services import Services
from community.settings import Settings


def command_of(config: str, program: str, environment: dict[str, str]) -> list[str]:
    """The argument list supervisord runs: its %(ENV_X)s expansion, then shell-like splitting."""
    parser = configparser.RawConfigParser()
    parser.read_string(config)
    line = parser.get(f"program:{program}", "command")
    return shlex.split(line % {f"ENV_{key}": value for key, value in environment.items()})


def test_a_token_that_begins_with_a_dash_reaches_rasa_as_the_token(tmp_path: Path) -> None:
    # secrets.token_urlsafe() begins with "-" once in 64 starts; argparse took it for an option of its own
    # and Rasa refused to start ("expected one argument").
    services = Services(Settings(), log_path=tmp_path / "services.log", rasa_port=5999)
    arguments = command_of(services.config(), "rasa", {"RASA_TOKEN": "-Zx9_token"})
    assert "--auth-token=-Zx9_token" in arguments


def test_a_percent_sign_in_a_path_is_not_taken_for_supervisords_expansion(tmp_path: Path) -> None:
    folder = tmp_path / "100%"
    folder.mkdir()
    services = Services(Settings(), log_path=folder / "services.log", rasa_port=5999)
    parser = configparser.ConfigParser()  # %-interpolating: supervisord expands every value
    parser.read_string(services.config())
    assert parser.get("supervisord", "logfile") == str(folder / "services.log")
