"""`python -m bot` is `xijin`."""

import sys

from bot.cli import main

sys.exit(main())
