"""Raw pages: one API answer exactly as it arrived, before any interpretation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Page:
    """One HTTP answer of the Kiwoom API: its body text as received and, when it is a JSON object, the object."""

    api_id: str
    page_no: int
    received_at: datetime
    http_status: int
    # Kept out of repr: a token answer's body holds the token.
    text: str = field(repr=False)
    data: Mapping[str, Any] | None = field(repr=False)
    cont_yn: str | None = None
    next_key: str | None = None


def parse_json_object(text: str) -> Mapping[str, Any] | None:
    """The JSON object in `text`, or None when it is not one; numbers stay exact (int, Decimal)."""
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError):  # nested deeper than Python's stack: no Kiwoom answer is
        return None
    return value if isinstance(value, dict) else None


def _refuse_constant(name: str) -> Any:
    # json accepts NaN and Infinity by default; they are not JSON and never a Kiwoom value.
    raise ValueError(f"{name} is not JSON")


# One decoder for every page (json.loads with options would build one a call).
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)
