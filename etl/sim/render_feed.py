"""The feed's push items as Kiwoom writes them: a `00` (주문체결) item for an order event and a `04` (현물잔고) item for
a holding after a fill, their FID values strings ("" when empty), as the feed protocol lists them (docs: issue 21's
feed protocol; ../shared/kiwoom-market-and-realtime-apis.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EXCHANGE_CODES = {"KRX": "1", "NXT": "2"}  # FID 2134 거래소구분
SIDE_CODES = {"sell": "1", "buy": "2"}  # FID 907 and 946 매도수구분
ORDER_KINDS = {"buy": "+매수", "sell": "-매도"}  # FID 905 주문구분


@dataclass(frozen=True)
class OrderState:
    """An order as one 00 push shows it: what was asked, its status (913) and time (908, HHmmss KST), the fill it
    reports (0 and "" when none) and the totals after it."""

    acct_no: str
    order_no: str
    code: str
    name: str
    side: str  # buy or sell
    exchange: str  # KRX or NXT
    quantity: int
    price: int
    status: str  # 접수, 체결, 확인, 취소 or 거부
    time: str
    execution_no: str = ""
    fill_quantity: int = 0
    filled: int = 0  # shares filled so far
    filled_amount: int = 0  # 체결누계금액
    remaining: int = 0
    commission: int = 0  # the account's day so far (938)
    tax: int = 0  # the account's day so far (939)
    reason: str = ""  # 919 거부사유


@dataclass(frozen=True)
class HoldingState:
    """A holding after a fill, as the 04 push shows it."""

    acct_no: str
    code: str
    name: str
    price: int  # 현재가
    quantity: int
    average: int  # 매입단가
    day_net: int  # the day's bought minus sold shares of the stock (945)
    side: str  # the fill's: buy or sell


def order_item(state: OrderState) -> dict[str, Any]:
    """The push item of type 00 for `state`."""
    filled = state.status == "체결"
    values = {
        "9201": state.acct_no,
        "9203": state.order_no,
        "9205": "",
        "9001": state.code,
        "912": "JJ",
        "913": state.status,
        "302": state.name,
        "900": str(state.quantity),
        "901": str(state.price),
        "902": str(state.remaining),
        "903": str(state.filled_amount),
        "904": "0000000",
        "905": ORDER_KINDS[state.side],
        "906": "보통",
        "907": SIDE_CODES[state.side],
        "908": state.time,
        "909": state.execution_no if filled else "",
        "910": str(state.price) if filled else "",
        "911": str(state.fill_quantity) if filled else "",
        "10": str(state.price),
        "27": "",
        "28": "",
        "914": str(state.price) if filled else "",
        "915": str(state.fill_quantity) if filled else "",
        "938": str(state.commission),
        "939": str(state.tax),
        "919": state.reason,
        "920": "",
        "921": "",
        "922": "",
        "923": "",
        "10010": "",
        "2134": EXCHANGE_CODES[state.exchange],
        "2135": state.exchange,
        "2136": "N",
    }
    return {"type": "00", "name": "주문체결", "item": state.code, "values": values}


def holding_item(state: HoldingState) -> dict[str, Any]:
    """The push item of type 04 for `state`."""
    values = {
        "9201": state.acct_no,
        "9001": state.code,
        "917": "00",
        "916": "00000000",
        "302": state.name,
        "10": str(state.price),
        "930": str(state.quantity),
        "931": str(state.average),
        "932": str(state.quantity * state.average),
        "933": str(state.quantity),
        "945": str(state.day_net),
        "946": SIDE_CODES[state.side],
        "950": "",
        "951": "",
        "27": "",
        "28": "",
        "307": "",
        "8019": "",
        "957": "",
        "958": "",
        "918": "",
        "990": "",
        "991": "",
        "992": "",
        "993": "",
        "959": "",
        "924": "",
    }
    return {"type": "04", "name": "현물잔고", "item": state.code, "values": values}
