"""What a running process writes at the default level: events worth an operator's eye, not a
line per scheduler tick."""

from __future__ import annotations

import subprocess
import sys

SHOW = ("import logging\n"
        "from bot.platform.lifecycle import configure_logging\n"
        "configure_logging({level!r})\n"
        "print(logging.getLogger('apscheduler.executors.default').getEffectiveLevel(),\n"
        "      logging.getLogger('apscheduler.scheduler').getEffectiveLevel(),\n"
        "      logging.getLogger('bot.journey').getEffectiveLevel())\n")


def levels(level: str) -> list[int]:
    # A fresh interpreter: pytest's own handlers would make basicConfig a no-op here.
    out = subprocess.run([sys.executable, "-c", SHOW.format(level=level)], check=True,
                         capture_output=True, text=True).stdout
    return [int(n) for n in out.split()]


def test_scheduler_ticks_are_quiet_at_info_and_shown_at_debug() -> None:
    # Each job's start and end (every 30 s) are INFO lines: hidden; a failure is ERROR.
    assert levels("info") == [30, 20, 20]
    assert levels("debug") == [10, 10, 10]
