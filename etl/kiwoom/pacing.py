"""Client-side pacing: stay under Kiwoom's rate limit (about 1 request/s per app key and api-id) before it complains."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

# Requests are spaced a little wider than the configured rate: the server measures arrivals, and network jitter
# brings them closer together than they were sent (seen: 0.994 s apart at a server for 1.000 s sent).
SAFETY_MARGIN = 0.05


class Pacer:
    """A token bucket per key, shared by every thread: `rate` requests a second, bursts of up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate * (1 - SAFETY_MARGIN)
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def wait(self, key: Hashable) -> float:
        """Block until a request under `key` may go; return the seconds waited."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            # Taking the token before sleeping reserves this thread's turn: the next caller queues behind it.
            tokens -= 1.0
            self._buckets[key] = (tokens, now)
        delay = -tokens / self._rate if tokens < 0 else 0.0
        if delay:
            self._sleep(delay)
        return delay

    def drain(self, key: Hashable) -> None:
        """The server said "too many requests": spend the burst, so the next request under `key` waits a full turn.

        Without this a client whose bucket matches the server's has no slack, and keeps meeting 429s on jitter.
        """
        with self._lock:
            tokens, _ = self._buckets.get(key, (0.0, 0.0))
            self._buckets[key] = (min(tokens, 0.0), self._clock())
