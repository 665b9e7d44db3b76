"""How fast the simulator lets a client go: a token bucket per app key and API, and the answer to a client that
outpaces it (HTTP 429 with return_code 5, and a Retry-After when the simulator sends one)."""

from __future__ import annotations

import threading
import time

from etl.sim.wire import Answer, error

RATE_LIMIT = (5, "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다. API ID={api_id}]")


class Buckets:
    """A token bucket per key, each holding at most `burst` requests and refilled at `rate` a second."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # key → requests left, when counted

    def take(self, key: tuple[str, str], rate: float, burst: int) -> bool:
        """Whether a request for `key` may go now (it then takes one from the bucket)."""
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True


def too_fast(api_id: str, retry_after: str | None) -> Answer:
    """HTTP 429 with return_code 5 for `api_id`, and Retry-After `retry_after` unless it is None."""
    return error(429, RATE_LIMIT, api_id, {"Retry-After": retry_after} if retry_after else {})
