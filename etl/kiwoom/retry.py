"""Retries live here: bounded attempts with exponential backoff and jitter, honouring Retry-After."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from random import random
from typing import TYPE_CHECKING, Any, TypeVar

from etl.errors import ApiError, TransientApiError

if TYPE_CHECKING:
    from etl.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], object] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random, compare=False)
    observer: Callable[[ApiError], None] | None = field(default=None, compare=False)  # metrics: retries by reason
    cancelled: Callable[[], bool] = field(default=lambda: False, compare=False)  # the daemon is stopping

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RetryPolicy:
        """The policy the settings ask for (attempts, backoff, longest wait), with `overrides`."""
        return cls(
            attempts=settings.retry_attempts,
            backoff=settings.retry_backoff,
            max_wait=settings.retry_max_wait,
            **overrides,
        )

    def notify(self, exc: ApiError) -> None:
        """Tell the observer that `exc` is being retried (or, for a rejected token, worked around)."""
        if self.observer is not None:
            self.observer(exc)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        exponential = self.backoff * 2.0 ** (attempt - 1)
        jittered = exponential * (0.5 + self.jitter() / 2)  # half fixed, half random: spread, never zero
        if retry_after is not None:
            jittered = max(jittered, retry_after)
        return min(jittered, self.max_wait)

    def call(self, action: Callable[[], T], what: str) -> T:
        """Run `action`, retrying TransientApiError up to `attempts` times in all; the last failure is raised."""
        attempt = 1
        while True:
            try:
                return action()
            except TransientApiError as exc:
                if attempt >= self.attempts:
                    raise
                self.notify(exc)
                wait = self.delay(attempt, exc.retry_after)
                if exc.retry_after is not None and exc.retry_after > wait:
                    log.warning(
                        "%s: the server asks to wait %.0f s; waiting the maximum of %.0f s", what, exc.retry_after, wait
                    )
                log.warning(
                    "%s failed (%s); retry %d of %d in %.1f s",
                    what,
                    exc,
                    attempt,
                    self.attempts - 1,
                    wait,
                )
                self.sleep(wait)
                if self.cancelled():
                    raise
                attempt += 1
