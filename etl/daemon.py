"""The daemon: an APScheduler BlockingScheduler that takes every due slot's snapshots, and stops gracefully.

Each fire time of the schedule runs `Daemon.tick`: it claims the slot for each due account × exchange, fans the
accounts out to a bounded pool of threads (pacing per app key and api-id is shared by all of them), and records
slots that passed without a snapshot as `missed` and holiday slots as `skipped`.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import Engine, func, select

from etl.clock import utc_now
from etl.db import storage_errors
from etl.errors import StorageError
from etl.load import MISSED, SKIPPED, record_unrun
from etl.metrics import Metrics
from etl.models import EtlRun
from etl.schedule import Due, Schedule
from etl.settings import Account, Settings
from etl.snapshot import Fetcher, SnapshotResult, snapshot_account
from etl.status import pair_statuses

log = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=24)  # how far back a restarted daemon records the slots it missed
NOT_RUNNING = "the daemon was not running"
NOT_STARTED = "no snapshot was started for this slot (the machine slept, or the previous slot was still running)"


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
        self.fetcher = Fetcher(settings, clock=clock, observer=self.metrics.retried)
        self.started_at = clock()
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="snapshot")
        self._last_fire: datetime | None = None
        self._busy = 0
        self._idle = threading.Condition()
        self._stopping = threading.Event()

    def resolve_accounts(self) -> None:
        """Learn each account's number (ka00001) at start, in parallel, so that every row names it the same way.

        An account whose number cannot be read is named by its label until a later slot succeeds.
        """

        def resolve(account: Account) -> None:
            try:
                self.fetcher.account_number(account, self.fetcher.client(account))
            except Exception as exc:  # noqa: BLE001 - reported here, and again by each of its slots
                log.warning("%s: cannot read the account number yet: %s", account.label, exc)

        wait([self._pool.submit(resolve, account) for account in self.settings.accounts])

    def recover(self) -> int:
        """At start: record as missed the slots since the newest one in the database (within a day)."""
        self.resolve_accounts()
        now = self.clock()
        with storage_errors(self.engine, "reading the newest slot"), self.engine.connect() as connection:
            newest = connection.execute(
                select(func.max(EtlRun.scheduled_for)).where(EtlRun.scheduled_for >= now - LOOKBACK)
            ).scalar()
        self._last_fire = newest
        if newest is None:
            return 0
        return self._record_gap(newest, now, NOT_RUNNING)

    def tick(self) -> list[SnapshotResult]:
        """Take the snapshots of the slot that is due now (the latest fire time within the misfire grace)."""
        if self._stopping.is_set():
            return []
        with self._idle:
            self._busy += 1
        try:
            now = self.clock()
            fire = self.schedule.last_fire(now, misfire_grace(self.schedule.interval))
            if fire is None or (self._last_fire is not None and fire <= self._last_fire):
                return []
            if self._last_fire is not None:
                self._record_gap(self._last_fire, fire, NOT_STARTED)
            self._last_fire = fire
            return self.run_slot(fire)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def run_slot(self, slot: datetime) -> list[SnapshotResult]:
        """Snapshot every account × exchange due at `slot`, the accounts in parallel; record holiday skips."""
        due = self.schedule.due(slot)
        self._record(slot, [d for d in due if d.skip], SKIPPED)
        work = [d for d in due if d.skip is None]
        futures = []
        for account in self.settings.accounts:
            by_trigger: dict[str, list[str]] = defaultdict(list)
            for item in work:
                if item.exchange in account.exchanges:
                    by_trigger[item.trigger].append(item.exchange)
            for trigger, exchanges in by_trigger.items():
                futures.append(self._pool.submit(self._snapshot, account, trigger, slot, exchanges))
        wait(futures)
        results = [result for future in futures for result in future.result()]
        for result in results:
            self.metrics.observe(result)
        return results

    def _snapshot(self, account: Account, trigger: str, slot: datetime, exchanges: list[str]) -> list[SnapshotResult]:
        try:
            return snapshot_account(
                account, self.engine, self.fetcher, trigger=trigger, scheduled_for=slot, exchanges=exchanges
            )
        except StorageError as exc:  # the database is away: nothing can be recorded, but the others go on
            log.error("%s: %s", account.label, exc)
            return [SnapshotResult(account.label, x, "failed", error=str(exc)) for x in exchanges]

    def _record_gap(self, after: datetime, before: datetime, reason: str) -> int:
        written = 0
        for fire in self.schedule.fires_between(after, before):
            written += self._record(fire, self.schedule.due(fire), MISSED, reason)
        return written

    def _record(self, slot: datetime, due: list[Due], status: str, reason: str | None = None) -> int:
        rows = []
        now = self.clock()
        for account in self.settings.accounts:
            account_no = self.fetcher.account_no(account) or account.label
            for item in due:
                if item.exchange in account.exchanges:
                    rows.append(
                        {
                            "trigger": item.trigger,
                            "status": status,
                            "account_no": account_no,
                            "exchange": item.exchange,
                            "scheduled_for": slot,
                            "started_at": now,
                            "finished_at": now,
                            "reason": item.skip or reason,
                        }
                    )
        try:
            written = record_unrun(self.engine, rows)
        except StorageError as exc:
            log.error("cannot record %s slot %s: %s", status, slot.isoformat(), exc)
            return 0
        if written:
            level = logging.INFO if status == SKIPPED else logging.WARNING
            log.log(
                level,
                "slot %s: %d run(s) %s: %s",
                self.schedule.local(slot).isoformat(),
                written,
                status,
                rows[0]["reason"],
            )
        return written

    def healthy(self) -> bool:
        """Healthy while every active account × exchange has a success within twice the interval.

        A daemon younger than that is given the time to take its first snapshots.
        """
        now = self.clock()
        if now - self.started_at < 2 * self.schedule.interval:
            return True
        try:
            return not any(p.stale for p in pair_statuses(self.engine, self.schedule, now))
        except StorageError:
            return False

    def run(self, health_port: int | None = None) -> int:
        """Schedule, block until a signal, let the slot in flight finish; return the exit code."""
        grace = misfire_grace(self.schedule.interval)
        scheduler = BlockingScheduler(timezone=self.schedule.zone, executors={"default": JobExecutor(max_workers=1)})
        scheduler.add_job(
            self.tick,
            ScheduleTrigger(self.schedule),
            id="snapshots",
            name="snapshots",
            max_instances=1,  # one slot at a time: a slow slot makes the next one missed, never doubled
            coalesce=True,  # after a sleep, run the newest slot once; the ones skipped are recorded as missed
            misfire_grace_time=max(1, int(grace.total_seconds())),
        )
        scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        server = serve_health(self, health_port) if health_port is not None else None

        def stop(signum: int, _frame: FrameType | None) -> None:
            if self._stopping.is_set():
                log.warning("second signal: exiting at once (a snapshot in flight is rolled back, never half-loaded)")
                logging.shutdown()
                os._exit(128 + signum)
            self._stopping.set()
            log.info("stopping: no new slots; waiting up to %.0f s for the snapshot in flight", self.stop_timeout)
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        missed = self.recover()
        log.info(
            "running: %d account(s), every %s in %s%s; next slot %s%s",
            len(self.settings.accounts),
            self.schedule.interval,
            self.schedule.zone,
            " at all hours" if self.schedule.all_hours else "",
            self.schedule.next_fire(self.clock()).isoformat(),
            f"; {missed} missed run(s) recorded since the last slot" if missed else "",
        )
        scheduler.start()  # blocks until stop() shuts it down
        finished = self._wait_idle()
        if server is not None:
            server.shutdown()
        self._pool.shutdown(wait=finished)
        self.fetcher.close()
        if not finished:
            log.error("the snapshot in flight did not finish within %.0f s; exiting anyway", self.stop_timeout)
            logging.shutdown()
            os._exit(1)  # worker threads would otherwise keep the process alive
        log.info("stopped")
        return 0

    def _wait_idle(self) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=self.stop_timeout)

    def _on_missed(self, event: JobExecutionEvent) -> None:
        # The slot is recorded as missed by the next tick, which sees the gap; this only tells the log at once.
        log.warning("slot %s could not start in time", getattr(event, "scheduled_run_time", "?"))


def serve_health(daemon: Daemon, port: int) -> ThreadingHTTPServer:
    """/healthz (200 or 503) and /metrics (Prometheus) on 127.0.0.1:`port`, in a background thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            if self.path == "/healthz":
                ok = daemon.healthy()
                self._send(200 if ok else 503, b"ok\n" if ok else b"stale\n", "text/plain; charset=utf-8")
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

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    log.info("health and metrics on http://127.0.0.1:%d/healthz and /metrics", server.server_address[1])
    return server
