"""An account API request as its renderer sees it (the Call), and how a request's dates are read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from etl.sim.accounts import SimAccount
from etl.sim.faults import Fault


@dataclass(frozen=True)
class Call:
    """One account API request: the caller's account, what it sent, the fault that may spoil its answer, and the
    simulator's settings that shape the answer."""

    account: SimAccount
    body: dict[str, Any]
    headers: dict[str, str]
    fault: Fault | None
    today: Callable[[], date]  # the day the answer is for
    page_size: int
    empty_form: Literal["list", "error"]  # a list API's "no data": [], or return_code 2000


def request_date(value: Any) -> date | None:
    """A request's YYYYMMDD date; None when it is not one."""
    if not isinstance(value, str) or len(value) != 8 or not (value.isascii() and value.isdigit()):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
