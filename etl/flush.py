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
from etl.db import transaction
from etl.errors import DatabaseUnavailable, SpoolError, StorageError, TransformError
from etl.load import FAILED, RUNNING, Run, insert_unless_taken, write_failure, write_snapshot
from etl.models import EtlRun
from etl.spool import Spool, Spooled
from etl.transform import transform

log = logging.getLogger(__name__)

LOADED, RECORDED_FAILED, ALREADY_LOADED = "loaded", "failed", "already loaded"


@dataclass
class FlushReport:
    """What a flush did."""

    loaded: int = 0
    failed: int = 0
    already: int = 0
    left: int = 0
    error: str | None = None

    @property
    def handled(self) -> int:
        return self.loaded + self.failed + self.already


def flush(
    engine: Engine,
    spool: Spool,
    *,
    clock: Callable[[], datetime] = utc_now,
    progress: Callable[[int], None] | None = None,
) -> FlushReport:
    """Load every spooled snapshot, oldest first; stop at the first sign that the database is away."""
    report = FlushReport()
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
        spool.remove(path)
        if outcome == LOADED:
            report.loaded += 1
        elif outcome == RECORDED_FAILED:
            report.failed += 1
        else:
            report.already += 1
        log.info("%s: %s", path.name, outcome)
        if progress is not None:
            progress(1)
    return report


def flush_item(engine: Engine, item: Spooled, clock: Callable[[], datetime]) -> str:
    """Load one spooled (or imported) snapshot in one transaction: loaded, failed, or already loaded."""
    with transaction(engine, "loading from the spool") as connection:
        run = _run_for(connection, item)
        if run is None:
            return ALREADY_LOADED
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


def _run_for(connection: Connection, item: Spooled) -> Run | None:
    """The run this spooled snapshot completes, claimed now; None when it was loaded before (or by a replica)."""
    row = None
    if item.run_id is not None:
        row = connection.execute(
            select(EtlRun.status, EtlRun.started_at, EtlRun.error).where(
                EtlRun.id == item.run_id,
                EtlRun.account_no == item.account_no,  # the same run, not a namesake in another database
                EtlRun.exchange == item.exchange,
            )
        ).first()
    if row is not None:
        reopenable = row.status == RUNNING or (row.status == FAILED and str(row.error).startswith("abandoned"))
        if not reopenable:
            return None
        connection.execute(update(EtlRun).where(EtlRun.id == item.run_id).values(spool_id=item.spool_id))
        return Run(id=int(item.run_id or 0), started_at=row.started_at)
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
    return None if run_id is None else Run(id=int(run_id), started_at=item.captured_at)
