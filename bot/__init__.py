"""Assembly only: configuration, the command line, the Application, serving. Nothing imports it."""

import os

# Opt in to python-telegram-bot's coming behaviour (durations as timedelta) now,
# instead of a deprecation warning on every 429; scheduler.sender reads both.
os.environ.setdefault("PTB_TIMEDELTA", "1")
