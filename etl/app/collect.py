"""Collecting from Kiwoom: a snapshot of every account now, the account's day (its ledger and Kiwoom's realised
profit of the last days, then the day's totals once the day is over) and a backfill of a range (the daily estimates,
then the ledger and the realised profit of the same days); and the rows that record a slot that did not run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from etl.apis import ESTIMATES, LEDGER, REALIZED
from etl.app.market import MarketData, market_data
from etl.clock import KrxCalendar, krx_calendar, utc_now
from etl.errors import DatabaseUnavailable
from etl.jobs.backfill import EstimatesJob
from etl.jobs.backfill import EstimatesResult as EstimatesResult
from etl.jobs.job import Job
from etl.jobs.ledger import LedgerJob
from etl.jobs.ledger import LedgerResult as LedgerResult
from etl.jobs.realized import RealizedJob
from etl.jobs.realized import RealizedResult as RealizedResult
from etl.jobs.snapshot import SPOOLED, Snapshotter
from etl.jobs.snapshot import SnapshotResult as SnapshotResult
from etl.jobs.totals import DayTotalsJob, not_due
from etl.jobs.totals import TotalsResult as TotalsResult
from etl.kiwoom.fetcher import Fetcher
from etl.settings import Account, Settings
from etl.store.estimates import first_snapshot_day
from etl.store.health import require_usable
from etl.store.statistics import analyze

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshots:
    """What one snapshot of every account × exchange did."""

    results: tuple[SnapshotResult, ...]
    flushed: int  # spooled snapshots loaded first
    spool: Path  # where the snapshots the database could not take wait
    unusable: str | None  # why the database could not take them, when it could not

    @property
    def loaded(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def spooled(self) -> int:
        return sum(r.status == SPOOLED for r in self.results)


def take_snapshots(
    settings: Settings,
    engine: Engine,
    *,
    fetcher: Fetcher | None = None,
    clock: Callable[[], datetime] = utc_now,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
    logger: logging.Logger = log,
) -> Snapshots:
    """The spool first, then every configured account × exchange; a database that cannot be used is never written to:
    what is fetched is spooled, and `logger` (the caller's) warns of it first. A `fetcher` passed in (one kept from
    slot to slot) is left open."""
    unusable = None
    try:
        require_usable(engine)
    except DatabaseUnavailable as exc:
        unusable = str(exc)
        logger.warning("%s: fetching anyway, snapshots will be spooled", exc)
    snapshotter = Snapshotter(settings, engine, fetcher, clock=clock)
    try:
        results = snapshotter.take(trigger=trigger, scheduled_for=scheduled_for, unusable=unusable)
    finally:
        if fetcher is None:
            snapshotter.close()
    why = unusable or next((r.error for r in results if r.status == SPOOLED), None)
    return Snapshots(tuple(results), snapshotter.last_flush.handled, snapshotter.spool.directory, why)


class DayJobs(Job):
    """The ledger's, the realised profit's and the day totals' jobs on one fetcher; a daemon keeps them from day to
    day (they remember, for the process, a server or an account that does not offer their API)."""

    def _prepare(self) -> None:
        self.ledger = LedgerJob(self.settings, self.engine, self.fetcher, clock=self.clock, stop=self.stop)
        self.realized = RealizedJob(self.settings, self.engine, self.fetcher, clock=self.clock, stop=self.stop)
        self.totals = DayTotalsJob(self.settings, self.engine, self.fetcher, clock=self.clock, stop=self.stop)


@dataclass(frozen=True)
class AccountDay:
    """What the account's day did: its ledger runs, its totals runs unless they were not due, and its runs of
    Kiwoom's realised profit."""

    ledger: tuple[LedgerResult, ...]
    totals: tuple[TotalsResult, ...]
    not_due: str | None  # why the day's totals were not taken; None when they were
    realized: tuple[RealizedResult, ...] = ()

    @property
    def added(self) -> int:
        return sum(sum(r.load.added.values()) for r in self.ledger)

    @property
    def other(self) -> int:
        """New lines no rule of the mapping knows."""
        return sum(r.load.added["other"] for r in self.ledger)

    @property
    def ok(self) -> bool:
        return not self.other and all(r.ok for r in [*self.ledger, *self.realized, *self.totals])


