"""The report's model: what the analyst views say about each account over a range of Seoul dates.

Reading the views (`read_report`) is the only step that touches the database; `account_report` turns the rows
into the model (series per day, the allocation at the newest close with its cash, the monthly returns, the
dividends by month, the recent position changes, the newest day's snapshots and fills) and is pure. The page is
rendered from the model by etl.read.report_html. One exchange per account section: KRX and NXT answers describe the
same account, so their figures are never added together.

Each part of a section is read by one function and kept as its own rows: the indexes beside the TWR
(account_benchmark_daily, rebased to the range's first valued day, or to the close before it when the range starts
from nothing: the account's first deposit counting from its day's start, as the returns do), the profit per stock
(position_pnl), the allocation by market and by sector (instruments), the dividends (the dividends view), the newest
day's snapshots with their triggers and the account's fills that day (etl.read.intraday).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, select

from etl.apis.instruments import Instrument
from etl.read.benchmark import index_name
from etl.read.intraday import Intraday, read_intraday
from etl.read.returns import AccountReturns, account_returns, choose_exchange, index_close_before
from etl.read.views import (
    ACCOUNT_BENCHMARK_DAILY,
    ACCOUNT_DAILY,
    ACCOUNT_RETURNS_DAILY,
    DIVIDENDS,
    ETL_FRESHNESS,
    POSITION_CHANGES,
    POSITION_DAILY,
    POSITION_PNL,
    View,
)
from etl.store.runs import accounts_with_runs, require_account

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RECENT_CHANGE_DAYS = 10  # how many of the range's last days the position changes cover
BENCHMARK_CODES = ("001", "101")  # KOSPI and KOSDAQ beside the TWR, when index_daily has them
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
    # The held stocks' evaluations summed per market of instruments (None: a code instruments lacks), largest first.
    markets: tuple[tuple[str | None, int], ...] = ()
    # The same per sector of instruments (None: a code instruments lacks, or one whose sector it has empty).
    sectors: tuple[tuple[str | None, int], ...] = ()

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
    excess: Decimal | None = None  # the account's TWR over the range − the index's; None: no close on its last day


@dataclass(frozen=True)
class StockPnl:
    """One stock's profit since the ledger's start (a row of position_pnl): sold-out stocks included."""

    stock_code: str | None
    stock_name: str | None
    realized_pnl: int
    unrealized_pnl: int
    dividends: int
    fees: int
    taxes: int
    total_pnl: int
    unpriced_sales: int = 0  # its sales without a cost basis: left out of realized_pnl, and so of total_pnl

    @property
    def partial(self) -> bool:
        """Whether realized_pnl (and total_pnl) leave out a sale whose cost is unknown: known in part only."""
        return self.unpriced_sales > 0


# The columns of position_pnl that add up across stocks: the total row's.
_PNL_SUMMED = ("realized_pnl", "unrealized_pnl", "dividends", "fees", "taxes", "total_pnl", "unpriced_sales")


def pnl_total(pnl: Sequence[StockPnl]) -> StockPnl:
    """The stocks' sums, column by column, exactly (no stock: its code and name None). Its unpriced_sales are theirs,
    so it is partial exactly when one of them is: a sum is never more known than its parts."""
    return StockPnl(None, None, *(sum(getattr(p, name) for p in pnl) for name in _PNL_SUMMED))


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
    benchmarks: tuple[Benchmark, ...] = ()  # KOSPI, KOSDAQ: those index_daily has a close for in the range
    pnl: tuple[StockPnl, ...] = ()  # per stock, the largest total first
    intraday: Intraday | None = None  # the newest day's snapshots and fills; None without a day

    @property
    def from_start(self) -> bool:
        """Whether the range starts from nothing: its first day is the account's first, whose deposit into the empty
        account counts from the day's start (account_returns_daily's first daily_return), so that day's return is
        the range's too."""
        return _from_start(self.returns)

    @property
    def pnl_total(self) -> StockPnl:
        """The total row of the profit per stock."""
        return pnl_total(self.pnl)

    @property
    def dates(self) -> tuple[date, ...]:
        """Every date a chart of the section spans, oldest first: the days with a value and the closes, so that
        every chart shows the same range, from the first valued day to the last."""
        return tuple(sorted({d.trade_date for d in self.days} | {v.trade_date for v in self.valued}))


@dataclass(frozen=True)
class Listing:
    """What instruments says of a stock code: its market, and its sector (Kiwoom's upName; None when sent empty)."""

    market: str
    sector: str | None


@dataclass(frozen=True)
class Report:
    """The whole page: the selection, when it was made, the display time zone and one section per account."""

    selection: Selection
    generated_at: datetime
    timezone: str
    database: str
    accounts: tuple[AccountReport, ...]


def _from_start(returns: AccountReturns | None) -> bool:
    return bool(returns and returns.performance and returns.performance.from_start)


