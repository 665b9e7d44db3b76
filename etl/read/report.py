"""The report's model: what the analyst views say about each account over a range of Seoul dates.

Reading the views (`read_report`) is the only step that touches the database; `account_report` turns the rows
into the model (series per day, the allocation at the newest close with its cash, the monthly returns, the
dividends by month, the recent position changes) and is pure. The page is rendered from the model by
etl.read.report_html. One exchange per account section: KRX and NXT answers describe the same account, so their
figures are never added together.

Each part of a section is read by one function and kept as its own rows, so that a part still to come (a benchmark
line on the TWR chart, the allocation by market or sector, the realised profit per stock) is one query and one
field: `Benchmark` is already what the TWR chart draws beside the account's own line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, select

from etl.normalize.ledger import Kind
from etl.read.returns import AccountReturns, account_returns, choose_exchange
from etl.read.views import (
    ACCOUNT_DAILY,
    ACCOUNT_RETURNS_DAILY,
    ETL_FRESHNESS,
    POSITION_CHANGES,
    POSITION_DAILY,
    View,
)
from etl.store.models import AccountTransaction
from etl.store.runs import accounts_with_runs, require_account

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RECENT_CHANGE_DAYS = 10  # how many of the range's last days the position changes cover
_HUNDREDTH = Decimal("0.01")
_Record = TypeVar("_Record", bound="DataclassInstance")


@dataclass(frozen=True)
class Selection:
    """What the user asked for: one account or all, an exchange or the default, a range of Seoul dates."""

    account: str | None = None
    exchange: str | None = None  # None: KRX, or NXT for an account with no KRX snapshot
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Day:
    """One trade date's close of an account × exchange (a row of account_daily)."""

    trade_date: date
    time: datetime
    snapshots: int
    net_assets: int
    net_assets_change: int | None  # None on the account × exchange's first day
    total_profit_loss: int | None
    deposit_d2: int | None = None  # 예수금 (D+2): the cash of the allocation


@dataclass(frozen=True)
class Holding:
    """One stock at a close, its cash and credit lines summed (a row of position_daily)."""

    trade_date: date
    stock_code: str | None
    stock_name: str | None
    lines: int
    quantity: int
    purchase_amount: int
    evaluation_amount: int
    profit_loss: int

    @property
    def rate_pct(self) -> Decimal | None:
        """Profit or loss as a percentage of the purchase amount, over the summed lines; None without a purchase."""
        if not self.purchase_amount:
            return None
        return percent(self.profit_loss, self.purchase_amount)


@dataclass(frozen=True)
class Change:
    """A stock whose summed quantity moved from the previous day's close (a row of position_changes)."""

    trade_date: date
    time: datetime
    stock_code: str | None
    stock_name: str | None
    previous_quantity: int
    quantity: int
    quantity_change: int
    change: str  # opened, closed, increased, reduced


@dataclass(frozen=True)
class Freshness:
    """How current the tables are for an account × exchange (a row of etl_freshness)."""

    last_captured_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failures_since_success: int


@dataclass(frozen=True)
class Allocation:
    """The holdings and the cash at the newest close of the range, each with its weight in their sum.

    The cash is the close's 예수금 D+2 (deposit_d2): what the account holds in won once the trades of the last two
    days settle, as net_assets counts it. The weights are of cash + the stocks' evaluations (총자산, gross assets);
    the loans net_assets subtracts are not a slice."""

    trade_date: date
    time: datetime
    holdings: tuple[Holding, ...]
    weights_pct: tuple[Decimal | None, ...]  # beside `holdings`; None when cash + evaluations sum to 0
    cash: int = 0
    cash_weight_pct: Decimal | None = None

    @property
    def total(self) -> int:
        """Cash + every held stock's evaluation: what the weights are of."""
        return self.cash + sum(h.evaluation_amount for h in self.holdings)


@dataclass(frozen=True)
class Valued:
    """One day with a value (a row of account_returns_daily): what the net assets, TWR and daily-return charts draw."""

    trade_date: date
    source: str  # snapshot, or estimate (kt00002, a KRX day without a snapshot)
    net_assets: int
    equity: int  # net assets − collateral loans: what the returns are computed on
    external_flow: int  # money in > 0 since the previous day with a value


@dataclass(frozen=True)
class Benchmark:
    """A line beside the account's TWR on its chart: an index's return since the range's first day, per date."""

    name: str
    points: tuple[tuple[date, Decimal], ...]  # (trade date, cumulative return as a fraction), oldest first


@dataclass(frozen=True)
class YearReturns:
    """One year of the monthly returns table: each month's time-weighted return and the year's, as fractions."""

    year: int
    months: tuple[Decimal | None, ...]  # January first, twelve; None: no day of that month after the range's base
    total: Decimal


