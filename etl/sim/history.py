"""A made-up account history for the simulator's ledger APIs (kt00015, kt00017, kt00002): the lines a Kiwoom ledger
holds over some weeks, the cash and the shares they lead to, and a price for each stock on each day.

Pure and seeded: for one seed, start and length, the same lines on every run. The rules the answers follow:

- a line is booked on its `day` (kt00015's trde_dt): a trade SETTLEMENT weekdays after it was done (its
  `trade_day`, cntr_dt), every other line on the day it happened. Weekdays only, holidays are not modelled;
- the cash (entra_remn, kt00002's entr, kt00005's entr) moves when a line is booked. A trade done but not yet booked
  counts in the cash of the days ahead (entr_d1, the D+2 cash) and in the shares held (kt00005's cur_qty, not its
  setl_remn);
- prices: each stock walks by whole KRX ticks from its base price in STOCKS, one step per weekday from `start` (the
  first weekday has the base price); a day between two weekdays has the earlier one's price, a day after the last
  weekday the last price, a day before `start` the base price.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from etl.sim.stocks import STOCKS, tick

SETTLEMENT = 2  # weekdays from a trade to its booking (T+2)
COMMISSION = Decimal("0.00015")  # of a trade's amount, rounded down
SELL_TAX = Decimal("0.0018")  # transaction and rural tax on a sell's amount, rounded down
DIVIDEND_TAX = Decimal("0.154")  # income tax (14 %) and local tax (1.4 %) withheld from a dividend, rounded down
SHARE_KINDS = frozenset({"buy", "sell", "securities_in"})  # the kinds that move shares
MIN_WEEKDAYS = 10  # the story below needs this many to fit, every trade booked inside the history


@dataclass(frozen=True)
class Event:
    """One ledger line, as facts. `kind` is deposit, withdrawal, buy, sell, dividend, loan, securities_in or other;
    amounts are whole KRW, none negative but `net`."""

    day: date  # trde_dt: when the line is booked
    trade_day: date  # cntr_dt: when it was done (a trade SETTLEMENT weekdays before `day`; `day` for the rest)
    kind: str
    remark: str  # rmrk_nm
    time: str  # proc_tm, HH:MM:SS
    amount: int = 0  # trde_amt: traded, deposited, paid out, lent; before commission and taxes (0: a transfer)
    commission: int = 0  # cmsn
    tax: int = 0  # trde_agri_tax, on a sell
    income_tax: int = 0  # incm_resi_tax, withheld from a dividend
    net: int = 0  # what the line adds to the cash, signed (exct_amt is its size)
    code: str = ""  # six characters, without kt00015's A
    name: str = ""
    quantity: int = 0  # shares traded, transferred, or paid a dividend on
    price: int = 0  # trde_unit: a trade's price, a dividend per share (0 for a transfer: it has no amount)
    exchange: str = ""  # where the shares are held, KRX or NXT: a trade's exchange; KRX for a transfer
    number: int = 0  # trde_no: 1, 2, … within `day`, in booking order
    balance: int = 0  # entra_remn: the cash after the line
    held: int = 0  # vlbl_nowrm: the booked shares of `code` after the line, all exchanges


@dataclass(frozen=True)
class Position:
    """Shares of one stock on one exchange on a day: done (cur_qty), booked (setl_remn), at an average price."""

    exchange: str
    code: str
    name: str
    quantity: int
    settled: int
    purchase_price: int


@dataclass(frozen=True)
class RealizedDay:
    """ka10074's figures of one trade day with a sale: the day's buys and sales, their commissions and taxes, and
    the profit of the sales at the simulator's own average price (kt00005's buy_uv), as Kiwoom would by its cost."""

    day: date
    bought: int = 0
    sold: int = 0
    profit: int = 0
    commission: int = 0
    tax: int = 0


@dataclass(frozen=True)
class History:
    """An account's ledger from `start` (events in booking order), and the prices of its weekdays."""

    start: date
    weekdays: tuple[date, ...]
    events: tuple[Event, ...]
    prices: Mapping[str, tuple[int, ...]]  # per stock code, one price per weekday

    def price(self, code: str, day: date) -> int:
        """The price of `code` on `day` (see the module's rules)."""
        return self.prices[code][max(0, bisect_right(self.weekdays, day) - 1)]

    def traded(self, events: Iterable[Event]) -> History:
        """This history with the trades `events` added (see `trade`; each with its exchange), booked again."""
        return replace(self, events=book((*self.events, *events)))

    def booked(self, day: date) -> list[Event]:
        """The lines booked by `day`, in booking order: what kt00015 can list on that day."""
        return [event for event in self.events if event.day <= day]

    def cash(self, day: date, ahead: int = 0) -> int:
        """The cash on `day` once the lines booked by then are; with `ahead`, also the lines done by then and booked
        within `ahead` weekdays (1: entr_d1, 2: the D+2 cash)."""
        until = weekdays_after(day, ahead)
        return sum(event.net for event in self.events if event.trade_day <= day and event.day <= until)

    def loan(self, day: date) -> int:
        """What the credit lines (예탁담보대출) booked by `day` lent: none is repaid within a history."""
        return sum(event.amount for event in self.events if event.kind == "loan" and event.day <= day)

    def positions(self, day: date) -> list[Position]:
        """The shares held on `day` per exchange and stock, in the order first acquired; a stock sold out and
        booked is left out."""
        held: dict[tuple[str, str], list[int]] = {}  # (exchange, code) → [done, booked, average price]
        names = {}
        for event, entry in self._walk(day, held):
            names[event.code] = event.name
            if event.day <= day:
                entry[1] += -event.quantity if event.kind == "sell" else event.quantity
        return [
            Position(exchange, code, names[code], quantity, settled, average)
            for (exchange, code), (quantity, settled, average) in held.items()
            if quantity or settled
        ]

    def realized(self, day: date) -> list[RealizedDay]:
        """Each trade day up to `day` with a sale done, oldest first: what ka10074 lists ("filled only on the days
        with realised profit"). A sale's profit is its amount − its shares × the average price before it − its
        commission and tax."""
        days: dict[date, RealizedDay] = {}
        held: dict[tuple[str, str], list[int]] = {}
        for event, entry in self._walk(day, held, before=True):
            if event.kind not in ("buy", "sell"):
                continue
            was = days.get(event.trade_day, RealizedDay(event.trade_day))
            charged = replace(was, commission=was.commission + event.commission, tax=was.tax + event.tax)
            if event.kind == "buy":
                days[event.trade_day] = replace(charged, bought=was.bought + event.amount)
            else:
                profit = event.amount - event.quantity * entry[2] - event.commission - event.tax
                days[event.trade_day] = replace(charged, sold=was.sold + event.amount, profit=was.profit + profit)
        return [days[d] for d in sorted(days) if days[d].sold]

    def _walk(
        self, day: date, held: dict[tuple[str, str], list[int]], *, before: bool = False
    ) -> Iterator[tuple[Event, list[int]]]:
        """The share lines done by `day` in the order done (booking order within a day), each with its stock's entry
        in `held` ([done, booked, average price] per exchange and code) after it, or before it when `before`."""
        for event in sorted(self.events, key=lambda e: e.trade_day):  # stable: booking order within a day
            if event.kind not in SHARE_KINDS or event.trade_day > day:
                continue
            entry = held.setdefault((event.exchange, event.code), [0, 0, 0])
            if before:
                yield event, list(entry)
            signed = -event.quantity if event.kind == "sell" else event.quantity
            if signed > 0:
                cost = self.price(event.code, event.trade_day) if event.kind == "securities_in" else event.price
                entry[2] = (entry[0] * entry[2] + signed * cost) // (entry[0] + signed)
            entry[0] += signed
            if not before:
                yield event, entry


