"""The pure fill transform: one REAL push item of type `00` (주문체결) → one executions row, or None when it is no fill.

Kiwoom pushes `00` for every order event of the token's account: 접수, 체결, 확인, 취소, 거부 (FID 913). Only 체결 is a
fill; the other four are order events, not history of the account's shares. A status outside those five is refused:
a fill under a name this code does not know would otherwise be dropped in silence.

Values are FID keys with string values, `""` when empty (docs/data-dictionary.md, `executions`). No I/O, no clock:
the Seoul trade date and the arrival time are passed in; a value off the contract is refused with its FID named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from etl.clock import KST
from etl.errors import TransformError
from etl.normalize.transform import parse_amount, parse_count, parse_price, parse_stock_code, parse_text

ORDER_EVENTS = "00"
FILLED = "체결"
NOT_FILLS = frozenset({"접수", "확인", "취소", "거부"})
# FID 2134. 0 (통합) names the SOR route an order took, not a market: a fill is done on KRX or on NXT, and the
# tables never add the two together, so a fill that names neither is refused rather than filed under a guess.
EXCHANGES = {"1": "KRX", "2": "NXT"}
SIDES = {"1": "sell", "2": "buy"}  # FID 907 매도수구분
KEY_COLUMNS = ("account_no", "trade_date", "order_no", "execution_no")
COLUMNS = (
    *KEY_COLUMNS,
    "exchange",
    "stock_code",
    "stock_name",
    "side",
    "quantity",
    "price",
    "commission",
    "tax",
    "executed_at",
    "received_at",
)
_NUMBER = re.compile(r"[0-9]{1,20}")  # an order or execution number: digits, kept as sent (zero padding and all)
_CLOCK = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{2})")
# What a text column and PostgreSQL's JSONB cannot hold — a NUL, a UTF-16 surrogate without its pair — may sit in an
# FID no column reads: the message keeps U+FFFD in its place rather than refusing a fill whose every column is fine.
_STORED_AS_REPLACEMENT = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Execution:
    """One fill: its columns (COLUMNS) and the push item as received (JSON text), kept as the row's message."""

    values: Mapping[str, Any]
    message: str

    @property
    def key(self) -> tuple[Any, ...]:
        """(account_no, trade_date, order_no, execution_no): the fill's natural key."""
        return tuple(self.values[column] for column in KEY_COLUMNS)


def execution_of(item: Any, *, trade_date: date, received_at: datetime) -> Execution | None:
    """The fill of one `00` push item received on the Seoul day `trade_date` at `received_at` (aware), or None when
    its order status (FID 913) is 접수, 확인, 취소 or 거부; TransformError naming the FID and value when anything
    else does not match the contract."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    if not isinstance(item, dict):
        raise TransformError("expected an object", field="data", value=item)
    if item.get("type") != ORDER_EVENTS:
        raise TransformError(f"not a {ORDER_EVENTS} (주문체결) push", field="type", value=item.get("type"))
    values = item.get("values")
    if not isinstance(values, dict):
        raise TransformError("expected an object of FIDs", field="values", value=values)
    status = _text(values, "913")
    if status in NOT_FILLS:
        return None
    if status != FILLED:
        raise TransformError(
            "not an order status Kiwoom documents (접수, 체결, 확인, 취소, 거부)", field="913", value=values.get("913")
        )
    row: dict[str, Any] = {
        "account_no": _required(values, "9201", "a fill needs its account"),
        "trade_date": trade_date,
        "order_no": _number(values, "9203"),
        "execution_no": _number(values, "909"),
        "exchange": _coded(values, "2134", EXCHANGES, "not 1 (KRX) or 2 (NXT): a fill is done on one market"),
        "stock_code": _stock_code(values),
        "stock_name": _text(values, "302") or None,
        "side": _coded(values, "907", SIDES, "not 1 (sell) or 2 (buy)"),
        "quantity": _positive(values, "911", parse_amount(_value(values, "911"), "911"), "shares filled"),
        "price": _positive(values, "910", parse_price(_value(values, "910"), "910"), "a fill price"),
        "commission": parse_count(_value(values, "938"), "938"),
        "tax": parse_count(_value(values, "939"), "939"),
        "executed_at": datetime.combine(trade_date, _clock(values), KST).astimezone(UTC),
        "received_at": received_at.astimezone(UTC),
    }
    return Execution(row, json.dumps(_storable(item), ensure_ascii=False, sort_keys=True))


def _storable(value: Any) -> Any:
    """`value` with every text's NUL and unpaired surrogate as U+FFFD (see _STORED_AS_REPLACEMENT)."""
    if isinstance(value, str):
        return _STORED_AS_REPLACEMENT.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _value(values: Mapping[str, Any], fid: str) -> Any:
    # An absent FID reads as Kiwoom's empty value: the parsers turn "" into None, and the checks below refuse it
    # where a fill needs the value.
    return values.get(fid, "")


def _text(values: Mapping[str, Any], fid: str) -> str:
    return parse_text(_value(values, fid), fid)


def _required(values: Mapping[str, Any], fid: str, problem: str) -> str:
    text = _text(values, fid)
    if text == "":
        raise TransformError(problem, field=fid, value=values.get(fid))
    return text


def _number(values: Mapping[str, Any], fid: str) -> str:
    text = _text(values, fid)
    if not _NUMBER.fullmatch(text):
        raise TransformError("not an order or execution number (digits)", field=fid, value=values.get(fid))
    return text


def _coded(values: Mapping[str, Any], fid: str, codes: Mapping[str, str], problem: str) -> str:
    code = _text(values, fid)
    if code not in codes:
        raise TransformError(problem, field=fid, value=values.get(fid))
    return codes[code]


def _stock_code(values: Mapping[str, Any]) -> str:
    code = parse_stock_code(_value(values, "9001"), "9001")
    if code == "":
        raise TransformError("a fill needs its stock", field="9001", value=values.get("9001"))
    return code


def _positive(values: Mapping[str, Any], fid: str, number: int | None, what: str) -> int:
    if number is None or number <= 0:
        raise TransformError(f"{what} must be above 0", field=fid, value=values.get(fid))
    return number


def _clock(values: Mapping[str, Any]) -> time:
    """FID 908 주문/체결시간, HHmmss in KST."""
    text = _text(values, "908")
    match = _CLOCK.fullmatch(text)
    if not match:
        raise TransformError("not an HHmmss time", field="908", value=values.get("908"))
    try:
        hour, minute, second = (int(part) for part in match.groups())
        return time(hour, minute, second)
    except ValueError:
        raise TransformError("not a time of day", field="908", value=values.get("908")) from None
