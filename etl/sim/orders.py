"""Simulated orders: an order of one account changes its state at once and is told on the feed as Kiwoom tells it.

A filled order is pushed as 00 접수, then one 00 체결 per fill (partial fills that add up to the order's quantity)
each followed by a 04 of the holding after it; a cancelled one as 접수 then 취소, a rejected one as 접수 then 거부
(with 919 거부사유), neither changing anything. Every fill is a trade at the day's price: for an account with a
history (etl.sim.history) a ledger line of its own, done today and booked SETTLEMENT weekdays later, so kt00005 shows
the shares at once and kt00015 lists the line from its booking day; for one without, a change of its `holdings`
(quantity and average price; nothing is booked there). Order and execution numbers are unique per account and day.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from typing import Any

from etl.clock import KST
from etl.sim.accounts import Holding, SimAccount
from etl.sim.history import SETTLEMENT, Event, trade, weekdays_after
from etl.sim.render_feed import HoldingState, OrderState, holding_item, order_item
from etl.sim.stocks import ALL_STOCKS

SIDES = ("buy", "sell")
EXCHANGES = ("KRX", "NXT")
OUTCOMES = ("filled", "cancelled", "rejected")
REJECTED = "주문가능수량을 초과하였습니다"  # 919 of a rejected order: the simulator gives one reason
BOOKED_AT = "08:00:00"  # a fill's ledger line, by the morning batch of its settlement day, as the history's trades


class OrderError(ValueError):
    """An order the simulator cannot take: `field` names what is wrong, `value` what was given."""

    def __init__(self, message: str, *, field: str, value: Any) -> None:
        super().__init__(f"{field}: {message} (got {value!r})")
        self.field = field
        self.value = value


@dataclass(frozen=True)
class Fill:
    """One fill of an order: its execution number, shares, price, time (HHmmss KST) and its own commission and tax."""

    execution_no: str
    quantity: int
    price: int
    time: str
    commission: int
    tax: int


@dataclass(frozen=True)
class Order:
    """What an order did: its number, what was asked, the price, the outcome, the time of its 접수 and its fills."""

    acct_no: str
    order_no: str
    code: str
    name: str
    side: str
    exchange: str
    quantity: int
    price: int
    outcome: str
    time: str
    fills: tuple[Fill, ...]

    def as_json(self) -> dict[str, Any]:
        """The order as a JSON object (POST /_sim/orders answers it)."""
        return asdict(self)


class Orders:
    """The orders taken: order and execution numbers per account and day, and the trades of accounts without a
    history (their day's commission and tax). `lock` is the simulator's, which guards the accounts."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._numbers: Counter[tuple[str, date, str]] = Counter()
        self._trades: dict[str, list[Event]] = {}

    def place(
        self,
        account: SimAccount,
        code: str,
        quantity: int,
        side: str,
        *,
        exchange: str,
        fills: int,
        outcome: str,
        today: date,
        now: Callable[[], datetime],
        push: Callable[[str, dict[str, Any]], object],
    ) -> Order:
        """Take the order, change `account` and push (push(app key, item)) what Kiwoom would; OrderError naming the
        field when the order cannot be taken."""
        _check(account, code, quantity, side, exchange, fills, outcome)
        items: list[dict[str, Any]] = []
        with self._lock:
            name, price, held = self._quote(account, code, exchange, today)
            if outcome == "filled" and side == "sell" and held < quantity:
                raise OrderError(f"more than the {held} shares held on {exchange}", field="quantity", value=quantity)
            self._numbers[(account.acct_no, today, "order")] += 1
            order_no = f"{self._numbers[(account.acct_no, today, 'order')]:07d}"
            asked = OrderState(
                account.acct_no,
                order_no,
                code,
                name,
                side,
                exchange,
                quantity,
                price,
                "접수",
                _clock(now),
                remaining=quantity,
            )
            items.append(order_item(asked))
            made: list[Fill] = []
            if outcome == "cancelled":
                items.append(order_item(replace(asked, status="취소", time=_clock(now), remaining=0)))
            elif outcome == "rejected":
                items.append(order_item(replace(asked, status="거부", time=_clock(now), remaining=0, reason=REJECTED)))
            else:
                for part in _parts(quantity, fills):
                    fill = self._fill(account, asked, part, today, _clock(now))
                    made.append(fill)
                    filled = sum(f.quantity for f in made)
                    commission, tax, day_net = self._day(account, code, today)
                    state = replace(
                        asked,
                        status="체결",
                        time=fill.time,
                        execution_no=fill.execution_no,
                        fill_quantity=part,
                        filled=filled,
                        filled_amount=filled * price,
                        remaining=quantity - filled,
                        commission=commission,
                        tax=tax,
                    )
                    items.append(order_item(state))
                    after, average = _holding(account, code, exchange, today)
                    items.append(
                        holding_item(HoldingState(account.acct_no, code, name, price, after, average, day_net, side))
                    )
        for item in items:
            push(account.appkey, item)
        return Order(
            account.acct_no, order_no, code, name, side, exchange, quantity, price, outcome, asked.time, tuple(made)
        )

    def _quote(self, account: SimAccount, code: str, exchange: str, today: date) -> tuple[str, int, int]:
        """The stock's name, the day's price and the shares of it held on `exchange`."""
        name, base = next((n, b) for c, n, b in ALL_STOCKS if c == code)
        if account.history is not None:
            return name, account.history.price(code, today), _holding(account, code, exchange, today)[0]
        holding = _find(account, code, exchange)
        return name, holding.price if holding else base, holding.quantity if holding else 0

    def _fill(self, account: SimAccount, order: OrderState, part: int, today: date, time: str) -> Fill:
        """Trade `part` shares of `order` now: the account changes, and the fill is numbered."""
        self._numbers[(account.acct_no, today, "execution")] += 1
        number = f"{self._numbers[(account.acct_no, today, 'execution')]:07d}"
        signed = part if order.side == "buy" else -part
        booked = weekdays_after(today, SETTLEMENT)
        line = replace(
            trade(booked, today, order.code, order.name, signed, order.price, BOOKED_AT), exchange=order.exchange
        )
        if account.history is not None:
            account.history = account.history.traded([line])
        else:
            self._trades.setdefault(account.acct_no, []).append(line)
            _move(account, order, signed)
        return Fill(number, part, order.price, time, line.commission, line.tax)

    def _day(self, account: SimAccount, code: str, today: date) -> tuple[int, int, int]:
        """The account's commission and tax of `today`'s trades so far, and the day's net bought shares of `code`."""
        events = account.history.events if account.history is not None else self._trades.get(account.acct_no, [])
        trades = [e for e in events if e.trade_day == today and e.kind in SIDES]
        net = sum(e.quantity if e.kind == "buy" else -e.quantity for e in trades if e.code == code)
        return sum(e.commission for e in trades), sum(e.tax for e in trades), net


def _check(account: SimAccount, code: str, quantity: int, side: str, exchange: str, fills: int, outcome: str) -> None:
    if side not in SIDES:
        raise OrderError("buy or sell", field="side", value=side)
    if exchange not in EXCHANGES or (account.history is None and exchange not in account.holdings):
        known = EXCHANGES if account.history is not None else tuple(account.holdings)
        raise OrderError(f"one of the account's exchanges {', '.join(known)}", field="exchange", value=exchange)
    if outcome not in OUTCOMES:
        raise OrderError(", ".join(OUTCOMES), field="outcome", value=outcome)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise OrderError("a whole number of shares above 0", field="quantity", value=quantity)
    if not isinstance(fills, int) or isinstance(fills, bool) or not 1 <= fills <= quantity:
        raise OrderError(f"a whole number from 1 to the quantity {quantity}", field="fills", value=fills)
    listed = account.history.prices if account.history is not None else {c for c, _, _ in ALL_STOCKS}
    if not isinstance(code, str) or code not in listed:
        raise OrderError("a stock code the simulator lists (etl.sim.stocks)", field="code", value=code)


def _parts(quantity: int, fills: int) -> list[int]:
    """`quantity` in `fills` parts that differ by at most one share, the larger first."""
    share, rest = divmod(quantity, fills)
    return [share + 1 if n < rest else share for n in range(fills)]


def _clock(now: Callable[[], datetime]) -> str:
    return now().astimezone(KST).strftime("%H%M%S")


def _find(account: SimAccount, code: str, exchange: str) -> Holding | None:
    return next((h for h in account.holdings.get(exchange, []) if h.code == code), None)


def _holding(account: SimAccount, code: str, exchange: str, today: date) -> tuple[int, int]:
    """The shares of `code` held on `exchange` on `today` and their average price (0, 0 when none)."""
    if account.history is not None:
        position = next((p for p in account.history.positions(today) if (p.exchange, p.code) == (exchange, code)), None)
        return (position.quantity, position.purchase_price) if position else (0, 0)
    holding = _find(account, code, exchange)
    return (holding.quantity, holding.purchase_price) if holding else (0, 0)


def _move(account: SimAccount, order: OrderState, signed: int) -> None:
    """Change the holdings of an account without a history by a fill of `signed` shares at the order's price."""
    holding = _find(account, order.code, order.exchange)
    if holding is None:
        account.holdings[order.exchange].append(Holding(order.code, order.name, signed, order.price, order.price))
        return
    if signed > 0:
        cost = holding.quantity * holding.purchase_price + signed * order.price
        holding.purchase_price = cost // (holding.quantity + signed)
    holding.quantity += signed
    if holding.quantity == 0:
        account.holdings[order.exchange].remove(holding)
