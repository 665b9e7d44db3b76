"""The account against an index: the index's return from the base day, the excess, beta and correlation over the
days both have, each pair over the same interval."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from etl.read.benchmark import MIN_COMMON_DAYS, BenchmarkDay, compare

START = date(2026, 3, 2)


def days_of(closes: list[str], account: list[float | None]) -> list[BenchmarkDay]:
    """Consecutive days: the index's closes, and the account's daily returns (the first day's is the base's)."""
    return [
        BenchmarkDay(START + timedelta(days=i), r, Decimal(c) if c else None)
        for i, (c, r) in enumerate(zip(closes, account, strict=True))
    ]


def growth(returns: list[float | None]) -> float:
    return math.prod(1 + r for r in returns if r is not None) - 1


def test_the_index_return_runs_from_the_base_day_and_the_excess_is_the_difference() -> None:
    days = days_of(["2500.00", "2550.00", "2525.00"], [None, 0.03, 0.01])
    b = compare("001", days, twr=growth([0.03, 0.01]))
    assert b.index_return == pytest.approx(0.01, abs=1e-15)  # 2525 / 2500 − 1
    assert b.excess == pytest.approx(1.03 * 1.01 - 1 - 0.01, abs=1e-15)
    # Two pairs: too few for a beta.
    assert (b.common_days, b.beta, b.correlation, b.problem) == (2, None, None, None)


def test_an_account_moving_half_the_index_plus_a_drift_has_beta_one_half_and_correlation_one() -> None:
    closes = [Decimal("2000.00")]
    index_returns = [((-1) ** i) * (0.004 + 0.0007 * (i % 5)) for i in range(MIN_COMMON_DAYS + 5)]
    for r in index_returns:  # closes rounded to the index's 0.01 as Kiwoom sends them
        closes.append((closes[-1] * Decimal(1 + r)).quantize(Decimal("0.01")))
    actual = [float(b / a) - 1 for a, b in zip(closes, closes[1:], strict=False)]
    account: list[float | None] = [None, *(0.5 * r + 0.0002 for r in actual)]
    b = compare("001", days_of([str(c) for c in closes], account), twr=growth(account))
    assert b.common_days == MIN_COMMON_DAYS + 5
    assert b.beta == pytest.approx(0.5, abs=1e-12) and b.correlation == pytest.approx(1.0, abs=1e-12)


def test_a_day_the_index_has_no_bar_pairs_nothing_and_a_missing_end_close_is_said() -> None:
    closes = ["1000.00", "1010.00", "", "1030.00"]
    days = days_of(closes, [None, 0.01, 0.02, 0.01])
    b = compare("101", days, twr=growth([0.01, 0.02, 0.01]))
    assert b.common_days == 1  # day 2 has no close; day 3's index return would span two of the account's days
    assert b.index_return == pytest.approx(0.03, abs=1e-15)
    missing = compare("101", days[:3], twr=0.0)
    assert missing.index_return is None and missing.excess is None
    gap = START + timedelta(days=2)
    assert missing.problem == f"index 101 has no close on {gap}: load it with `kiwoom-etl backfill`"


def test_twenty_pairs_are_needed_for_beta_and_correlation() -> None:
    n = MIN_COMMON_DAYS - 1
    closes = [str(Decimal(1000 + 10 * i) + Decimal("0.25") * (i % 3)) for i in range(n + 1)]
    account: list[float | None] = [None, *(0.001 * (i % 4) for i in range(n))]
    short = compare("001", days_of(closes, account), twr=growth(account))
    assert short.common_days == n and short.beta is None and short.correlation is None
