"""`python -m actions`: the action server (rasa-sdk) for this project's actions."""

from __future__ import annotations

import warnings

# rasa-sdk 3.21 warns on every call that Rasa 3.6 is "not compatible" because the minor versions differ.
# The action protocol is the same plain HTTP+JSON in both (checked end to end by tests/integration), and
# rasa-sdk 3.6 does not install on Python 3.11, so the pairing is deliberate: silence exactly that warning.
warnings.filterwarnings("ignore", message=r"Your versions of rasa and rasa_sdk might not be compatible")


# Only Rasa calls the action server, and Rasa runs beside it: loopback unless told otherwise (compose gives
# 0.0.0.0 inside the container, reachable on the compose network only, never published).
DEFAULT_INTERFACE = "127.0.0.1"


def take_interface(argv: list[str]) -> tuple[str, list[str]]:
    """`--interface ADDRESS` (as `rasa run` spells it) out of the arguments: rasa-sdk 3.21 has no such option
    and binds to $SANIC_HOST, 0.0.0.0 by default."""
    rest: list[str] = []
    interface, i = DEFAULT_INTERFACE, 0
    while i < len(argv):
        if argv[i] == "--interface" and i + 1 < len(argv):
            interface, i = argv[i + 1], i + 2
        elif argv[i].startswith("--interface="):
            interface, i = argv[i].partition("=")[2], i + 1
        else:
            rest.append(argv[i])
            i += 1
    return interface, rest


def main() -> None:
    import os
    import sys

    from rasa_sdk.__main__ import main as rasa_sdk_main

    interface, sys.argv[1:] = take_interface(sys.argv[1:])
    os.environ["SANIC_HOST"] = interface
    # rasa-sdk loads no actions unless told which package holds them.
    if "--actions" not in sys.argv and "--actions-module" not in sys.argv:
        sys.argv[1:1] = ["--actions", "actions"]
    # One process serves (actions/serving.py says why): rasa-sdk's command line, its server swapped.
    import rasa_sdk.__main__

    from actions.serving import serve_in_one_process

    rasa_sdk.__main__.run = serve_in_one_process
    rasa_sdk_main()


if __name__ == "__main__":
    main()