def growth_factors(valued: Sequence[Valued], *, from_start: bool = False) -> list[Fraction | None]:
    """Each day's 1 + return, exactly: (equity − external flow) / the previous day's equity, the formula of
    account_returns_daily's daily_return (which is floating point); None where the previous equity is not above 0
    (the view's NULL, which counts as no change) and on the first day, unless `from_start` (the first deposit into
    the empty account counts from the day's start): then equity / external flow, as the view computes it."""
    first = valued[0] if valued else None
    starts = from_start and first is not None and first.external_flow > 0
    factors: list[Fraction | None] = (
        [] if first is None else [Fraction(first.equity, first.external_flow) if starts else None]
    )
    for previous, day in zip(valued, valued[1:], strict=False):
        rated = previous.equity > 0
        factors.append(Fraction(day.equity - day.external_flow, previous.equity) if rated else None)
    return factors


def monthly_returns(valued: Sequence[Valued], *, from_start: bool = False) -> tuple[YearReturns, ...]:
    """The time-weighted return of each month and each year of `valued` (oldest first): the days' growth factors
    chained exactly within the month (the first day is the base: its month starts from its close, or from nothing
    with `from_start`)."""
    months: dict[tuple[int, int], Fraction] = {}
    factors = growth_factors(valued, from_start=from_start)
    for day, factor in zip(valued, factors, strict=True):
        if factor is None and day is valued[0]:
            continue
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


def benchmarks(
    valued: Sequence[Valued],
    closes: Sequence[tuple[str, date, Decimal | None]],
    before: Mapping[str, Decimal] | None = None,
) -> tuple[Benchmark, ...]:
    """Each index of `closes` (index code, trade date, close) beside the account's TWR, exactly: its close over its
    close on the first valued day − 1, and the excess at the last valued day. With `before` (the range starts from
    nothing, the first deposit counting from its day's start), each index's last close before the first day, which
    the index is measured from, as the account is from that day's start. An index whose first close comes later (its
    history starts after the account's) starts on the account's line that day and moves as the index does from
    there: where the account would be had it followed the index since; its excess is measured the same way. On a
    Saturday or Sunday snapshot (--all-hours) an index stands at its last close, as `returns --benchmark` has it."""
    if not valued:
        return ()
    first, last = valued[0].trade_date, valued[-1].trade_date
    twr, growth = {}, Fraction(1)
    for day, factor in zip(valued, growth_factors(valued, from_start=before is not None), strict=True):
        growth *= 1 if factor is None else factor
        twr[day.trade_date] = _decimal(growth)
    lines = []
    for code in sorted({c for c, _, _ in closes}):
        dated = {day: close for c, day, close in closes if c == code and close is not None and first <= day <= last}
        standing = None  # a Saturday or Sunday snapshot: no index trades, it stands at its last close
        for on in sorted({*twr, *dated}):  # one pass, oldest first (not a search of the closes per day)
            if on in dated:
                standing = dated[on]
            elif on.weekday() >= 5 and standing is not None:
                dated[on] = standing
        start = min((day for day in dated if day in twr and dated[day] > 0), default=None)
        if start is None:
            continue
        base, level = dated[start], twr[start]
        if before is not None and before.get(code, 0) > 0:
            start, base, level = date.min, before[code], Decimal(1)
        points = tuple((day, level * dated[day] / base - 1) for day in sorted(dated) if day >= start)
        excess = twr[last] - level * dated[last] / base if last in dated else None
        lines.append(Benchmark(index_name(code), points, excess))
    return tuple(lines)


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
    index_closes: Sequence[tuple[str, date, Decimal | None]] = (),
    index_before: Mapping[str, Decimal] | None = None,
    pnl: Sequence[StockPnl] = (),
    listings: dict[str, Listing] | None = None,
    intraday: Intraday | None = None,
) -> AccountReport:
    """The section of one account × exchange, from its daily closes, the stocks at its closes, its changes, its days
    with a value, its dividends, the indexes' closes (and, for a range that starts from nothing, each index's last
    close before it), its profit per stock, what instruments says of each held stock code and its newest day's
    snapshots and fills."""
    from_start = _from_start(returns)
    ordered = tuple(sorted(days, key=lambda d: d.trade_date))
    valued = tuple(sorted(valued, key=lambda v: v.trade_date))
    allocation = _allocation(ordered[-1], positions, listings or {}) if ordered else None
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
        monthly_returns(valued, from_start=from_start),
        tuple(sorted(dividends, key=lambda m: m.month)),
        benchmarks(valued, index_closes, (index_before or {}) if from_start else None),
        tuple(sorted(pnl, key=lambda p: (-p.total_pnl, p.stock_code or ""))),
        intraday,
    )


