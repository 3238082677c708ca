"""python3 harness/chat_probe COMMAND ...: the probe's entry point (usage in chat_cli.py)."""

import sys

from chat_cli import main

sys.exit(main())
