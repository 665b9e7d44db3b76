"""Continuation as the simulator does it: a list answer leaves `page_size` lines at a time, its cont-yn and next-key
headers saying whether more follow and where (SIM and the offset); `Listed` keeps a list answer's lines for the
continuations of a list API (kt00015, kt00002), which must repeat the first request's body."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from etl.sim.call import Call
from etl.sim.faults import spoil
from etl.sim.wire import BAD_INPUT, Answer, error, ok

NO_DATA = (2000, "[2000](501724:관련자료가없습니다)")  # its own bracket form, as a third-party fixture shows it


def continued_from(headers: dict[str, str]) -> int | None:
    """Where a continuation starts: the offset its next-key names, or None for a next-key the simulator never gave."""
    next_key = headers.get("next-key", "")
    if not next_key.startswith("SIM") or not next_key[3:].isdigit():
        return None
    return int(next_key[3:])


def page_of(
    lines: list[dict[str, str]], start: int, size: int, api_id: str
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The page of `lines` from `start` (copies: a fault may spoil them) and the answer's headers for it."""
    page = [dict(line) for line in lines[start : start + size]]
    more = start + size < len(lines)
    headers = {"api-id": api_id, "cont-yn": "Y" if more else "N", "next-key": ""}
    if more:
        headers["next-key"] = f"SIM{start + size}"
    return page, headers


class Listed:
    """Each caller's latest list answer per API: the request's body and the lines made for it."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], tuple[str, list[dict[str, str]]]] = {}  # (app key, api-id) → body, lines

    def answer(
        self,
        call: Call,
        api_id: str,
        list_name: str,
        message: str,
        top: dict[str, str],
        lines: Callable[[], list[dict[str, str]]],
    ) -> Answer:
        """A page of the list `lines()` under `list_name`, beside `top`: the lines are made on the first request and
        kept for the continuations, which must repeat its body."""
        key = (call.account.appkey, api_id)
        asked = json.dumps(call.body, sort_keys=True, ensure_ascii=False)
        start = 0
        if call.headers.get("cont-yn") == "Y":
            kept = self._kept.get(key)
            offset = continued_from(call.headers)
            if offset is None or kept is None or kept[0] != asked:
                return error(200, BAD_INPUT)
            start, made = offset, kept[1]
        else:
            made = lines()
            if not made and call.empty_form == "error":
                return error(200, NO_DATA)
            self._kept[key] = (asked, made)
        page, headers = page_of(made, start, call.page_size, api_id)
        payload: dict[str, Any] = dict(top)
        payload[list_name] = page
        spoil(call.fault, payload, page, headers)
        return ok(payload, message, headers)
