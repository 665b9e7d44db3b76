"""The seeded market's daily bars: each index's and each stock's open, high, low, close and volume on a weekday, as
ka20006 (×100 index levels) and ka10081 (won) answer them.

Pure and seeded: a series walks one step a weekday from ORIGIN, so that a day's bar is the same on every run and in
any order of asking. A stock's close can be given instead (`close`): a history's price of the day, so that the bar
agrees with what the snapshots show at the day's close; its open, high and low are then made around it.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Protocol

from etl.sim.stocks import ALL_STOCKS, INDEXES, tick

ORIGIN = date(2024, 1, 1)  # a Monday: every series' first weekday
BASE_PRICES = {code: price for code, _, price in ALL_STOCKS}
_GROWING = threading.Lock()  # the simulator answers each connection on its own thread: one walk grows at a time


class ChartMarket(Protocol):
    """A market the simulator plays (the demo's), which the charts answer from."""

    def trades_on(self, day: date) -> bool:
        """Whether it traded on `day` (no bar on a day it did not)."""

    def close(self, code: str, day: date) -> int | None:
        """`code`'s close on `day`: what the snapshots show at the day's last slot; None when it did not trade."""


@dataclass(frozen=True)
class Bar:
    """One day's bar: prices (won, or index points × 100) and volume."""

    day: date
    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int  # 거래대금, in millions of won


def weekdays_back(last: date, count: int) -> list[date]:
    """Up to `count` weekdays from `last` back, newest first, none before ORIGIN."""
    days: list[date] = []
    day = last
    while len(days) < count and day >= ORIGIN:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


def _step(day: date) -> int:
    """The weekday's number from ORIGIN."""
    weeks, extra = divmod((day - ORIGIN).days, 7)
    return weeks * 5 + min(extra, 4)


@lru_cache(maxsize=64)
def _walk(seed: int, code: str, base: int, stepped: bool) -> list[int]:
    return [base]  # grown by _grown on demand (deterministically: an evicted walk grows back the same)


def _level(seed: int, code: str, base: int, day: date, stepped: bool) -> int:
    with _GROWING:
        return _grown(_walk(seed, code, base, stepped), seed, code, _step(day), stepped)


def _grown(walk: list[int], seed: int, code: str, step: int, stepped: bool) -> int:
    while len(walk) <= step:
        # Each step draws from its own seeded generator: a value never depends on how far the walk had grown.
        rng = random.Random(f"{seed}:{code}:{len(walk)}")
        last = walk[-1]
        moved = max(1, last + last * rng.randint(-150, 150) // 10000)
        walk.append(_on_tick(moved) if stepped else moved)
    return walk[step]


def _on_tick(price: int) -> int:
    return max(tick(price), (price + tick(price) // 2) // tick(price) * tick(price))


def _around(seed: int, code: str, day: date, close: int, stepped: bool) -> Bar:
    """A bar closing at `close`: its open, high and low a few steps around it, its volume seeded."""
    rng = random.Random(f"{seed}:{code}:{day}")
    step = tick(close) if stepped else max(1, close // 400)
    open_ = max(step, close + rng.randint(-4, 4) * step)
    high = max(open_, close) + rng.randint(0, 3) * step
    low = max(step, min(open_, close) - rng.randint(0, 3) * step)
    volume = rng.randint(100_000, 9_000_000)
    # 거래대금 in millions of won: a stock's volume × its close; an index's, as KOSPI's sample has it (~27 a unit).
    value = volume * close // 1_000_000 if stepped else volume * 27
    return Bar(day, open_, high, low, close, volume, value)


def index_bar(seed: int, code: str, day: date) -> Bar:
    """Index `code`'s bar on weekday `day`, its levels × 100."""
    close = _level(seed, code, INDEXES[code][1], day, stepped=False)
    return _around(seed, code, day, close, stepped=False)


def stock_bar(seed: int, code: str, day: date, close: int | None = None) -> Bar:
    """Stock `code`'s unadjusted bar on weekday `day`, closing at `close` when given."""
    if close is None:
        close = _level(seed, code, BASE_PRICES[code], day, stepped=True)
    return _around(seed, code, day, close, stepped=True)
