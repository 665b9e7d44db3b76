"""A made-up market for the demo: its trading days, prices that move slot by slot, and two accounts that trade
between days (buys, partial sells, a new stock, a stock sold out and bought again, a credit line beside a cash line).

Pure and seeded: for one seed, the numbers of trading day `i` and slot `s` are the same on every run, whatever the
dates; the dates only name the days (and a credit line's loan date). The simulator answers from the accounts that
`DemoMarket.accounts` returns, so every answer's summary agrees with its lines.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from etl.clock import KST, KrxCalendar
from etl.sim.accounts import SELL_COST, Holding, SimAccount, make_account
from etl.sim.stocks import ALL_STOCKS, tick

SLOTS = (time(9, 30), time(12, 30), time(15, 45))  # Korean time; the last is the day's close
BUY_FEE = Decimal("0.00015")
LOAN_SHARE = Decimal("0.55")  # a credit buy borrows this share of its price
CREDIT = "03"  # the credit code the simulator's credit lines carry (kt00005's crd_tp is stored as given)
LOAN_DAYS = 150
MADE_UP_HOLIDAY = "made-up holiday: the demo's weeks hold no KRX holiday, so it closes one weekday"
NAMES = {code: name for code, name, _ in ALL_STOCKS}
BASE_PRICES = {code: price for code, _, price in ALL_STOCKS}


@dataclass(frozen=True)
class Trade:
    """A trade of account `account` (1 or 2) before the first slot of a day: bought when `quantity` > 0."""

    account: int
    code: str
    quantity: int
    credit: bool = False


# The story, by trading-day index; from day 14 on, a seeded trade every second day keeps things moving.
PLAN: dict[int, tuple[Trade, ...]] = {
    2: (Trade(1, "000660", 10), Trade(2, "105560", 20)),  # more of what they hold
    3: (Trade(2, "035720", 100),),  # a new stock
    4: (Trade(1, "035420", -10),),  # a partial sell
    5: (Trade(1, "068270", 20),),  # a new stock
    6: (Trade(1, "000660", 30, credit=True), Trade(2, "105560", -30)),  # a credit line beside the cash line
    8: (Trade(1, "0001A0", -300),),  # sold out
    9: (Trade(2, "373220", -8),),  # sold out
    11: (Trade(1, "0001A0", 150),),  # bought again
    7: (Trade(2, "247540", 12),),  # a KOSDAQ stock
    10: (Trade(1, "069500", 60),),  # an ETF
    13: (Trade(1, "000660", -10, credit=True),),  # part of the credit line sold: its loan repaid in proportion
}
SEEDED_FROM = 14


@dataclass(frozen=True)
class Line:
    """One line an account holds: a cash line, or a credit line with its loan."""

    code: str
    quantity: int
    purchase_price: int
    credit: bool = False
    loan_day: int | None = None  # the trading-day index the loan was taken
    loan: int = 0


@dataclass(frozen=True)
class Book:
    """An account after a day's trades: its lines (a line sold out that day shows quantity 0) and its cash moves."""

    lines: tuple[Line, ...]
    cash: int  # before any trade
    flows: tuple[tuple[int, int], ...] = ()  # (trading-day index, cash in or out): settled two days later

    def cash_on(self, day: int, lag: int) -> int:
        """The cash once the moves of days up to `day` − `lag` have settled (lag 2: entr; 0: entr_d2)."""
        return self.cash + sum(amount for when, amount in self.flows if when <= day - lag)


@dataclass(frozen=True)
class Executed:
    """A trade as done: at what price, for how much cash."""

    trade: Trade
    price: int
    cash: int

    def words(self) -> str:
        verb = "buys" if self.trade.quantity > 0 else "sells"
        credit = " on credit" if self.trade.credit else ""
        return f"{verb} {abs(self.trade.quantity)} {NAMES[self.trade.code]}{credit}"


START = {
    1: Book(
        (
            Line("005930", 3, 124500),  # the API page's example line
            Line("000660", 40, 150000),
            Line("035420", 25, 210000),
            Line("0001A0", 300, 15100),
        ),
        cash=30_000_000,
    ),
    2: Book((Line("373220", 8, 402000), Line("105560", 60, 71200)), cash=12_000_000),
}


