"""The faults the simulator can inject: what each does, how one is made (refusing unknown kinds and options), which
waiting fault a request meets, the answer a fault gives instead of the API's, and how a bad_value or loop_next_key
fault spoils an answer about to leave."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from etl.sim.pacing import RATE_LIMIT, too_fast
from etl.sim.tokens import OTHER_IP_TOKEN
from etl.sim.wire import BAD_INPUT, SERVER_ERROR, error


@dataclass
class Fault:
    """A misbehaviour to apply to the next `count` matching requests.

    kind: http_500, http_503, drop (close the connection without an answer), rate_limit (HTTP 429 + return_code 5),
    rate_limit_200 (return_code 5 inside HTTP 200), revoke_token (the token dies before the request is served),
    broken_json, bad_value (`field` set to `value` at the answer's top level when it is a top-level field, as a
    summary's or a flat record's are, else on the first line of its list; by default the field the API's renderer
    names, its `bad_field`), delay (`seconds` before answering), server_error (return_code with reason 1999),
    input_error (reason 1517), loop_next_key (always answer cont-yn Y with the same next-key), token_other_ip
    (reason 8010), truncated (the normal answer cut in half), hold (wait until Simulator.release() is called, at
    most `seconds` or 120 s as a guard against hanging, then answer normally: a slow request with no time in it).

    The feed's kinds (FEED_KINDS) are met by the WebSocket feed's messages to a session, never by an HTTP request
    (and the HTTP kinds never by the feed): by the next REAL push or PING the feed sends to a session of `appkey`
    (any session when unset); `api_id` "REAL" or "PING" narrows that to the one message. feed_drop (the TCP
    connection shut at once, no close frame; the message is not sent), feed_silence (the session stops answering:
    no pings, replies or pushes from then on, the TCP connection left open), feed_malformed (a text that is not JSON
    sent before the message), feed_unknown (valid JSON of an unknown trnm sent before the message), feed_delay (the
    message, and those queued behind it, sent `seconds` later).
    """

    kind: str
    api_id: str | None = None
    count: int = 1
    after: int = 0
    field: str | None = None
    value: Any = None
    seconds: float = 0.0
    appkey: str | None = None  # only this account's requests


# The kinds fault_answer, spoil and Simulator.handle act on: anything else would be silently ignored.
FAULT_KINDS = frozenset(
    {
        "http_500",
        "http_503",
        "drop",
        "rate_limit",
        "rate_limit_200",
        "revoke_token",
        "token_other_ip",
        "server_error",
        "input_error",
        "broken_json",
        "delay",
        "bad_value",
        "loop_next_key",
        "truncated",
        "hold",
    }
)
FEED_KINDS = frozenset({"feed_drop", "feed_silence", "feed_malformed", "feed_unknown", "feed_delay"})
FEED_MESSAGES = (None, "REAL", "PING")  # a feed fault's api_id: the message it is met by (None: either)
FAULT_OPTIONS = frozenset(f.name for f in fields(Fault)) - {"kind"}


def make_fault(kind: str, **options: Any) -> Fault:
    """A Fault, refusing (ValueError) a kind the simulator does not handle or an option Fault does not have."""
    if kind not in FAULT_KINDS | FEED_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known kinds: {', '.join(sorted(FAULT_KINDS | FEED_KINDS))}")
    unknown = sorted(set(options) - FAULT_OPTIONS)
    if unknown:
        known = ", ".join(sorted(FAULT_OPTIONS))
        raise ValueError(f"unknown fault option(s) {', '.join(unknown)}; known options: {known}")
    if kind in FEED_KINDS and options.get("api_id") not in FEED_MESSAGES:
        raise ValueError(f"a feed fault's api_id is REAL, PING or unset; got {options.get('api_id')!r}")
    return Fault(kind, **options)


def spoil(fault: Fault | None, payload: dict[str, Any], page: list[dict[str, str]], headers: dict[str, str]) -> None:
    """Apply a bad_value fault (to its `field`, which the simulator sets to the renderer's when it names none) or a
    loop_next_key fault to an answer about to leave."""
    if fault is not None and fault.kind == "bad_value" and fault.field:
        if fault.field in payload:
            payload[fault.field] = fault.value
        elif page:
            page[0][fault.field] = fault.value
    if fault is not None and fault.kind == "loop_next_key":
        headers.update({"cont-yn": "Y", "next-key": "SIM0"})


def take_fault(faults: deque[Fault], api_id: str, appkey: str | None, *, feed: bool = False) -> Fault | None:
    """The fault that applies to this request (with `feed`, this feed message: its trnm as `api_id`), if any; every
    matching fault still waiting counts it. The caller holds the lock that guards `faults`."""
    chosen = None
    for fault in list(faults):
        if (fault.kind in FEED_KINDS) != feed:
            continue
        if fault.api_id not in (None, api_id) or fault.appkey not in (None, appkey):
            continue
        if fault.after > 0:
            fault.after -= 1
        elif chosen is None:
            chosen = fault
            fault.count -= 1
            if fault.count <= 0:
                faults.remove(fault)
    return chosen


def fault_answer(
    fault: Fault,
    api_id: str,
    *,
    retry_after: str | None,
    revoke_tokens: Callable[[], None],
    released: threading.Event,
) -> tuple[int, dict[str, str], str | None] | None:
    """The answer `fault` gives instead of the API's (a body of None: drop the connection), or None when the request
    is then served (revoke_token, delay and hold first do what they say; bad_value, loop_next_key and truncated
    alter the answer served)."""
    kind = fault.kind
    if kind in ("http_500", "http_503"):
        return int(kind[5:]), {}, "<html><body>Service Unavailable</body></html>"
    if kind == "drop":
        return 0, {}, None
    if kind == "rate_limit":
        return too_fast(api_id, retry_after)
    if kind == "rate_limit_200":
        return error(200, RATE_LIMIT, api_id)
    if kind == "revoke_token":
        revoke_tokens()
    if kind == "token_other_ip":
        return error(200, OTHER_IP_TOKEN)
    if kind == "server_error":
        return error(200, SERVER_ERROR)
    if kind == "input_error":
        return error(200, BAD_INPUT)
    if kind == "broken_json":
        return 200, {}, '{"entr": "000000017534", "stk_cntr_remn": [{"stk_cd": "A0059'
    if kind == "delay":
        time.sleep(fault.seconds)
    if kind == "hold":
        released.wait(fault.seconds or 120.0)
    return None
