"""Which waiting fault a request meets (api-id, app key, `after`, `count`), and the answer a fault gives instead of
the API's."""

from __future__ import annotations

import json
import threading
from collections import deque

from etl.sim.faults import Fault, fault_answer, make_fault, take_fault


def test_a_fault_waits_out_after_then_applies_count_times() -> None:
    faults = deque([make_fault("http_500", api_id="kt00005", after=1, count=2)])
    met = [take_fault(faults, "kt00005", None) for _ in range(4)]
    assert [fault is not None for fault in met] == [False, True, True, False]
    assert not faults


def test_a_fault_for_another_api_or_account_is_left_waiting() -> None:
    faults = deque([make_fault("drop", api_id="kt00015"), make_fault("drop", appkey="other")])
    assert take_fault(faults, "kt00005", "mine") is None and len(faults) == 2
    assert take_fault(faults, "kt00015", "mine") is not None
    assert [fault.appkey for fault in faults] == ["other"]


def test_only_the_first_matching_fault_applies_but_every_waiting_one_counts_the_request() -> None:
    first, second = make_fault("http_500"), make_fault("http_503", after=1)
    waiting = make_fault("drop", after=2)
    faults = deque([first, waiting, second])
    assert take_fault(faults, "kt00005", None) is first
    assert waiting.after == 1 and second.after == 0
    assert take_fault(faults, "kt00005", None) is second


def _answer(fault: Fault) -> tuple[int, dict[str, str], str | None] | None:
    return fault_answer(fault, "kt00005", retry_after="2", revoke_tokens=lambda: None, released=threading.Event())


def _given(fault: Fault) -> tuple[int, dict[str, str], dict[str, object]]:
    """The answer `fault` gives, its body read as JSON."""
    given = _answer(fault)
    assert given is not None and given[2] is not None
    return given[0], given[1], json.loads(given[2])


def test_faults_that_answer_instead_of_the_api() -> None:
    assert _answer(make_fault("drop")) == (0, {}, None)
    assert _answer(make_fault("http_503")) == (503, {}, "<html><body>Service Unavailable</body></html>")
    status, headers, body = _given(make_fault("rate_limit"))
    assert (status, headers, body["return_code"]) == (429, {"Retry-After": "2"}, 5)
    status, headers, body = _given(make_fault("rate_limit_200"))
    assert (status, headers, body["return_code"]) == (200, {}, 5)
    assert "[8010:" in str(_given(make_fault("token_other_ip"))[2]["return_msg"])
    assert "[1999:" in str(_given(make_fault("server_error"))[2]["return_msg"])


def test_faults_that_let_the_api_answer() -> None:
    revoked: list[bool] = []
    fault = make_fault("revoke_token")
    released = threading.Event()
    assert (
        fault_answer(fault, "kt00005", retry_after=None, revoke_tokens=lambda: revoked.append(True), released=released)
        is None
    )
    assert revoked == [True]
    assert all(_answer(make_fault(kind)) is None for kind in ("bad_value", "loop_next_key", "truncated", "delay"))
