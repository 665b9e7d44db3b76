"""Returns, for the `returns` command and the report: a period's performance from the returns views,
account_returns_daily and account_flows_daily — time-weighted return (TWR), annualised TWR, money-weighted return
(XIRR), max drawdown, the best and worst day, and the dividends, fees and taxes of the period.

The period's first day with a value is its base: its close is the start value, and what happened on it (its
return, its flows, its dividends) belongs to the period before — unless it is the account's first day and its return
counts from the day's start (the first deposit into an empty account, see daily_returns): then the period starts
from nothing at that day's start, and the day's return and flows are in it, as account_returns_daily counts them.
The figures are computed here from the views' rows in plain floating point, like the views' own; the XIRR is found
by bisection on a bracket where the present value of the cash flows changes sign, and said in words when there is
none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, Engine, Row, func, select

from etl.apis.charts import IndexDaily
from etl.read.benchmark import MIN_COMMON_DAYS, Benchmark, BenchmarkDay, compare, index_name
from etl.read.views import ACCOUNT_FLOWS_DAILY, ACCOUNT_RETURNS_DAILY
from etl.store.engine import storage_errors
from etl.store.models import AccountTransaction, EtlRun, RunStatus
from etl.store.runs import accounts_with_runs, require_account
from etl.text import displayable

YEAR = 365  # days: annualised figures, and XIRR's time unit
DEFAULT_EXCHANGE = "KRX"
FALLBACK_EXCHANGE = "NXT"
_LOWEST_RATE = -0.999999  # XIRR's search starts just above −100 % a year
_HIGHEST_RATE = 1e6
_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Day:
    """One row of account_returns_daily."""

    trade_date: date
    equity: int  # what the returns are computed on
    external_flow: int
    daily_return: float | None
    source: str = "snapshot"  # or estimate (kt00002)


@dataclass(frozen=True)
class Flow:
    """One day of account_flows_daily: the external flow (money in > 0) and the return items."""

    trade_date: date
    external_flow: int
    dividends: int
    fees: int
    taxes: int


@dataclass(frozen=True)
class Performance:
    """A period's figures; None where a figure does not exist (see `xirr_problem` for the XIRR)."""

    first: date
    last: date
    days_with_values: int
    start_value: int
    end_value: int
    net_flows: int
    twr: float | None
    annualised_twr: float | None  # only for periods of YEAR days or more
    xirr: float | None  # a year
    xirr_problem: str | None
    max_drawdown: float  # ≤ 0
    peak: date
    trough: date
    best: tuple[date, float] | None
    worst: tuple[date, float] | None
    dividends: int
    fees: int
    taxes: int
    from_start: bool = False  # the first day's own return and flows are in the period (it starts from nothing)

    @property
    def days(self) -> int:
        return (self.last - self.first).days

    @property
    def xirr_over_period(self) -> float | None:
        """The XIRR as a return over the period itself."""
        return None if self.xirr is None else (1 + self.xirr) ** (self.days / YEAR) - 1