def run_day(
    jobs: DayJobs,
    calendar: KrxCalendar,
    *,
    since: date | None = None,
    force_totals: bool = False,
    trigger: str = "manual",
    ledger_slot: datetime | None = None,
    totals_slot: datetime | None = None,
    contain: logging.Logger | None = None,
) -> AccountDay:
    """Every account's ledger (kt00015) from `since` (else from the newest line loaded), and Kiwoom's realised profit
    (ka10074) from `since` (else over the ledger's lookback); then, after the close of a KRX trading day (`[ledger]
    at`) or when `force_totals`, the day's totals (kt00017).

    A slot claims the run in etl_runs, so that replicas take it once. With `contain` (the daemon's logger), a bug in
    one half is logged there and the other half still runs; else it is raised.
    """
    try:
        ledger = jobs.ledger.run(trigger=trigger, scheduled_for=ledger_slot, since=since)
    except Exception:
        if contain is None:
            raise
        contain.exception("the ledger run failed")
        ledger = []
    try:
        realized = jobs.realized.run(trigger=trigger, scheduled_for=ledger_slot, since=since)
    except Exception:
        if contain is None:
            raise
        contain.exception("the realised profit run failed")
        realized = []
    totals = day_totals(jobs, calendar, force=force_totals, trigger=trigger, slot=totals_slot, contain=contain)
    return AccountDay(tuple(ledger), totals.results, totals.not_due, tuple(realized))


@dataclass(frozen=True)
class DayTotals:
    """What taking the day's totals did: its runs, or why they were not due."""

    results: tuple[TotalsResult, ...]
    not_due: str | None  # why the day's totals were not taken; None when they were


def day_totals(
    jobs: DayJobs,
    calendar: KrxCalendar,
    *,
    force: bool = False,
    trigger: str = "manual",
    slot: datetime | None = None,
    contain: logging.Logger | None = None,
) -> DayTotals:
    """The day's totals (kt00017) of every account, after the close of a KRX trading day (`[ledger] at`) or when
    `force`; with `contain` (the daemon's logger), a bug is logged there, else raised."""
    why = None if force else not_due(jobs.settings, jobs.clock(), calendar)
    totals: list[TotalsResult] = []
    if why is not None:
        (contain or log).debug("%s", why)
    else:
        try:
            totals = jobs.totals.run(trigger=trigger, scheduled_for=slot)
        except Exception:
            if contain is None:
                raise
            contain.exception("the day totals run failed")
    return DayTotals(tuple(totals), why)


def account_day(
    settings: Settings, engine: Engine, *, since: date | None = None, force_totals: bool = False
) -> AccountDay:
    """The account's day run once, now, on the KRX calendar with the config's [calendar] corrections."""
    settings.require_accounts()
    jobs = DayJobs(settings, engine)
    try:
        return run_day(jobs, krx_calendar(settings.calendar), since=since, force_totals=force_totals)
    finally:
        jobs.close()


@dataclass(frozen=True)
class Backfilled:
    """What a backfill did: the daily estimates, the ledger, Kiwoom's realised profit, and each estimated account's
    first KRX snapshot."""

    estimates: tuple[EstimatesResult, ...]
    ledger: tuple[LedgerResult, ...]
    first_snapshots: Mapping[str, date | None]
    market: MarketData  # the index and stock daily bars of the range
    realized: tuple[RealizedResult, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.ok for r in [*self.estimates, *self.ledger, *self.realized]) and self.market.ok


def backfill(
    settings: Settings,
    engine: Engine,
    since: date,
    until: date | None = None,
    *,
    fetcher: Fetcher | None = None,
    clock: Callable[[], datetime] = utc_now,
    estimated: Sequence[Account] | None = None,
) -> Backfilled:
    """The days before the daemon started: kt00002's daily estimates from `since` to `until` (default: today) of
    the `estimated` accounts (default: every configured one), then the ledger of every account from `since` and
    Kiwoom's daily realised profit (ka10074) of the same days, then the range's index and stock daily bars
    (etl.app.market)."""
    settings.require_accounts()
    only = settings if estimated is None else settings.with_overrides(accounts=tuple(estimated))
    job = EstimatesJob(only, engine, fetcher, clock=clock)
    try:
        estimates = job.run(since=since, until=until)
        ledger = LedgerJob(settings, engine, job.fetcher, clock=clock).run(since=since)
        # Over the ledger's days (from `since` to today), so that realized_checks has both for every day.
        realized = RealizedJob(settings, engine, job.fetcher, clock=clock).run(since=since)
        market = market_data(settings, engine, since, until, fetcher=job.fetcher, clock=clock)
    finally:
        if fetcher is None:
            job.fetcher.close()
    analyze(engine, (*ESTIMATES.grows, *LEDGER.grows, *REALIZED.grows))
    with engine.connect() as connection:
        firsts = {r.account: first_snapshot_day(connection, r.account) for r in estimates}
    return Backfilled(tuple(estimates), tuple(ledger), firsts, market, tuple(realized))