def _allocation(close: Day, positions: Sequence[Holding], listings: dict[str, Listing]) -> Allocation:
    at_close = [p for p in positions if p.trade_date == close.trade_date]
    held = sorted(
        (p for p in at_close if p.quantity),
        key=lambda p: (-p.evaluation_amount, p.stock_code or ""),
    )
    cash = close.deposit_d2 or 0
    total = cash + sum(p.evaluation_amount for p in held)
    weights = tuple(percent(p.evaluation_amount, total) if total else None for p in held)
    cash_weight = percent(cash, total) if total else None
    listed = [listings.get(h.stock_code or "") for h in held]
    amounts = [h.evaluation_amount for h in held]
    markets = _summed([listing.market if listing else None for listing in listed], amounts)
    sectors = _summed([listing.sector if listing else None for listing in listed], amounts)
    return Allocation(close.trade_date, close.time, tuple(held), weights, cash, cash_weight, markets, sectors)


def _summed(groups: Sequence[str | None], amounts: Sequence[int]) -> tuple[tuple[str | None, int], ...]:
    """The amounts summed per group (None: not known), the largest first; among equals the known groups by name, the
    unknown last. The allocation by market and by sector are both this, of the held stocks' evaluations."""
    sums: dict[str | None, int] = {}
    for group, amount in zip(groups, amounts, strict=True):
        sums[group] = sums.get(group, 0) + amount
    return tuple(sorted(sums.items(), key=lambda g: (-g[1], g[0] is None, g[0] or "")))


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
    held = {p.stock_code for p in positions if p.stock_code}
    returns = account_returns(connection, account, exchange, selection.since, selection.until)
    return account_report(
        account,
        exchange,
        days,
        positions,
        _rows(connection, POSITION_CHANGES, Change, account, exchange, since=selection.since, until=selection.until),
        freshness[0] if freshness else None,
        exchange_note=note,
        returns=returns,
        valued=valued,
        dividends=read_dividends(connection, account, dates[0], dates[-1]) if dates else [],
        index_closes=read_index_closes(connection, account, exchange, valued),
        index_before=read_index_before(connection, returns.started) if returns and returns.started else None,
        pnl=read_pnl(connection, account),
        listings=read_listings(connection, held),
        intraday=read_intraday(connection, account, exchange, newest) if newest else None,
    )


def read_dividends(connection: Connection, account: str, first: date, last: date) -> list[MonthDividends]:
    """The account's dividends booked from `first` to `last` (the dividends view's settlement dates), summed per
    month: before withholding and the tax withheld. The ledger is per account, not per exchange."""
    v = DIVIDENDS.table().c
    rows = select(v.settlement_date, v.gross, v.tax).where(
        v.account_no == account, v.settlement_date >= first, v.settlement_date <= last
    )
    months: dict[date, tuple[int, int]] = {}
    for booked, amount, tax in connection.execute(rows):
        month = booked.replace(day=1)
        gross, withheld = months.get(month, (0, 0))
        months[month] = (gross + amount, withheld + tax)
    return [MonthDividends(month, gross, tax) for month, (gross, tax) in sorted(months.items())]


def read_index_closes(
    connection: Connection, account: str, exchange: str, valued: Sequence[Valued]
) -> list[tuple[str, date, Decimal | None]]:
    """The closes of KOSPI and KOSDAQ on the account's valued days of the range (account_benchmark_daily)."""
    if not valued:
        return []
    v = ACCOUNT_BENCHMARK_DAILY.table().c
    rows = select(v.index_code, v.trade_date, v.index_close).where(
        v.account_no == account,
        v.exchange == exchange,
        v.index_code.in_(BENCHMARK_CODES),
        v.trade_date >= valued[0].trade_date,
        v.trade_date <= valued[-1].trade_date,
    )
    return [(code, day, close) for code, day, close in connection.execute(rows)]


def read_index_before(connection: Connection, first: date) -> dict[str, Decimal]:
    """KOSPI's and KOSDAQ's last close before `first` (index_daily): the base of a range that starts from nothing."""
    bars = {code: index_close_before(connection, code, first) for code in BENCHMARK_CODES}
    return {code: bar.close for code, bar in bars.items() if bar is not None}


def read_pnl(connection: Connection, account: str) -> list[StockPnl]:
    """The account's profit per stock since the ledger's start (position_pnl: per account, not per exchange)."""
    v = POSITION_PNL.table().c
    statement = select(*(v[f.name] for f in fields(StockPnl))).where(v.account_no == account)
    return [StockPnl(*row) for row in connection.execute(statement)]


def read_listings(connection: Connection, codes: set[str]) -> dict[str, Listing]:
    """The market and sector instruments gives each of `codes` (a code it lacks is absent; a blank sector is None)."""
    if not codes:
        return {}
    rows = select(Instrument.stock_code, Instrument.market, Instrument.sector).where(
        Instrument.stock_code.in_(sorted(codes))
    )
    return {
        code: Listing(market, sector if sector and sector.strip() else None)
        for code, market, sector in connection.execute(rows)
    }


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