def make_history(start: date, days: int, *, seed: int = 0, price: Callable[[str, date], int] | None = None) -> History:
    """The history of the `days` days from `start`, on their weekdays (at least MIN_WEEKDAYS; ValueError if fewer),
    each stock priced on each weekday by `price` (code, day) when given (a market of the caller's), else by its
    own seeded walk.

    The story: an opening deposit; two buys and a transfer in the next day, a buy on NXT the day after; part of the
    first stock sold after a third of the weekdays, a dividend on it the day after; at half time a second deposit,
    then a credit line (예탁담보대출입금), then a line no mapping knows (기타정산금); after two thirds a withdrawal,
    then the second stock and the NXT stock sold; a last buy three weekdays before the end.
    """
    weekdays = tuple(d for d in (start + timedelta(days=n) for n in range(days)) if d.weekday() < 5)
    count = len(weekdays)
    if count < MIN_WEEKDAYS:
        raise ValueError(f"a history needs at least {MIN_WEEKDAYS} weekdays; {days} days from {start} hold {count}")
    if price is None:
        prices = {code: _walk(random.Random(f"{seed}:{code}"), base, count) for code, _, base in STOCKS}
    else:
        prices = {code: tuple(price(code, day) for day in weekdays) for code, _, _ in STOCKS}
    rng = random.Random(f"history:{seed}")
    first, second, transferred, on_nxt, last = rng.sample(STOCKS, 5)
    story = _Story(weekdays, prices, rng)
    opening = 1_000_000 * rng.randint(20, 50)
    story.cash(0, "deposit", "이체입금", opening)
    story.buy(1, first, opening // 5)
    story.buy(1, second, opening // 5)
    story.transfer_in(1, transferred, rng.randint(5, 30))
    story.buy(2, on_nxt, opening // 10, "NXT")
    third = count // 3
    story.sell(third, first, story.shares[("KRX", first[0])] // 2)
    story.dividend(third + 1, first, 50 * rng.randint(2, 30))
    half = count // 2
    story.cash(half, "deposit", "이체입금", 1_000_000 * rng.randint(5, 15))
    story.cash(half + 1, "loan", "예탁담보대출입금", 1_000_000 * rng.randint(2, 6))
    story.cash(half + 2, "other", "기타정산금", rng.randint(100, 9_999))
    two_thirds = count * 2 // 3
    story.cash(
        two_thirds, "withdrawal", "이체출금", min(1_000_000 * rng.randint(1, 3), story.available // 20_000 * 10_000)
    )
    story.sell(two_thirds + 1, second, story.shares[("KRX", second[0])])
    story.sell(two_thirds + 1, on_nxt, story.shares[("NXT", on_nxt[0])], "NXT")
    story.buy(count - 3, last, story.available * 3 // 10)
    return History(start, weekdays, story.booked(), prices)


def _walk(rng: random.Random, base: int, count: int) -> tuple[int, ...]:
    walk = [base]
    while len(walk) < count:
        moved = walk[-1] + walk[-1] * rng.randint(-150, 160) // 10000
        step = tick(moved)
        walk.append(max(step, (moved + step // 2) // step * step))
    return tuple(walk)


def _share(amount: int, rate: Decimal) -> int:
    return int((amount * rate).to_integral_value(ROUND_DOWN))


def trade(day: date, trade_day: date, code: str, name: str, quantity: int, price: int, time: str) -> Event:
    """A buy (`quantity` above 0) or a sell (below 0) of `code` done on `trade_day` at `price` and booked on `day` at
    `time`, with its commission (COMMISSION), its tax when a sell (SELL_TAX) and what it adds to the cash; without
    its exchange, number, balance and held, which the story and `book` set."""
    amount = abs(quantity) * price
    commission = _share(amount, COMMISSION)
    tax = _share(amount, SELL_TAX) if quantity < 0 else 0
    net = amount - tax - commission if quantity < 0 else -(amount + commission)
    kind, remark = ("sell", "장내매도") if quantity < 0 else ("buy", "장내매수")
    return Event(
        day,
        trade_day,
        kind,
        remark,
        time,
        amount=amount,
        commission=commission,
        tax=tax,
        net=net,
        code=code,
        name=name,
        quantity=abs(quantity),
        price=price,
    )


def book(events: Iterable[Event]) -> tuple[Event, ...]:
    """`events` in booking order (by day and time, else as given), numbered within each day, with the cash and the
    booked shares after each: what History.events holds."""
    ordered = sorted(enumerate(events), key=lambda item: (item[1].day, item[1].time, item[0]))
    result = []
    balance, number, day = 0, 0, None
    shares: dict[str, int] = {}
    for _, event in ordered:
        number = number + 1 if event.day == day else 1
        day = event.day
        balance += event.net
        if event.code:
            shares[event.code] = shares.get(event.code, 0) + signed(event)
        held = shares.get(event.code, 0)
        result.append(replace(event, number=number, balance=balance, held=held))
    return tuple(result)


def signed(event: Event) -> int:
    """The shares `event` adds to its stock's holding."""
    if event.kind not in SHARE_KINDS:
        return 0
    return -event.quantity if event.kind == "sell" else event.quantity


def weekdays_after(day: date, count: int) -> date:
    """The weekday `count` weekdays after `day` (holidays are not modelled)."""
    for _ in range(count):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


class _Story:
    """Events as they are told, with what the next one may spend and sell: the cash and shares once everything done
    so far is booked."""

    def __init__(self, weekdays: tuple[date, ...], prices: dict[str, tuple[int, ...]], rng: random.Random) -> None:
        self.weekdays = weekdays
        self.prices = prices
        self.rng = rng
        self.events: list[Event] = []
        self.available = 0
        self.shares: dict[tuple[str, str], int] = {}

    def cash(self, index: int, kind: str, remark: str, amount: int) -> None:
        net = -amount if kind == "withdrawal" else amount
        day = self.weekdays[index]
        self._add(Event(day, day, kind, remark, self._clock(9, 15), amount=amount, net=net))

    def buy(self, index: int, stock: tuple[str, str, int], budget: int, exchange: str = "KRX") -> None:
        code, _, _ = stock
        self._trade(index, stock, max(2, budget // self.prices[code][index]), exchange)

    def sell(self, index: int, stock: tuple[str, str, int], quantity: int, exchange: str = "KRX") -> None:
        self._trade(index, stock, -quantity, exchange)

    def transfer_in(self, index: int, stock: tuple[str, str, int], quantity: int) -> None:
        code, name, _ = stock
        day = self.weekdays[index]
        self._add(
            Event(day, day, "securities_in", "대체입고", self._clock(9, 15), code=code, name=name, quantity=quantity),
            "KRX",
        )

    def dividend(self, index: int, stock: tuple[str, str, int], per_share: int) -> None:
        code, name, _ = stock
        day = self.weekdays[index]
        quantity = sum(signed(e) for e in self.events if e.code == code and e.day <= day)
        amount = quantity * per_share
        tax = _share(amount, DIVIDEND_TAX)
        event = Event(day, day, "dividend", "배당금입금", self._clock(8, 8), amount, income_tax=tax, net=amount - tax)
        self._add(replace(event, code=code, name=name, quantity=quantity, price=per_share))

    def booked(self) -> tuple[Event, ...]:
        """The events in booking order, numbered within each day, with the cash and the booked shares after each."""
        return book(self.events)

    def _trade(self, index: int, stock: tuple[str, str, int], signed: int, exchange: str) -> None:
        code, name, _ = stock
        # Booked by the morning batch of the settlement day, before the day's cash lines.
        day, done = self.weekdays[index + SETTLEMENT], self.weekdays[index]
        self._add(trade(day, done, code, name, signed, self.prices[code][index], self._clock(8, 8)), exchange)

    def _add(self, event: Event, exchange: str = "") -> None:
        self.events.append(replace(event, exchange=exchange))
        self.available += event.net
        if exchange:
            key = (exchange, event.code)
            self.shares[key] = self.shares.get(key, 0) + signed(event)

    def _clock(self, first_hour: int, last_hour: int) -> str:
        hour = self.rng.randint(first_hour, last_hour)
        return f"{hour:02d}:{self.rng.randint(0, 59):02d}:{self.rng.randint(0, 59):02d}"
