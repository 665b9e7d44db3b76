"""The daemon: an APScheduler BlockingScheduler that takes every due slot's snapshots, and stops gracefully.

Each fire time of the schedule runs `Daemon.tick`: it claims the slot for each due account × exchange, fans the
accounts out to a bounded pool of threads (pacing per app key and api-id is shared by all of them), and records
slots that passed without a snapshot as `missed` and holiday slots as `skipped`.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from etl.app.collect import DayJobs, run_day
from etl.app.market import MarketJobs, MarketResult, daily_bars, refresh_instruments
from etl.app.realtime import Realtime
from etl.app.status import configured_pairs
from etl.clock import utc_now, utc_text
from etl.daemon.metrics import Metrics
from etl.errors import ConfigError, DatabaseUnavailable, StorageError
from etl.jobs.account_job import AccountResult
from etl.jobs.ledger import LedgerResult
from etl.jobs.snapshot import SnapshotResult, Snapshotter
from etl.kiwoom.fetcher import Fetcher
from etl.read.status import pair_statuses
from etl.schedule import Due, Schedule
from etl.settings import Account, Settings
from etl.store.health import require_usable
from etl.store.models import Reason, RunStatus
from etl.store.runs import SlotClaims, claim_slot, close_abandoned, record_unrun, unrun_rows

log = logging.getLogger(__name__)

CACHE_HEALTH = timedelta(seconds=30)

LOOKBACK = timedelta(hours=24)  # how far back a restarted daemon records the slots it missed

# The fan-out is planned so that a slot's requests, each taking as long as its app key's pacing allows at most
# (1 / rate_per_second), end within this share of the interval; an API answering faster ends the slot sooner.
SLOT_SHARE = 0.1
MIN_WORKERS = 4  # so that a few slow accounts (a timeout, a hung answer) never hold up the others
MAX_WORKERS = 256  # each worker is a thread with an HTTP connection of its own; loads share the engine's pool


def fan_out_workers(
    accounts: int, requests: int, rate_per_second: float, interval: timedelta, limit: int | None = None
) -> int:
    """How many accounts a slot snapshots at once: enough for its `requests` to end within a tenth of the interval.

    A worker takes one account at a time and sends its requests one after the other, each at most a pacing turn
    apart (pacing is per app key and api-id, so the accounts' turns run side by side); never more workers than
    accounts, than `limit` (the `workers` setting) when it is given, or than MAX_WORKERS when it is not.
    """
    if accounts < 1:
        return 1
    turn = 1 / rate_per_second
    needed = math.ceil(requests * turn / (interval.total_seconds() * SLOT_SHARE))
    bound = limit if limit is not None else MAX_WORKERS
    return max(1, min(max(needed, MIN_WORKERS), accounts, bound))


def misfire_grace(interval: timedelta) -> timedelta:
    """How late a slot may still start: half the interval (so a late run still belongs to its slot), at most 15 min."""
    return min(interval / 2, timedelta(minutes=15))


class ScheduleTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no types
    """An APScheduler trigger that fires whenever the schedule has something due."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        after = previous_fire_time if previous_fire_time is not None else now - timedelta(microseconds=1)
        return self.schedule.next_fire(after)

    def __str__(self) -> str:
        return f"schedule(every {self.schedule.interval})"


class Daemon:
    """Takes the snapshots of every slot; `run` blocks until SIGTERM or SIGINT."""

    def __init__(
        self,
        settings: Settings,
        schedule: Schedule,
        engine: Engine,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = utc_now,
        stop_timeout: float = 120.0,
    ) -> None:
        self.settings = settings
        self.schedule = schedule
        self.engine = engine
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.stop_timeout = stop_timeout
        self.stopping = threading.Event()
        fetcher = Fetcher(settings, clock=clock, observer=self.metrics.retried, stop=self.stopping)
        self.snapshotter = Snapshotter(settings, engine, fetcher, clock=clock)
        self.day = DayJobs(settings, engine, fetcher, clock=clock, stop=self.stopping)
        self.market = MarketJobs(settings, engine, fetcher, clock=clock, stop=self.stopping)
        self.fetcher = fetcher
        self.started_at = clock()
        self.workers = fan_out_workers(
            len(settings.accounts),
            sum(len(a.exchanges) for a in settings.accounts),  # kt00005 of each exchange (ka00001 is remembered)
            settings.rate_per_second,
            schedule.interval,
            settings.workers,
        )
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="snapshot")
        self._last_fire: datetime | None = None
        self._in_flight: set[tuple[int, str]] = set()  # (account index, exchange) being snapshotted
        self._idle = threading.Condition()
        self._health: tuple[datetime, str | None] | None = None
        self.unusable: str | None = None  # why the database cannot be used, as the newest check found
        self._checking = threading.Lock()
        self.realtime = (
            Realtime(settings, engine, fetcher, schedule, take=self._event_snapshot, observer=self.metrics, clock=clock)
            if settings.realtime_enabled
            else None
        )

    def _event_snapshot(self, account: Account, exchange: str, trigger: str) -> list[SnapshotResult]:
        """A snapshot the feed asked for (etl.app.realtime): no slot claimed, counted as the scheduled ones are."""
        results = self.snapshotter.take([account], trigger=trigger, exchanges=[exchange], unusable=self.unusable)
        for result in results:
            self.metrics.observe(result)
        return results

    def account_no(self, account: Account) -> str:
        return self.fetcher.known.account_no(account)

    def resolve_accounts(self) -> None:
        """Learn the numbers of accounts never seen before (ka00001), in parallel, so that rows name them alike.

        An account whose number cannot be read is named by its label until a later slot succeeds.
        """

        def resolve(account: Account) -> None:
            try:
                self.fetcher.account_number(account, self.fetcher.client(account))
            except Exception as exc:  # noqa: BLE001 - reported here, and again by each of its slots
                log.warning("%s: cannot read the account number yet: %s", account.label, exc)

        wait([self._pool.submit(resolve, a) for a in self.settings.accounts if not self.fetcher.known.number(a)])

    def check_database(self) -> str | None:
        """Whether the database can be used now (etl.store.health), and why not; a change is logged once, an
        unusable database as an error that says its snapshots are spooled meanwhile."""
        try:
            require_usable(self.engine)
            problem = None
        except StorageError as exc:
            problem = str(exc)
        with self._checking:
            before, self.unusable = self.unusable, problem
        if problem is not None and problem != before:
            # New connections only, from now on: each is checked against the schema before it is used.
            self.engine.dispose()
            log.error(
                "the database is unusable: %s; every slot is fetched and spooled until it is fixed "
                "(`kiwoom-etl doctor` says what is wrong)",
                problem,
            )
        elif problem is None and before is not None:
            log.warning("the database is usable again: loading the spool")
        return problem

    def flush_spool(self) -> None:
        """Load what the spool holds (the daemon does this at start and every interval) while the database is
        usable."""
        if self.check_database() is None:
            self.snapshotter.flush()

    def recover(self) -> int:
        """At start: load the spool, close runs cut off long ago, record the slots passed since the newest one;
        nothing but the check when the database cannot be used (the daemon runs on, spooling)."""
        self.resolve_accounts()
        if self.check_database() is not None:
            return 0
        self.snapshotter.flush()
        now = self.clock()
        try:
            abandoned, newest = close_abandoned(self.engine, now)
        except DatabaseUnavailable as exc:
            # Fetching does not depend on the database: the slots are taken and spooled until it is back.
            log.warning("%s: starting anyway; snapshots are spooled until the database is back", exc)
            return 0
        if abandoned:
            log.warning("%d run(s) cut off before they finished are now marked failed (abandoned)", abandoned)
        if newest is None:
            return 0
        # The newest slot in progress may belong to a replica that is still claiming it: leave the last interval
        # to the first tick, which records what is still missing then.
        written, last = self._record_gap(max(newest, now - LOOKBACK), now - self.schedule.interval, Reason.DAEMON_DOWN)
        self._last_fire = last or newest
        return written

    def tick(self) -> None:
        """Start the snapshots of the slot that is due now (the latest fire time within the misfire grace)."""
        now = self.clock()
        fire = self.schedule.last_fire(now, misfire_grace(self.schedule.interval))
        if fire is None or (self._last_fire is not None and fire <= self._last_fire):
            return
        unusable = self.check_database()
        if self._last_fire is not None and unusable is None:
            self._record_gap(self._last_fire, fire, Reason.NOT_STARTED)
        self._last_fire = fire
        self.run_slot(fire, wait_for_results=False, unusable=unusable)

    def run_slot(
        self, slot: datetime, *, wait_for_results: bool = True, unusable: str | None = None
    ) -> list[SnapshotResult]:
        """Start every account × exchange due at `slot`, the accounts in parallel; record holiday skips.

        An account × exchange whose previous snapshot is still running is recorded missed for this slot, and
        the others go on. With `unusable` (why the database cannot be used), nothing is recorded and every
        snapshot is spooled. Returns the results when `wait_for_results`, else at once (the daemon's way).
        """
        due = self.schedule.due(slot)
        skipped = self._rows(slot, [d for d in due if d.skip], RunStatus.SKIPPED, Reason.MARKET_CLOSED)
        self._write(skipped, RunStatus.SKIPPED)
        work = [d for d in due if d.skip is None]
        planned: list[tuple[int, Account, str, list[str]]] = []  # (account index, account, trigger, exchanges)
        for index, account in enumerate(self.settings.accounts):
            by_trigger: dict[str, list[str]] = defaultdict(list)
            busy = []
            with self._idle:
                if self.stopping.is_set():
                    break
                for item in work:
                    if item.exchange not in account.exchanges:
                        continue
                    if (index, item.exchange) in self._in_flight:
                        busy.append(item)
                        continue
                    self._in_flight.add((index, item.exchange))
                    by_trigger[item.trigger].append(item.exchange)
            if busy:
                still_running = self._rows(slot, busy, RunStatus.MISSED, Reason.STILL_RUNNING, accounts=[account])
                self._write(still_running, RunStatus.MISSED)
            planned.extend((index, account, trigger, exchanges) for trigger, exchanges in by_trigger.items())
        claims = self._claim_slot(slot, planned) if unusable is None else {}
        futures = [
            self._pool.submit(self._snapshot, index, account, trigger, slot, exchanges, claims.get(trigger), unusable)
            for index, account, trigger, exchanges in planned
        ]
        if not wait_for_results:
            return []
        wait(futures)
        return [result for future in futures for result in future.result()]

    def _claim_slot(self, slot: datetime, planned: list[tuple[int, Account, str, list[str]]]) -> dict[str, SlotClaims]:
        """Claim the slot's runs of every account whose number is known, in one commit per trigger (a thousand
        accounts would otherwise commit a thousand claims one by one); an account never resolved, or a database
        that is away, leaves the claim to the account's own snapshot."""
        pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for _, account, trigger, exchanges in planned:
            account_no = account.name or self.fetcher.known.number(account)
            if account_no is not None:
                pairs[trigger].extend((account_no, exchange) for exchange in exchanges)
        claims = {}
        for trigger, asked in pairs.items():
            # A pair two configured accounts would serve (one app key listed twice) is left to their own claims:
            # the first takes it and the other is told it is claimed, as when they claim alone.
            counts = Counter(asked)
            wanted = [pair for pair, count in counts.items() if count == 1]
            try:
                claims[trigger] = claim_slot(
                    self.engine, trigger=trigger, started_at=self.clock(), scheduled_for=slot, pairs=wanted
                )
            except StorageError as exc:
                log.warning("cannot claim slot %s for %d run(s) at once: %s", utc_text(slot), len(wanted), exc)
            except Exception:  # a bug here must not leave the slot's accounts in flight for ever: they claim alone
                log.exception("cannot claim slot %s for %d run(s) at once", utc_text(slot), len(wanted))
        return claims

    def _snapshot(
        self,
        index: int,
        account: Account,
        trigger: str,
        slot: datetime,
        exchanges: list[str],
        claims: SlotClaims | None = None,
        unusable: str | None = None,
    ) -> list[SnapshotResult]:
        try:
            results = self.snapshotter.take(
                [account], trigger=trigger, scheduled_for=slot, exchanges=exchanges, claims=claims, unusable=unusable
            )
        except StorageError as exc:  # the database is away: nothing can be recorded, but the others go on
            log.error("%s: %s", account.label, exc)
            reason = Reason.DATABASE_ERROR
            results = [SnapshotResult(account.label, x, RunStatus.FAILED, reason, error=str(exc)) for x in exchanges]
        finally:
            with self._idle:
                self._in_flight.difference_update((index, x) for x in exchanges)
                self._idle.notify_all()
        for result in results:
            self.metrics.observe(result)
        return results

    def _record_gap(self, after: datetime, before: datetime, reason: Reason) -> tuple[int, datetime | None]:
        """Record every fire strictly between `after` and `before`: missed, or skipped for a holiday.

        Returns how many rows were written and the last fire seen.
        """
        missed: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        last = None
        for fire in self.schedule.fires_between(after, before):
            last = fire
            for item in self.schedule.due(fire):
                if item.skip:
                    skipped.extend(self._rows(fire, [item], RunStatus.SKIPPED, Reason.MARKET_CLOSED))
                else:
                    missed.extend(self._rows(fire, [item], RunStatus.MISSED, reason))
        return self._write(missed, RunStatus.MISSED) + self._write(skipped, RunStatus.SKIPPED), last

    def _rows(
        self,
        slot: datetime,
        due: list[Due],
        status: RunStatus,
        reason: Reason,
        accounts: list[Account] | None = None,
    ) -> list[dict[str, Any]]:
        chosen = accounts if accounts is not None else self.settings.accounts
        return unrun_rows(slot, due, status, reason, [(self.account_no(a), a.exchanges) for a in chosen], self.clock())

    def _write(self, rows: list[dict[str, Any]], status: RunStatus) -> int:
        if not rows or self.unusable is not None:  # said once, when it became unusable
            return 0
        try:
            written = record_unrun(self.engine, rows)
        except StorageError as exc:
            log.error("cannot record %d %s run(s): %s", len(rows), status, exc)
            return 0
        if written:
            slots = sorted({row["scheduled_for"] for row in rows})
            span = utc_text(slots[0])
            if len(slots) > 1:
                span += f" to {utc_text(slots[-1])}"
            log.log(
                logging.INFO if status == RunStatus.SKIPPED else logging.WARNING,
                "%d run(s) %s, slot(s) %s: %s%s",
                written,
                status,
                span,
                rows[0]["reason"],
                f" ({rows[0]['detail']})" if rows[0]["detail"] else "",
            )
        return written

    def run_ledger(self, *, daily: bool = True) -> list[LedgerResult]:
        """The account's day (etl.app.collect.run_day): every account's ledger (kt00015), the day's run claimed in
        etl_runs so that replicas fetch it once, or the run at start; then, after the close of a trading day, the
        day's totals (kt00017), the day claimed so that a daemon started after the close, or a replica, does not take
        them twice; and Kiwoom's realised profit (ka10074) of the ledger's lookback, claimed with the ledger's day. A
        failure is logged and counted; snapshots never wait for it. Nothing while the database cannot be used: the
        ledger is asked again from the newest line loaded, once it can."""
        if self.check_database() is not None:
            log.warning("the ledger waits for the database to be usable again")
            return []
        today = datetime.combine(
            self.schedule.local(self.clock()).date(), self.settings.ledger_at, tzinfo=self.schedule.zone
        )
        day = run_day(
            self.day,
            self.schedule.calendar,
            trigger="scheduled" if daily else "start",
            ledger_slot=today if daily else None,
            totals_slot=today,
            contain=log,  # a bug in the ledger or the totals must not stop the daemon's snapshots
        )
        self._observe_ledger(day.ledger)
        self._observe_runs(day.realized)
        self._observe_runs(day.totals)
        return list(day.ledger)

    def run_instruments(self) -> list[MarketResult]:
        """The instrument master, on a KRX trading day before the open (`[market] instruments_at`): every market list,
        the day claimed in etl_runs so that replicas fetch it once, then the codes no list had. A failure is logged
        and counted; snapshots never wait for it."""
        slot = self._market_slot(self.settings.market_instruments_at)
        if slot is None:
            return []
        try:
            done = refresh_instruments(self.market, trigger="scheduled", scheduled_for=slot).results
        except Exception:  # a bug in it must not stop the daemon's snapshots
            log.exception("the instrument refresh failed")
            return []
        self._observe_market(done)
        return list(done)

    def run_market(self) -> list[MarketResult]:
        """The day's index and stock bars, on a KRX trading day after the close (`[market] at`), the day claimed in
        etl_runs so that replicas fetch it once. A failure is logged and counted; snapshots never wait for it."""
        slot = self._market_slot(self.settings.market_at)
        if slot is None:
            return []
        day = slot.date()
        try:
            done = daily_bars(self.market, day, day, trigger="scheduled", scheduled_for=slot).results
        except Exception:  # a bug in it must not stop the daemon's snapshots
            log.exception("the daily bars failed")
            return []
        self._observe_market(done)
        return list(done)

    def _market_slot(self, at: time) -> datetime | None:
        """Today's market slot at `at` (local time), or None: not a KRX trading day, or the database unusable."""
        today = self.schedule.local(self.clock()).date()
        if not self.schedule.calendar.is_trading_day(today):
            log.debug("%s is no KRX trading day: no market data", today)
            return None
        if self.check_database() is not None:
            log.warning("the market data waits for the database to be usable again")
            return None
        return datetime.combine(today, at, tzinfo=self.schedule.zone)

    def _observe_market(self, results: Sequence[MarketResult]) -> None:
        for result in results:
            self.metrics.observe_run(result)
            if not result.ok:
                log.warning("%s: %s (%s): %s", result.api.what, result.status, result.reason, result.error)

    def _observe_ledger(self, results: Sequence[LedgerResult]) -> None:
        for result in results:
            self.metrics.observe_ledger(result)
            if result.load.added["other"]:
                log.warning(
                    "%s ledger: %d new line(s) match no rule of the mapping (kind other): see `kiwoom-etl status`",
                    result.account,
                    result.load.added["other"],
                )
            if not result.ok:
                log.warning("%s ledger: %s (%s): %s", result.account, result.status, result.reason, result.error)

    def _observe_runs(self, results: Sequence[AccountResult]) -> None:
        """Count the day totals' or the realised profit's runs, and warn of each that failed."""
        for result in results:
            self.metrics.observe_run(result)
            if not result.ok:
                what = result.api.what
                log.warning("%s %s: %s (%s): %s", result.account, what, result.status, result.reason, result.error)

    def configured_pairs(self) -> set[tuple[str, str]]:
        """(account_no, exchange) of every configured account, as the tables name them."""
        return configured_pairs(self.settings, self.fetcher.known)

    def health(self) -> str | None:
        """None while healthy: the database usable, and every configured, active account × exchange with a success
        within twice the interval; else what is wrong, in a line.

        A daemon younger than that is given the time to take its first snapshots (not for an unusable database).
        The answer is kept for half an interval (at most 30 s), so that frequent probes cost nothing.
        """
        now = self.clock()
        if self._health is not None and now - self._health[0] < min(self.schedule.interval / 2, CACHE_HEALTH):
            return self._health[1]
        problem = self.check_database()
        if problem is not None:
            wrong: str | None = f"database unusable (snapshots are spooled): {problem}"
        elif now - self.started_at < 2 * self.schedule.interval:
            wrong = None
        else:
            try:
                statuses = pair_statuses(self.engine, self.schedule, now, only=self.configured_pairs())
                stale = sum(p.stale for p in statuses)
                within = 2 * self.schedule.interval
                wrong = f"stale: {stale} account × exchange(s) without a success within {within}" if stale else None
            except StorageError as exc:
                wrong = f"database unusable: {exc}"
        self._health = (now, wrong)
        return wrong

    def realtime_lines(self) -> list[str]:
        """A line per listening app key (nothing with [realtime] off): /healthz shows them; a listener that is
        reconnecting is said, not counted as unhealthy (the scheduled snapshots go on without it)."""
        if self.realtime is None:
            return []
        now = self.clock()
        return [state.line(now) for state in self.realtime.states()]

    def run(self, health_port: int | None = None) -> int:
        """Schedule, block until a signal, let the snapshots in flight finish; return the exit code."""
        scheduler = self._scheduler()

        def stop(signum: int, _frame: FrameType | None) -> None:
            if self.stopping.is_set():
                log.warning("second signal: exiting at once (a snapshot in flight is rolled back, never half-loaded)")
                logging.shutdown()
                os._exit(128 + signum)
            self.stopping.set()
            log.info("stopping: no new slots; waiting up to %.0f s for the snapshots in flight", self.stop_timeout)
            if scheduler.running:
                scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        server = serve_health(self, health_port) if health_port is not None else None
        try:
            missed = self.recover()
            if not self.stopping.is_set():
                log.info(
                    "running: %d account(s) on %d worker(s), every %s in %s%s%s; next slot %s%s",
                    len(self.settings.accounts),
                    self.workers,
                    self.schedule.interval,
                    self.schedule.zone,
                    " at all hours" if self.schedule.all_hours else "",
                    f", listening to {self.settings.safe_realtime_url}" if self.realtime is not None else "",
                    utc_text(self.schedule.next_fire(self.clock())),
                    f"; {missed} run(s) recorded as missed or skipped since the last slot" if missed else "",
                )
                if self.realtime is not None:
                    self.realtime.start()
                scheduler.start()  # blocks until stop() shuts it down
        finally:
            self.stopping.set()
            # The sessions closed and their leases given back; the event snapshots running given the stop timeout.
            listened = self.realtime is None or self.realtime.stop(self.stop_timeout)
            finished = self.wait_idle() and listened
            if server is not None:
                server.shutdown()
                server.server_close()
        self._pool.shutdown(wait=finished)
        self.snapshotter.close()
        if not finished:
            log.error("the snapshots in flight did not finish within %.0f s; exiting anyway", self.stop_timeout)
            logging.shutdown()
            os._exit(1)  # worker threads would otherwise keep the process alive
        log.info("stopped")
        return 0

    def _scheduler(self) -> BlockingScheduler:
        """The snapshot ticks on the schedule's trigger, and a flush of the spool every interval."""
        grace = misfire_grace(self.schedule.interval)
        zone = self.schedule.zone
        executors = {
            "default": JobExecutor(max_workers=2),
            "ledger": JobExecutor(max_workers=1),
            "market": JobExecutor(max_workers=1),
        }
        scheduler = BlockingScheduler(timezone=zone, executors=executors)
        scheduler.add_job(
            self.tick,
            ScheduleTrigger(self.schedule),
            id="snapshots",
            name="snapshots",
            max_instances=1,  # ticks only start work (a slow account never holds the next slot of the others)
            coalesce=True,  # after a sleep, run the newest slot once; the ones passed are recorded as missed
            misfire_grace_time=max(1, int(grace.total_seconds())),
        )
        scheduler.add_job(
            self.flush_spool,
            IntervalTrigger(seconds=self.schedule.interval.total_seconds()),
            id="flush",
            name="flush the spool",
            max_instances=1,
            coalesce=True,
        )
        # The ledger has a worker of its own: a long first run never holds a snapshot tick.
        scheduler.add_job(
            self.run_ledger,
            CronTrigger(hour=self.settings.ledger_at.hour, minute=self.settings.ledger_at.minute, timezone=zone),
            id="ledger",
            name="the daily ledger",
            executor="ledger",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        scheduler.add_job(  # due now, and started however long recover() takes before the scheduler runs
            self.run_ledger,
            kwargs={"daily": False},
            id="ledger-start",
            name="the ledger at start",
            executor="ledger",
            misfire_grace_time=None,
        )
        # The market data has a worker of its own too (never holding a snapshot tick, nor the ledger).
        for job_id, name, method, at in (
            ("instruments", "the instrument master", self.run_instruments, self.settings.market_instruments_at),
            ("market", "the daily bars", self.run_market, self.settings.market_at),
        ):
            scheduler.add_job(
                method,
                CronTrigger(hour=at.hour, minute=at.minute, timezone=zone),
                id=job_id,
                name=name,
                executor="market",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
            )
        scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        return scheduler

    def wait_idle(self) -> bool:
        """Wait (at most the stop timeout) until no snapshot is in flight; False when time ran out."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._in_flight, timeout=self.stop_timeout)

    def _on_missed(self, event: JobExecutionEvent) -> None:
        # The slot is recorded as missed by the next tick, which sees the gap; this only tells the log at once.
        log.warning("slot %s could not start within the grace time", event.scheduled_run_time)


def serve_health(daemon: Daemon, port: int) -> ThreadingHTTPServer:
    """/healthz (200 or 503) and /metrics (Prometheus) on 127.0.0.1:`port`, in a background thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            if self.path == "/healthz":
                wrong = daemon.health()
                body = "\n".join([wrong or "ok", *daemon.realtime_lines(), ""]).encode()
                self._send(200 if wrong is None else 503, body, "text/plain; charset=utf-8")
            elif self.path == "/metrics":
                self._send(200, daemon.metrics.exposition(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._send(404, b"not found: try /healthz or /metrics\n", "text/plain; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # probes every few seconds would drown the log

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise ConfigError(f"--health-port {port}: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    log.info("health and metrics on http://127.0.0.1:%d/healthz and /metrics", server.server_address[1])
    return server