def performance(days: Sequence[Day], flows: Sequence[Flow], *, start: date | None = None) -> Performance:
    """The figures of `days` (oldest first, at least two) with the `flows` dated inside the period. With `start`,
    the period starts from nothing at the start of that day (the first deposit's: the first day with a value or
    earlier), and the first valued day's return and the flows dated up to it are in it; the money-weighted return
    dates each flow on its own day, so a deposit before the first value is not moved forward to it."""
    if len(days) < 2:
        raise ValueError("a period needs two days with a value: a start and an end")
    base, *rest = days
    from_start = start is not None
    first, last = min(start or base.trade_date, base.trade_date), days[-1].trade_date
    index = peak = 1.0
    running_peak = peak_day = trough_day = first
    drawdown = 0.0
    counted = []
    for day in days if from_start else rest:
        if day.daily_return is not None:
            index *= 1 + day.daily_return
            counted.append((day.trade_date, day.daily_return))
        if index > peak:
            peak, running_peak = index, day.trade_date
        elif index / peak - 1 < drawdown:
            drawdown, peak_day, trough_day = index / peak - 1, running_peak, day.trade_date
    inside = [f for f in flows if (from_start or first < f.trade_date) and f.trade_date <= last]
    start_value = 0 if from_start else base.equity
    twr = index - 1 if counted else None
    years = (last - first).days / YEAR
    paid = ((max(f.trade_date, first), -float(f.external_flow)) for f in inside if f.external_flow)
    cash = [(first, -float(start_value)), *paid]
    cash.append((last, float(days[-1].equity)))
    rate, problem = xirr(cash)
    return Performance(
        first=first,
        last=last,
        days_with_values=len(days),
        start_value=start_value,
        end_value=days[-1].equity,
        net_flows=sum(f.external_flow for f in inside),
        twr=twr,
        annualised_twr=(1 + twr) ** (1 / years) - 1 if twr is not None and years >= 1 and twr > -1 else None,
        xirr=rate,
        xirr_problem=problem,
        max_drawdown=drawdown,
        peak=peak_day,
        trough=trough_day,
        best=max(counted, key=lambda item: item[1]) if counted else None,
        worst=min(counted, key=lambda item: item[1]) if counted else None,
        dividends=sum(f.dividends for f in inside),
        fees=sum(f.fees for f in inside),
        taxes=sum(f.taxes for f in inside),
        from_start=from_start,
    )


def xirr(cash: Sequence[tuple[date, float]]) -> tuple[float | None, str | None]:
    """The yearly rate at which the cash flows' present value is 0 (money paid in < 0, taken out > 0), or None and
    why there is none."""
    amounts = [amount for _, amount in cash if amount]
    if not any(a > 0 for a in amounts) or not any(a < 0 for a in amounts):
        return None, "no money-weighted return: the cash flows all go one way (nothing invested, or nothing left)"
    start = cash[0][0]
    times = [((day - start).days / YEAR, amount) for day, amount in cash]

    def value(rate: float) -> float:
        return math.fsum(amount / math.pow(1 + rate, t) for t, amount in times)

    bracket = _bracket(value)
    if bracket is None:
        return None, "no money-weighted return: no rate above −100 % a year makes the cash flows' value 0"
    return _bisect(value, *bracket), None


def _bracket(value: Callable[[float], float]) -> tuple[float, float] | None:
    """Two rates around a sign change of `value`, searched outward from 0."""
    rates = [_LOWEST_RATE, *(-1 + 10 ** (k / 4) for k in range(-24, 25)), _HIGHEST_RATE]
    rates = sorted({r for r in rates if _LOWEST_RATE <= r <= _HIGHEST_RATE})
    signs = []
    for rate in rates:
        try:
            signs.append((rate, value(rate)))
        except OverflowError:
            continue
    around_zero = sorted(range(len(signs) - 1), key=lambda i: abs(signs[i][0]))
    for i in around_zero:
        (low, at_low), (high, at_high) = signs[i], signs[i + 1]
        if at_low == 0:
            return low, low
        if math.copysign(1, at_low) != math.copysign(1, at_high):
            return low, high
    return None


def _bisect(value: Callable[[float], float], low: float, high: float) -> float:
    at_low = value(low)
    while high - low > _TOLERANCE * max(1.0, abs(low)):
        middle = (low + high) / 2
        at_middle = value(middle)
        if at_middle == 0:
            return middle
        if math.copysign(1, at_middle) == math.copysign(1, at_low):
            low, at_low = middle, at_middle
        else:
            high = middle
    return (low + high) / 2


def choose_exchange(asked: str | None, present: set[str]) -> tuple[str, str | None]:
    """The exchange shown (the returns, a report section) and, when it is the fallback, the sentence that says why:
    KRX, or NXT for an account with no KRX snapshot; KRX and NXT are never added together."""
    if asked:
        return asked, None
    if DEFAULT_EXCHANGE in present or FALLBACK_EXCHANGE not in present:
        return DEFAULT_EXCHANGE, None
    return FALLBACK_EXCHANGE, f"{FALLBACK_EXCHANGE} shown: this account has no {DEFAULT_EXCHANGE} snapshot."