def _round(amount: Decimal) -> int:
    return int(amount.to_integral_value(ROUND_HALF_UP))


class DemoMarket:
    """Prices and books for trading days `days` (oldest first), from `seed`."""

    def __init__(self, days: Sequence[date], seed: int = 0) -> None:
        self.days = tuple(days)
        self.seed = seed
        self._walks: dict[str, tuple[random.Random, list[int]]] = {}
        self._books: list[dict[int, Book]] = [dict(START)]
        self._executed: list[list[tuple[int, Executed]]] = [[]]

    def price(self, code: str, day: int, slot: int, exchange: str = "KRX") -> int:
        """The price of `code` at slot `slot` of day `day`: KRX's, or NXT's a tick either side of it."""
        rng, walk = self._walks.setdefault(code, (random.Random(f"{self.seed}:{code}"), [BASE_PRICES[code]]))
        step = day * len(SLOTS) + slot
        while len(walk) <= step:  # each stock walks on its own: asking in any order gives the same prices
            last = walk[-1]
            moved = last + last * rng.randint(-110, 120) // 10000
            walk.append(max(tick(moved), (moved + tick(moved) // 2) // tick(moved) * tick(moved)))
        if exchange == "KRX":
            return walk[step]
        offset = random.Random(f"{self.seed}:{code}:{step}:nxt").choice((-1, 0, 0, 1))
        return max(1, walk[step] + offset * tick(walk[step]))

    def trades_on(self, day: date) -> bool:
        """Whether the market traded on `day` (the charts give no bar on any other): one of its days, or a weekday
        before them (the weeks a backfill reaches, where the index bars go on)."""
        return day in self.days or (day < self.days[0] and day.weekday() < 5)

    def close(self, code: str, day: date) -> int | None:
        """`code`'s close on `day`, as the snapshots show it at the day's last slot; None on a day outside its days
        (a weekend, a closed weekday, a day before or after them)."""
        if day not in self.days:
            return None
        return self.price(code, self.days.index(day), len(SLOTS) - 1)

    def book(self, account: int, day: int) -> Book:
        """Account `account` after day `day`'s trades."""
        self._reach(day)
        return self._books[day][account]

    def trades(self, day: int) -> list[tuple[int, Executed]]:
        """What each account did before the first slot of day `day`."""
        self._reach(day)
        return list(self._executed[day])

    def accounts(self, day: int, slot: int) -> list[SimAccount]:
        """The simulator's accounts at slot `slot` of day `day`: the same lines on KRX and NXT, each priced there."""
        result = []
        for index in sorted(START):
            book = self.book(index, day)
            holdings = {x: [self._holding(line, day, slot, x) for line in book.lines] for x in ("KRX", "NXT")}
            result.append(
                replace(
                    make_account(index, 0),
                    holdings=holdings,
                    deposit=book.cash_on(day, 2),
                    deposit_d1=book.cash_on(day, 1),
                    deposit_d2=book.cash_on(day, 0),
                )
            )
        return result

    def _holding(self, line: Line, day: int, slot: int, exchange: str) -> Holding:
        loan_date = self.days[line.loan_day] if line.loan_day is not None else None
        return Holding(
            code=line.code,
            name=NAMES[line.code],
            quantity=line.quantity,
            purchase_price=line.purchase_price,
            price=self.price(line.code, day, slot, exchange),
            credit_type=CREDIT if line.credit else "00",
            loan_date=f"{loan_date:%Y%m%d}" if loan_date else "",
            expiry_date=f"{loan_date + timedelta(days=LOAN_DAYS):%Y%m%d}" if loan_date else "",
            loan=line.loan,
        )

    def _reach(self, day: int) -> None:
        if not 0 <= day < len(self.days):
            raise IndexError(f"trading day {day} is outside the market's {len(self.days)} days")
        while len(self._books) <= day:
            today = len(self._books)
            books = {i: replace(b, lines=tuple(x for x in b.lines if x.quantity)) for i, b in self._books[-1].items()}
            done = []
            for trade in PLAN.get(today, ()) or self._seeded(today, books):
                books[trade.account], executed = self._execute(books[trade.account], trade, today)
                done.append((trade.account, executed))
            self._books.append(books)
            self._executed.append(done)

    def _seeded(self, day: int, books: dict[int, Book]) -> tuple[Trade, ...]:
        """From SEEDED_FROM on, every second day: one account buys a few more of a cash line, or sells a third."""
        if day < SEEDED_FROM or day % 2:
            return ()
        rng = random.Random(f"{self.seed}:trade:{day}")
        account = rng.choice(sorted(books))
        held = [line for line in books[account].lines if not line.credit]
        if not held:
            return ()
        line = rng.choice(held)
        if line.quantity >= 6 and rng.random() < 0.5:
            return (Trade(account, line.code, -(line.quantity // 3)),)
        return (Trade(account, line.code, rng.randint(2, 12)),)

    def _execute(self, book: Book, trade: Trade, day: int) -> tuple[Book, Executed]:
        price = self.price(trade.code, day, 0)
        amount = abs(trade.quantity) * price
        lines = list(book.lines)
        at = next((i for i, x in enumerate(lines) if x.code == trade.code and x.credit == trade.credit), None)
        if trade.quantity > 0:
            fee = _round(amount * BUY_FEE)
            if trade.credit:
                loan = _round(amount * LOAN_SHARE)
                after = max((i for i, x in enumerate(lines) if x.code == trade.code), default=len(lines) - 1)
                lines.insert(after + 1, Line(trade.code, trade.quantity, price, True, day, loan))
                cash = -(amount - loan + fee)
            else:
                cash = -(amount + fee)
                if at is None:
                    lines.append(Line(trade.code, trade.quantity, price))
                else:
                    old = lines[at]
                    quantity = old.quantity + trade.quantity
                    average = (old.quantity * old.purchase_price + amount) // quantity
                    lines[at] = replace(old, quantity=quantity, purchase_price=average)
        else:
            if at is None or lines[at].quantity < -trade.quantity:
                raise ValueError(f"the plan sells more {trade.code} than account {trade.account} holds on day {day}")
            old = lines[at]
            repaid = old.loan * -trade.quantity // old.quantity
            lines[at] = replace(old, quantity=old.quantity + trade.quantity, loan=old.loan - repaid)
            cash = amount - _round(amount * SELL_COST) - repaid
        book = replace(book, lines=tuple(lines), flows=(*book.flows, (day, cash)))
        return book, Executed(trade, price, cash)


@dataclass(frozen=True)
class Calendar:
    """The demo's days: the trading days (oldest first), the weekdays among them that were closed, and why, and
    the trading days whose KRX session closes later than usual (or earlier), by how much."""

    trading: tuple[date, ...]
    closed: dict[date, str]
    delays: dict[date, timedelta] = field(default_factory=dict)

    def all_days(self) -> list[date]:
        """Trading and closed weekdays, oldest first."""
        return sorted((*self.trading, *self.closed))


def demo_calendar(now: datetime, count: int, krx: KrxCalendar) -> Calendar:
    """`count` trading days ending with the latest whose first slot has passed at `now`, skipping weekends and
    the holidays of `krx` (the XKRX calendar and the config's corrections), whose sessions it keeps; when those
    weeks hold no holiday, the middle trading day is closed instead."""
    local = now.astimezone(KST)
    day = local.date() if local.time() >= SLOTS[0] else local.date() - timedelta(days=1)
    trading: list[date] = []
    closed: dict[date, str] = {}
    made_up = False
    while len(trading) < count:
        if day.weekday() < 5:
            why = krx.closed_reason(day)
            if why is not None:
                closed[day] = why
            else:
                trading.append(day)
        day -= timedelta(days=1)
        if len(trading) == count and not closed and not made_up and count > 2:
            made_up = True
            closed[trading.pop(count // 2)] = MADE_UP_HOLIDAY  # and one more trading day further back
    delays = {day: delay for day in trading if (delay := krx.close_delay(day))}
    return Calendar(tuple(sorted(trading)), closed, delays)


def slot_times(day: date, now: datetime, zone: tzinfo = KST, delay: timedelta = timedelta(0)) -> list[datetime]:
    """The slots of `day` (aware, UTC) that have come at `now`; the last, the day's close, moved by `delay` (the
    day's KRX session closes that much later)."""
    moments = [datetime.combine(day, at, tzinfo=zone).astimezone(UTC) for at in SLOTS]
    moments[-1] += delay
    return [moment for moment in moments if moment <= now]
