"""Flush: load what the spool holds, oldest first, each snapshot in one transaction and at most once.

A spooled snapshot either continues the run it began (its `running` row) or begins a run of its own, stamped
with the spool file's id; a second attempt finds it done and only removes the file. A file is removed only after
its transaction committed, so a crash in between costs nothing but that check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from etl.clock import utc_now
from etl.errors import DatabaseUnavailable, SpoolError, StorageError, TransformError
from etl.jobs.spool import Spool, Spooled
from etl.normalize.transform import transform
from etl.store.engine import transaction
from etl.store.load import (
    ABANDONED,
    ABANDONED_AFTER,
    RUNNING,
    SUCCESS,
    Run,
    insert_unless_taken,
    write_failure,
    write_snapshot,
)
from etl.store.models import EtlRun

log = logging.getLogger(__name__)

LOADED, RECORDED_FAILED, ALREADY_LOADED = "loaded", "failed", "already loaded"
CONFLICT, WAIT = "conflict", "wait"


@dataclass
class FlushReport:
    """What a flush did."""

    loaded: int = 0
    failed: int = 0
    already: int = 0
    conflicts: int = 0
    left: int = 0
    error: str | None = None

    @property
    def handled(self) -> int:
        return self.loaded + self.failed + self.already + self.conflicts


def flush(
    engine: Engine,
    spool: Spool,
    *,
    clock: Callable[[], datetime] = utc_now,
    progress: Callable[[int], None] | None = None,
) -> FlushReport:
    """Load every spooled snapshot, oldest first; stop at the first sign that the database is away.

    One flush at a time per spool (a lock file): the daemon's flush and a manual one never race for a file.
    """
    report = FlushReport()
    with spool.exclusive() as mine:
        if not mine:
            report.left = len(spool.paths())
            report.error = "another flush of this spool is running"
            return report
        paths = spool.paths()
        for index, path in enumerate(paths):
            try:
                item = spool.read(path)
                outcome = flush_item(engine, item, clock)
            except DatabaseUnavailable as exc:
                report.left = len(paths) - index
                report.error = str(exc)
                log.warning("flush stopped, %d snapshot(s) still spooled: %s", report.left, exc)
                break
            except (SpoolError, StorageError) as exc:  # this file cannot be loaded as it is: keep it, go on
                report.left += 1
                report.error = str(exc)
                log.error("%s stays in the spool: %s", path.name, exc)
                continue
            if outcome == WAIT:
                report.left += 1
                log.info("%s: its slot is being taken by another process; it stays for the next flush", path.name)
                continue
            if outcome == CONFLICT:
                moved = spool.set_aside(path)
                report.conflicts += 1
                log.warning("%s: another snapshot already serves its slot; kept aside as %s", path.name, moved)
            else:
                spool.remove(path)
                report.loaded += outcome == LOADED
                report.failed += outcome == RECORDED_FAILED
                report.already += outcome == ALREADY_LOADED
                log.info("%s: %s", path.name, outcome)
            if progress is not None:
                progress(1)
    return report


def flush_item(engine: Engine, item: Spooled, clock: Callable[[], datetime]) -> str:
    """Load one spooled (or imported) snapshot in one transaction: loaded, failed, already loaded, or why not."""
    with transaction(engine, "loading from the spool") as connection:
        run = _claim(connection, item)
        if not isinstance(run, Run):
            return run
        error = item.error
        if error is None:
            try:
                snapshot = transform(
                    [page.data or {} for page in item.pages],
                    account_no=item.account_no,
                    exchange=item.exchange,
                    captured_at=item.captured_at,
                    scheduled_for=item.scheduled_for,
                )
            except TransformError as exc:
                error = str(exc)
            else:
                write_snapshot(connection, run, snapshot, item.pages, clock())
                return LOADED
        write_failure(
            connection, run, error, clock(), account_no=item.account_no, exchange=item.exchange, pages=item.pages
        )
        return RECORDED_FAILED


def _claim(connection: Connection, item: Spooled) -> Run | str:
    """The run this spooled snapshot is loaded into, claimed atomically; or why it is not loaded now.

    Loaded before from this very file: ALREADY_LOADED. Its own run (begun before the database went away), or a
    row of its slot that holds no snapshot (missed, skipped, failed, or cut off): adopted. A slot already served
    by a successful snapshot: CONFLICT (the file is kept aside, never deleted). A slot another process is taking
    right now: WAIT.
    """
    if connection.execute(select(EtlRun.id).where(EtlRun.spool_id == item.spool_id)).first() is not None:
        return ALREADY_LOADED
    columns = (EtlRun.id, EtlRun.status, EtlRun.started_at, EtlRun.error)
    row = None
    if item.run_id is not None:  # the run it began, unless this is another database with a namesake
        row = connection.execute(
            select(*columns).where(
                EtlRun.id == item.run_id, EtlRun.account_no == item.account_no, EtlRun.exchange == item.exchange
            )
        ).first()
    if row is None and item.scheduled_for is not None:
        row = connection.execute(
            select(*columns).where(
                EtlRun.account_no == item.account_no,
                EtlRun.exchange == item.exchange,
                EtlRun.scheduled_for == item.scheduled_for,
            )
        ).first()
    if row is None:
        run_id = connection.execute(
            insert_unless_taken(connection).returning(EtlRun.id),
            {
                "trigger": item.trigger,
                "status": RUNNING,
                "account_no": item.account_no,
                "exchange": item.exchange,
                "scheduled_for": item.scheduled_for,
                "started_at": item.captured_at,
                "spool_id": item.spool_id,
            },
        ).scalar()
        return WAIT if run_id is None else Run(id=int(run_id), started_at=item.captured_at)
    if row.status == SUCCESS:
        return CONFLICT
    ours = row.id == item.run_id
    cut_off = row.started_at < item.captured_at - ABANDONED_AFTER or row.error == ABANDONED
    if row.status == RUNNING and not (ours or cut_off):
        return WAIT
    # Adopt the row, unless another flush did in the meantime: the condition makes the claim atomic.
    claimed = connection.execute(
        update(EtlRun)
        .where(EtlRun.id == row.id, EtlRun.spool_id.is_(None), EtlRun.status == row.status)
        .values(spool_id=item.spool_id, status=RUNNING, error=None, reason=None)
    ).rowcount
    return Run(id=int(row.id), started_at=row.started_at) if claimed == 1 else WAIT