@dataclass(frozen=True)
class AccountReturns:
    """One account × exchange's figures over the asked period, or why there are none."""

    account_no: str
    exchange: str
    performance: Performance | None
    problem: str | None = None
    note: str | None = None  # which exchange is shown, when it is the fallback
    has_ledger: bool = True  # False: no ledger line, so a deposit would count as return
    unvalued_transfers: int = 0  # transfers in the period with no close price: counted as 0 in the flows
    days: tuple[Day, ...] = ()  # the period's days with a value, oldest first
    benchmark: Benchmark | None = None  # against the index asked for
    # A period from nothing (performance.from_start): the day whose start is its base, the first deposit's booking
    # day when it comes before the first valued day (period_start); None otherwise.
    started: date | None = None


def read_returns(
    engine: Engine,
    *,
    account: str | None = None,
    exchange: str | None = None,
    since: date | None = None,
    until: date | None = None,
    benchmark: str | None = None,
) -> list[AccountReturns]:
    """The figures of each account with values (or `account`), on `exchange` (default: KRX, else NXT), against the
    index `benchmark` (index_daily.index_code) when asked."""
    with storage_errors(engine, "reading the returns"), engine.connect() as connection:
        if account is not None:
            require_account(connection, account)
        found = (
            account_returns(connection, name, exchange, since, until, benchmark)
            for name in ([account] if account else accounts_with_runs(connection))
        )
        return [one for one in found if one is not None]


def account_returns(
    connection: Connection,
    account: str,
    exchange: str | None,
    since: date | None,
    until: date | None,
    benchmark: str | None = None,
) -> AccountReturns | None:
    """One account's figures over [since, until] from the views; None when it has no day with a value at all (a
    ledger without snapshots)."""
    returns, flows = ACCOUNT_RETURNS_DAILY.table(), ACCOUNT_FLOWS_DAILY.table()
    mine = returns.c.account_no == account
    present = set(connection.execute(select(returns.c.exchange).where(mine).distinct()).scalars())
    if not present:
        return None
    shown, note = choose_exchange(exchange, present)
    # A ledger that was read and holds no line is a ledger without flows; one never read leaves every deposit a gain.
    read = select(EtlRun.id).where(
        EtlRun.api_id == "kt00015", EtlRun.account_no == account, EtlRun.status == RunStatus.SUCCESS
    )
    lines = select(AccountTransaction.id).where(AccountTransaction.account_no == account)
    has_ledger = any(connection.execute(q.limit(1)).first() is not None for q in (read, lines))
    query = select(
        returns.c.trade_date, returns.c.equity, returns.c.external_flow, returns.c.daily_return, returns.c.source
    ).where(mine, returns.c.exchange == shown)
    if since is not None:
        query = query.where(returns.c.trade_date >= since)
    if until is not None:
        query = query.where(returns.c.trade_date <= until)
    days = tuple(Day(*row) for row in connection.execute(query.order_by(returns.c.trade_date)))
    if len(days) < 2:
        first, last = connection.execute(
            select(func.min(returns.c.trade_date), func.max(returns.c.trade_date)).where(
                mine, returns.c.exchange == shown
            )
        ).one()
        problem = (
            f"{len(days)} day(s) with a value in the period: a return needs a start and an end (this account's"
            f" {shown} values run from {first} to {last})"
        )
        return AccountReturns(account, shown, None, problem, note, has_ledger, days=days)
    # The account's first day whose return counts from its start (only such a first day has one): the period
    # starts from nothing, as account_returns_daily's twr_cumulative does; a later base's return is the period's before.
    earlier = select(returns.c.trade_date).where(
        mine, returns.c.exchange == shown, returns.c.trade_date < days[0].trade_date
    )
    from_start = days[0].daily_return is not None and connection.execute(earlier.limit(1)).first() is None
    moved = select(flows.c.trade_date, flows.c.external_flow, flows.c.dividends, flows.c.fees, flows.c.taxes).where(
        flows.c.account_no == account,
        flows.c.trade_date <= days[-1].trade_date,
    )
    if not from_start:
        moved = moved.where(flows.c.trade_date > days[0].trade_date)
    unvalued = connection.execute(moved.with_only_columns(func.sum(flows.c.unvalued_transfers))).scalar()
    start = period_start(connection, account, days[0].trade_date) if from_start else None
    measured = performance(days, [Flow(*row) for row in connection.execute(moved)], start=start)
    against = None if benchmark is None else _against(connection, benchmark, days, measured.twr, start)
    return AccountReturns(
        account, shown, measured, None, note, has_ledger, int(unvalued or 0), days, against, started=start
    )