@dataclass(frozen=True)
class MonthDividends:
    """The dividend lines of the ledger booked in one month: before withholding, the tax withheld, and paid."""

    month: date  # its first day
    gross: int
    tax: int

    @property
    def net(self) -> int:
        return self.gross - self.tax


@dataclass(frozen=True)
class AccountReport:
    """One account × exchange's section of the page."""

    account_no: str
    exchange: str
    exchange_note: str | None  # why this exchange, when it was not asked for and is not the default
    days: tuple[Day, ...]
    allocation: Allocation | None
    changes: tuple[Change, ...]  # newest first
    change_days: tuple[date, ...]  # the days the changes cover (with or without a change)
    freshness: Freshness | None
    returns: AccountReturns | None = None  # the range's returns (account_returns_daily), deposits set aside
    valued: tuple[Valued, ...] = ()  # the range's days with a value, oldest first
    monthly: tuple[YearReturns, ...] = ()
    dividends: tuple[MonthDividends, ...] = ()  # the months with a dividend line, oldest first
    benchmarks: tuple[Benchmark, ...] = ()  # none yet: the index data is not collected

    @property
    def dates(self) -> tuple[date, ...]:
        """Every date a chart of the section spans, oldest first: the days with a value and the closes, so that
        every chart shows the same range, from the first valued day to the last."""
        return tuple(sorted({d.trade_date for d in self.days} | {v.trade_date for v in self.valued}))


@dataclass(frozen=True)
class Report:
    """The whole page: the selection, when it was made, the display time zone and one section per account."""

    selection: Selection
    generated_at: datetime
    timezone: str
    database: str
    accounts: tuple[AccountReport, ...]


def growth_factors(valued: Sequence[Valued]) -> list[Fraction | None]:
    """Each day's 1 + return, exactly: (equity − external flow) / the previous day's equity, the formula of
    account_returns_daily's daily_return (which is floating point); None on the first day and where the previous
    equity is not above 0 (the view's NULL, which counts as no change)."""
    factors: list[Fraction | None] = [None] if valued else []
    for previous, day in zip(valued, valued[1:], strict=False):
        rated = previous.equity > 0
        factors.append(Fraction(day.equity - day.external_flow, previous.equity) if rated else None)
    return factors


def monthly_returns(valued: Sequence[Valued]) -> tuple[YearReturns, ...]:
    """The time-weighted return of each month and each year of `valued` (oldest first): the days' growth factors
    chained exactly within the month (the first day is the base: its month starts from its close)."""
    months: dict[tuple[int, int], Fraction] = {}
    for day, factor in zip(valued[1:], growth_factors(valued)[1:], strict=True):
        key = (day.trade_date.year, day.trade_date.month)
        months[key] = months.get(key, Fraction(1)) * (1 if factor is None else factor)
    years = []
    for year in sorted({y for y, _ in months}):
        chained = [months.get((year, m)) for m in range(1, 13)]
        total = Fraction(1)
        for growth in chained:
            total *= 1 if growth is None else growth
        years.append(
            YearReturns(year, tuple(None if g is None else _decimal(g - 1) for g in chained), _decimal(total - 1))
        )
    return tuple(years)


def _decimal(value: Fraction) -> Decimal:
    """A fraction as a Decimal: exact when it terminates, else to the context's 28 significant digits."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def percent(part: int, whole: int) -> Decimal:
    """100 × part / whole, exact to the hundredth (half away from zero), as the page shows it."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def account_report(
    account_no: str,
    exchange: str,
    days: Sequence[Day],
    positions: Sequence[Holding],
    changes: Sequence[Change],
    freshness: Freshness | None,
    *,
    exchange_note: str | None = None,
    recent_days: int = RECENT_CHANGE_DAYS,
    returns: AccountReturns | None = None,
    valued: Sequence[Valued] = (),
    dividends: Sequence[MonthDividends] = (),
) -> AccountReport:
    """The section of one account × exchange, from its daily closes, the stocks at its closes, its changes, its days
    with a value and its dividends."""
    ordered = tuple(sorted(days, key=lambda d: d.trade_date))
    valued = tuple(sorted(valued, key=lambda v: v.trade_date))
    allocation = _allocation(ordered[-1], positions) if ordered else None
    covered = tuple(d.trade_date for d in ordered[-recent_days:])
    recent = tuple(
        sorted(
            (c for c in changes if c.trade_date in covered),
            key=lambda c: (c.trade_date, c.stock_code or ""),
            reverse=True,
        )
    )
    return AccountReport(
        account_no,
        exchange,
        exchange_note,
        ordered,
        allocation,
        recent,
        covered,
        freshness,
        returns,
        valued,
        monthly_returns(valued),
        tuple(sorted(dividends, key=lambda m: m.month)),
    )


