"""The market data: the instrument master refreshed now (every market list, then the codes the accounts held or
traded that no list had, asked alone; or one code), and the daily bars of a range (the benchmark indexes and every
stock held or traded). The command line, the daemon and the demo share these.

None of it is an account's: its runs have no account_no and ask with the first configured account's app key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from etl.apis import INDEX_DAILY, INSTRUMENTS, STOCK_DAILY
from etl.clock import utc_now
from etl.jobs.job import Job
from etl.jobs.market import IndexDailyJob, InstrumentsJob, SingleInstrumentsJob, StockDailyJob
from etl.jobs.market import MarketResult as MarketResult
from etl.kiwoom.fetcher import Fetcher
from etl.settings import Settings
from etl.store.statistics import analyze

log = logging.getLogger(__name__)


class MarketJobs(Job):
    """The market jobs on one fetcher; a daemon keeps them from day to day (they remember, for the process, a server
    that does not offer their API)."""

    def _prepare(self) -> None:
        settings, engine, fetcher, clock, stop = self.settings, self.engine, self.fetcher, self.clock, self.stop
        self.lists = InstrumentsJob(settings, engine, fetcher, clock=clock, stop=stop)
        self.singles = SingleInstrumentsJob(settings, engine, fetcher, clock=clock, stop=stop)
        self.indexes = IndexDailyJob(settings, engine, fetcher, clock=clock, stop=stop)
        self.stocks = StockDailyJob(settings, engine, fetcher, clock=clock, stop=stop)


@dataclass(frozen=True)
class Instruments:
    """What a refresh of the instrument master did: the lists' run (none when one code was asked) and the run of
    the codes asked alone (none when there were none)."""

    lists: tuple[MarketResult, ...]
    singles: tuple[MarketResult, ...]

    @property
    def results(self) -> tuple[MarketResult, ...]:
        return (*self.lists, *self.singles)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def refresh_instruments(
    jobs: MarketJobs,
    *,
    codes: Sequence[str] | None = None,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
) -> Instruments:
    """Every market list (ka10099), then ka10100 for each code the accounts held or traded that no list had; with
    `codes`, ka10100 for those codes only. A `scheduled_for` claims the day's lists run."""
    if codes:
        return Instruments((), tuple(jobs.singles.run(trigger=trigger, codes=codes)))
    lists = jobs.lists.run(trigger=trigger, scheduled_for=scheduled_for)
    singles = jobs.singles.run(trigger=trigger)
    analyze(jobs.engine, INSTRUMENTS.grows)
    return Instruments(tuple(lists), tuple(singles))


@dataclass(frozen=True)
class MarketData:
    """What taking the daily bars of a range did: the indexes' run and the stocks' run."""

    indexes: tuple[MarketResult, ...]
    stocks: tuple[MarketResult, ...]

    @property
    def results(self) -> tuple[MarketResult, ...]:
        return (*self.indexes, *self.stocks)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


def daily_bars(
    jobs: MarketJobs,
    since: date | None = None,
    until: date | None = None,
    *,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
) -> MarketData:
    """The bars of [since, until] (default: today) of the `[benchmarks] indexes` (ka20006) and of every stock the
    accounts held or traded (ka10081). A `scheduled_for` claims the day's runs."""
    indexes = jobs.indexes.run(trigger=trigger, scheduled_for=scheduled_for, since=since, until=until)
    stocks = jobs.stocks.run(trigger=trigger, scheduled_for=scheduled_for, since=since, until=until)
    analyze(jobs.engine, (*INDEX_DAILY.grows, *STOCK_DAILY.grows))
    return MarketData(tuple(indexes), tuple(stocks))


def instruments(
    settings: Settings,
    engine: Engine,
    *,
    codes: Sequence[str] | None = None,
    fetcher: Fetcher | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Instruments:
    """The instrument master refreshed once, now (`kiwoom-etl instruments`)."""
    settings.require_accounts()
    jobs = MarketJobs(settings, engine, fetcher, clock=clock)
    try:
        return refresh_instruments(jobs, codes=codes)
    finally:
        if fetcher is None:
            jobs.close()


def market_data(
    settings: Settings,
    engine: Engine,
    since: date | None = None,
    until: date | None = None,
    *,
    fetcher: Fetcher | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> MarketData:
    """The daily bars of [since, until] taken once, now (what `kiwoom-etl backfill` adds to its range)."""
    settings.require_accounts()
    jobs = MarketJobs(settings, engine, fetcher, clock=clock)
    try:
        return daily_bars(jobs, since, until)
    finally:
        if fetcher is None:
            jobs.close()