def period_start(connection: Connection, account: str, first: date) -> date:
    """The day a period starting from nothing starts: its first valued day `first`, or the account's first booking
    day when earlier (the first deposit, whose flows join the first valued day and count from its own day's start)."""
    booked = connection.execute(
        select(func.min(AccountTransaction.settlement_date)).where(AccountTransaction.account_no == account)
    ).scalar()
    return first if booked is None else min(first, booked)


def _against(
    connection: Connection, code: str, days: Sequence[Day], twr: float | None, start: date | None = None
) -> Benchmark:
    """The period's days against index `code`'s closes on the same days (index_daily); `start` (a period from
    nothing): the index's base is its last close before that day, as the account's is that day's start."""
    closes = dict(
        connection.execute(
            select(IndexDaily.trade_date, IndexDaily.close).where(
                IndexDaily.index_code == code, IndexDaily.trade_date.between(days[0].trade_date, days[-1].trade_date)
            )
        ).all()
    )
    if not closes:
        problem = (
            f"no bar in index_daily from {days[0].trade_date} to {days[-1].trade_date}: add {code} to [benchmarks]"
            " indexes and run `kiwoom-etl backfill` over the period"
        )
        failed = _last_failure(connection, code)
        if failed is not None:  # asked already, and refused: the same advice again would only send them round
            problem += f"; its last ka20006 run failed: {displayable(failed)}"
        return Benchmark(code, None, None, 0, None, None, problem)
    paired = [
        BenchmarkDay(d.trade_date, d.daily_return, _standing(connection, code, closes, d.trade_date)) for d in days
    ]
    if start is not None:
        before = index_close_before(connection, code, start)
        day_before = start - timedelta(days=1)
        paired.insert(
            0, BenchmarkDay(before.trade_date, None, before.close) if before else BenchmarkDay(day_before, None, None)
        )
    return compare(code, paired, twr)


def _last_failure(connection: Connection, code: str) -> str | None:
    """The error of the newest ka20006 run if it failed for index `code`: its error names each code it failed for at
    the start of that code's part ("001: …", "001 page 2: …", after "; " or "N page(s) refused: "), and a code
    elsewhere in the text (a next-key, a date) is not one it failed for."""
    newest = connection.execute(
        select(EtlRun.status, EtlRun.error).where(EtlRun.api_id == "ka20006").order_by(EtlRun.id.desc()).limit(1)
    ).first()
    if newest is None or newest.status != RunStatus.FAILED:
        return None
    named = re.compile(rf"(?:^|; |page\(s\) refused: ){re.escape(code)}(?::| page \d)")
    return str(newest.error) if named.search(newest.error or "") else None


def _standing(connection: Connection, code: str, closes: dict[date, Decimal], day: date) -> Decimal | None:
    """Index `code`'s level on `day`: its close, or on a Saturday or Sunday (a snapshot taken with --all-hours),
    when no index trades, its last close before; None for a weekday without a bar (not loaded yet)."""
    if day in closes or day.weekday() < 5:
        return closes.get(day)
    before = index_close_before(connection, code, day)
    return None if before is None else before.close


