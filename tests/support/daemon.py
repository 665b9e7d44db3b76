"""The daemon in tests: a slot on a trading day, the default schedule, and the daemon as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from etl.clock import CalendarCorrections, Window, parse_clock
from etl.schedule import Schedule
from etl.settings import DEFAULT_END_OF_DAY, DEFAULT_WINDOWS

HANG_GUARD = 90.0  # seconds before a test gives up waiting: a guard against hanging, not a speed requirement

SLOT = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Seoul"))  # a Tuesday, a trading day


def build_schedule(
    *,
    all_hours: bool = False,
    interval: timedelta = timedelta(minutes=5),
    corrections: CalendarCorrections | None = None,
) -> Schedule:
    return Schedule.build(
        interval,
        "Asia/Seoul",
        {x: Window.parse(w, x) for x, w in DEFAULT_WINDOWS.items()},
        {x: parse_clock(t, x) for x, t in DEFAULT_END_OF_DAY.items()},
        all_hours=all_hours,
        corrections=corrections,
    )


class DaemonProcess:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
        self.log = log
        self._out = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "etl", *args], env=base | env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=HANG_GUARD)
        finally:
            self._out.close()

    def output(self) -> str:
        return self.log.read_text()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)
