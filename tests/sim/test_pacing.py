"""The simulator's pacing: a bucket per key lets a burst through, then refuses until time refills it; a refusal is
HTTP 429 with return_code 5."""

from __future__ import annotations

import json
import threading
import time

from etl.sim.pacing import Buckets, too_fast


def test_a_burst_goes_then_the_bucket_refuses() -> None:
    buckets = Buckets(threading.Lock())
    taken = [buckets.take(("key", "kt00005"), 0.001, 3) for _ in range(5)]
    assert taken == [True, True, True, False, False]


def test_each_key_and_api_has_its_own_bucket() -> None:
    buckets = Buckets(threading.Lock())
    assert buckets.take(("one", "kt00005"), 0.001, 1)
    assert not buckets.take(("one", "kt00005"), 0.001, 1)
    assert buckets.take(("one", "kt00015"), 0.001, 1)
    assert buckets.take(("two", "kt00005"), 0.001, 1)


def test_time_refills_the_bucket() -> None:
    buckets = Buckets(threading.Lock())
    assert buckets.take(("key", "kt00005"), 100.0, 1)
    assert not buckets.take(("key", "kt00005"), 100.0, 1)
    time.sleep(0.05)  # five requests' worth at 100 a second, but the bucket holds one
    assert buckets.take(("key", "kt00005"), 100.0, 1)
    assert not buckets.take(("key", "kt00005"), 100.0, 1)


def test_too_fast_is_429_with_return_code_5_and_the_retry_after_given() -> None:
    status, headers, text = too_fast("kt00005", "3")
    assert (status, headers) == (429, {"Retry-After": "3"})
    answer = json.loads(text)
    assert answer["return_code"] == 5 and "API ID=kt00005" in answer["return_msg"]
    assert too_fast("kt00005", None)[1] == {}