def index_close_before(connection: Connection, code: str, day: date) -> Row[date, Decimal] | None:
    """Index `code`'s last bar before `day` in index_daily, as (trade_date, close); None when it has none. The base
    of a period that starts from nothing (the first deposit counting from its day's start)."""
    return connection.execute(
        select(IndexDaily.trade_date, IndexDaily.close)
        .where(IndexDaily.index_code == code, IndexDaily.trade_date < day)
        .order_by(IndexDaily.trade_date.desc())
        .limit(1)
    ).first()


_LABEL = 25  # the width of a figure's label


def _line(label: str, value: str) -> str:
    return f"  {label:<{_LABEL}}{value}"


def _percent(value: float) -> str:
    return f"{value * 100:+.2f} %"


def _won(value: int) -> str:
    return f"{value:,} KRW"


def render(returns: AccountReturns) -> str:
    """One account's figures as the command line prints them."""
    p, account = returns.performance, displayable(returns.account_no)
    if p is None:
        return f"{account} · {returns.exchange}: {returns.problem}."
    lines = [
        f"{account} · {returns.exchange} · {p.first} – {p.last} ({p.days} days, {p.days_with_values} with"
        + (
            " a value; from the first's start, the account's first deposit)"
            if p.from_start
            else " a value; the first is the base)"
        ),
    ]
    if returns.note:
        lines.append(f"  {returns.note}")
    if returns.unvalued_transfers:
        lines.append(
            f"  {returns.unvalued_transfers} securities transfer(s) on days without a snapshot have no close price:"
            " counted as 0 in the flows, so their value shows as return (see account_flows_daily)."
        )
    if not returns.has_ledger:
        lines.append(
            "  No ledger has been read for this account: every deposit counts as return here. Run `kiwoom-etl ledger`."
        )
    unread = "— (no ledger read)"  # not 0: the ledger that would say it was never read
    lines += [
        _line("start equity", _won(p.start_value)),
        _line("end equity", _won(p.end_value)),
        _line(
            "net external flows",
            f"{p.net_flows:+,} KRW (deposits − withdrawals ± transfers)" if returns.has_ledger else unread,
        ),
        _line("time-weighted return", "—" if p.twr is None else _percent(p.twr)),
        _line(
            "annualised TWR",
            _percent(p.annualised_twr) if p.annualised_twr is not None else f"— (periods of {YEAR} days or more)",
        ),
        _line(
            "money-weighted (XIRR)",
            f"{_percent(p.xirr)} a year ({_percent(p.xirr_over_period or 0)} over the period)"
            if p.xirr is not None
            else str(p.xirr_problem),
        ),
        _line(
            "max drawdown",
            f"{_percent(p.max_drawdown)} ({p.peak} → {p.trough})"
            if p.max_drawdown < 0
            else "none (no day below a peak)",
        ),
        _line("best day", f"{_percent(p.best[1])} ({p.best[0]})" if p.best else "—"),
        _line("worst day", f"{_percent(p.worst[1])} ({p.worst[0]})" if p.worst else "—"),
        _line("dividends", _won(p.dividends) if returns.has_ledger else unread),
        _line("fees", _won(p.fees) if returns.has_ledger else unread),
        _line("taxes", _won(p.taxes) if returns.has_ledger else unread),
    ]
    if returns.benchmark is not None:
        lines += _benchmark_lines(returns.benchmark)
    return "\n".join(lines)


def _benchmark_lines(b: Benchmark) -> list[str]:
    name = index_name(b.index_code)
    if b.index_return is None:
        return [_line(name, str(b.problem))]
    if b.beta is None:
        spread = f"— ({b.common_days} common day(s); {MIN_COMMON_DAYS} needed)"
    else:
        spread = f"{b.beta:.2f} (over {b.common_days} common days)"
    return [
        _line(f"{name} return", _percent(b.index_return)),
        _line("excess over it", "—" if b.excess is None else _percent(b.excess)),
        _line("beta", spread),
        _line("correlation", "—" if b.correlation is None else f"{b.correlation:.2f}"),
    ]
