"""An account against a market index over a period, for `returns --benchmark` and the report: the index's return
from the period's base day, the excess (the account's time-weighted return − the index's), and — over enough days
both have — the beta and the correlation of their daily returns.

Each day's pair is measured over the same interval: the account's daily return runs from its previous valued day,
and so does the index's (its close that day over its close on the account's previous day), so that a day the
account has no value for (a holiday of its own, a gap) never pairs one day of the account with two of the index.
Plain floating point, as the returns themselves (etl.read.returns); the closes are exact until divided.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

MIN_COMMON_DAYS = 20  # fewer pairs of daily returns say nothing of a beta or a correlation
# How the command line and the report name the indexes kiwoom-etl collects by default (ka20006's 업종코드).
INDEX_NAMES = {"001": "KOSPI", "101": "KOSDAQ", "201": "KOSPI 200"}


def index_name(code: str) -> str:
    """`KOSPI (001)`, or the code alone for an index without a name here."""
    return f"{INDEX_NAMES[code]} ({code})" if code in INDEX_NAMES else f"index {code}"


@dataclass(frozen=True)
class BenchmarkDay:
    """One valued day of the account, with the index's close that day (None: the index has no bar for it)."""

    trade_date: date
    daily_return: float | None  # the account's, from its previous valued day (account_returns_daily)
    index_close: Decimal | None


@dataclass(frozen=True)
class Benchmark:
    """The account against index `index_code` over a period; None where a figure does not exist (`problem` says
    why for the return, the beta and the correlation need MIN_COMMON_DAYS pairs)."""

    index_code: str
    index_return: float | None
    excess: float | None  # the account's TWR − index_return
    common_days: int  # days with both daily returns
    beta: float | None
    correlation: float | None
    problem: str | None = None


def compare(index_code: str, days: Sequence[BenchmarkDay], twr: float | None) -> Benchmark:
    """The account's period (`days` oldest first, the first its base; `twr` its time-weighted return) against the
    index's closes on the same days."""
    first, last = days[0], days[-1]
    index_return: float | None = None
    problem = None
    if first.index_close is None or last.index_close is None:
        missing = first.trade_date if first.index_close is None else last.trade_date
        problem = f"index {index_code} has no close on {missing}: load it with `kiwoom-etl backfill`"
    elif first.index_close <= 0:
        problem = f"index {index_code} closed at {first.index_close} on {first.trade_date}"
    else:
        index_return = float(last.index_close / first.index_close) - 1
    pairs = [
        (day.daily_return, float(day.index_close / before.index_close) - 1)
        for before, day in zip(days, days[1:], strict=False)
        if day.daily_return is not None and day.index_close is not None and before.index_close
    ]
    beta = correlation = None
    if len(pairs) >= MIN_COMMON_DAYS:
        account, index = zip(*pairs, strict=True)
        spread = statistics.variance(index)
        if spread > 0:
            beta = statistics.covariance(account, index) / spread
        if spread > 0 and statistics.variance(account) > 0:
            correlation = statistics.correlation(account, index)
    excess = None if twr is None or index_return is None else twr - index_return
    return Benchmark(index_code, index_return, excess, len(pairs), beta, correlation, problem)