def _allocation(close: Day, positions: Sequence[Holding]) -> Allocation:
    at_close = [p for p in positions if p.trade_date == close.trade_date]
    held = sorted(
        (p for p in at_close if p.quantity),
        key=lambda p: (-p.evaluation_amount, p.stock_code or ""),
    )
    cash = close.deposit_d2 or 0
    total = cash + sum(p.evaluation_amount for p in held)
    weights = tuple(percent(p.evaluation_amount, total) if total else None for p in held)
    return Allocation(close.trade_date, close.time, tuple(held), weights, cash, percent(cash, total) if total else None)


def read_report(
    engine: Engine, selection: Selection, *, timezone: str, generated_at: datetime, database: str
) -> Report:
    """The report of `selection`, read from the analyst views."""
    with engine.connect() as connection:
        if selection.account is not None:
            require_account(connection, selection.account)
        accounts = [selection.account] if selection.account else accounts_with_runs(connection)
        sections = tuple(_read_account(connection, account, selection) for account in accounts)
    return Report(selection, generated_at, timezone, database, sections)


def _read_account(connection: Connection, account: str, selection: Selection) -> AccountReport:
    daily = ACCOUNT_DAILY.table()
    present = set(
        connection.execute(select(daily.c.exchange).where(daily.c.account_no == account).distinct()).scalars()
    )
    if not present:  # no snapshot at all: the exchanges its runs were for, so that its failures show
        runs = ETL_FRESHNESS.table()
        present = set(
            connection.execute(select(runs.c.exchange).where(runs.c.account_no == account).distinct()).scalars()
        )
    exchange, note = choose_exchange(selection.exchange, present)
    days = _rows(connection, ACCOUNT_DAILY, Day, account, exchange, since=selection.since, until=selection.until)
    newest = max((d.trade_date for d in days), default=None)
    positions = (
        _rows(connection, POSITION_DAILY, Holding, account, exchange, since=newest, until=newest) if newest else []
    )
    freshness = _rows(connection, ETL_FRESHNESS, Freshness, account, exchange)  # at most one: the pair is its key
    valued = _rows(
        connection, ACCOUNT_RETURNS_DAILY, Valued, account, exchange, since=selection.since, until=selection.until
    )
    valued.sort(key=lambda v: v.trade_date)
    dates = sorted({d.trade_date for d in days} | {v.trade_date for v in valued})
    return account_report(
        account,
        exchange,
        days,
        positions,
        _rows(connection, POSITION_CHANGES, Change, account, exchange, since=selection.since, until=selection.until),
        freshness[0] if freshness else None,
        exchange_note=note,
        returns=account_returns(connection, account, exchange, selection.since, selection.until),
        valued=valued,
        dividends=read_dividends(connection, account, dates[0], dates[-1]) if dates else [],
    )


def read_dividends(connection: Connection, account: str, first: date, last: date) -> list[MonthDividends]:
    """The account's dividend lines booked from `first` to `last` (their settlement dates), summed per month: the
    amount before withholding and the income tax withheld. The ledger is per account, not per exchange."""
    lines = select(
        AccountTransaction.settlement_date, AccountTransaction.trade_amount, AccountTransaction.income_tax
    ).where(
        AccountTransaction.account_no == account,
        AccountTransaction.kind == Kind.DIVIDEND,
        AccountTransaction.settlement_date >= first,
        AccountTransaction.settlement_date <= last,
    )
    months: dict[date, tuple[int, int]] = {}
    for booked, amount, tax in connection.execute(lines):
        month = booked.replace(day=1)
        gross, withheld = months.get(month, (0, 0))
        months[month] = (gross + (amount or 0), withheld + (tax or 0))
    return [MonthDividends(month, gross, tax) for month, (gross, tax) in sorted(months.items())]


def _rows(
    connection: Connection,
    view: View,
    record: type[_Record],
    account: str,
    exchange: str,
    *,
    since: date | None = None,
    until: date | None = None,
) -> list[_Record]:
    """The rows of `view` for one account × exchange (their trade_date from `since` to `until`, when given), each as a
    `record`, whose fields are the view's columns it takes, in their order."""
    v = view.table().c
    dated = [*([v.trade_date >= since] if since else []), *([v.trade_date <= until] if until else [])]
    statement = select(*(v[f.name] for f in fields(record))).where(v.account_no == account, v.exchange == exchange)
    return [record(*row) for row in connection.execute(statement.where(*dated))]
