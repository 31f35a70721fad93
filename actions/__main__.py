"""`python -m actions`: the action server (rasa-sdk) for this project's actions."""

from __future__ import annotations

import warnings

# rasa-sdk 3.21 warns on every call that Rasa 3.6 is "not compatible" because the minor versions differ.
# The action protocol is the same plain HTTP+JSON in both (checked end to end by tests/integration), and
# rasa-sdk 3.6 does not install on Python 3.11, so the pairing is deliberate: silence exactly that warning.
warnings.filterwarnings("ignore", message=r"Your versions of rasa and rasa_sdk might not be compatible")


def main() -> None:
    import sys

    from rasa_sdk.__main__ import main as rasa_sdk_main

    # rasa-sdk loads no actions unless told which package holds them.
    if "--actions" not in sys.argv and "--actions-module" not in sys.argv:
        sys.argv[1:1] = ["--actions", "actions"]
    rasa_sdk_main()


if __name__ == "__main__":
    main()
