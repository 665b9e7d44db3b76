"""What every job of the write side is given: the settings, the engine, a fetcher (its own, or one shared by every
job of a process: one pacer, one token cache), the clock and an event that stops it between accounts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from etl.clock import utc_now
from etl.kiwoom.fetcher import Fetcher
from etl.settings import Settings


class Job:
    """A job's wiring; `_prepare` is what a kind of job builds from it, once."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.fetcher = fetcher or Fetcher(settings, clock=clock)
        self.clock = clock
        self.stop = stop or threading.Event()  # set: no next account is started
        self._prepare()

    def _prepare(self) -> None:
        """What a kind of job needs from the settings before its first run (a bad setting fails the construction)."""

    def close(self) -> None:
        self.fetcher.close()
