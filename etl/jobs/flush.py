"""Flush: load what the spool holds, oldest first, each snapshot in one transaction and at most once.

A spooled snapshot either continues the run it began (its `running` row) or begins a run of its own, stamped
with the spool file's id; a second attempt finds it done and only removes the file. A file is removed only after
its transaction committed, so a crash in between costs nothing but that check. Only the snapshots meant for this
database are loaded; the others stay, listed, until a flush into theirs (or one told `into_this_database`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from etl.clock import utc_now
from etl.errors import DatabaseUnavailable, SpoolError, StorageError
from etl.jobs.spool import Spool
from etl.store.capture import Capture
from etl.store.engine import transaction
from etl.store.identity import DatabaseIdentity, learn_identity
from etl.store.load import load
from etl.store.models import Reason, RunStatus
from etl.store.runs import ALREADY_LOADED, CONFLICT, WAIT, Run, adopt

log = logging.getLogger(__name__)

LOADED, RECORDED_FAILED = "loaded", "failed"


@dataclass
class FlushReport:
    """What a flush did."""

    loaded: int = 0
    failed: int = 0
    already: int = 0
    conflicts: int = 0
    left: int = 0
    error: str | None = None
    elsewhere: list[tuple[Path, DatabaseIdentity]] = field(default_factory=list)  # meant for another database

    @property
    def handled(self) -> int:
        return self.loaded + self.failed + self.already + self.conflicts


def flush(
    engine: Engine,
    spool: Spool,
    *,
    clock: Callable[[], datetime] = utc_now,
    progress: Callable[[int], None] | None = None,
    here: DatabaseIdentity | None = None,
    into_this_database: bool = False,
) -> FlushReport:
    """Load every spooled snapshot meant for this database (`here`: learned from `engine` when not given), oldest
    first, and with `into_this_database` the ones meant for another too; stop at the first sign that the database
    is away. A file from before spool files named their database is loaded, with a warning.

    One flush at a time per spool (a lock file): the daemon's flush and a manual one never race for a file.
    """
    report = FlushReport()
    with spool.exclusive() as mine:
        if not mine:
            report.left = len(spool.paths())
            report.error = "another flush of this spool is running"
            return report
        paths = spool.paths()
        if paths and here is None:
            here = learn_identity(engine)
        for index, path in enumerate(paths):
            try:
                entry = spool.entry(path)
                if entry.target is None:
                    log.warning("%s names no database (spooled by an older kiwoom-etl): loading it here", path.name)
                elif here is not None and not entry.target.matches(here):
                    if not into_this_database:
                        report.elsewhere.append((path, entry.target))
                        continue
                    log.warning("%s was meant for %s: loading it into %s, as asked", path.name, entry.target, here)
                outcome = flush_item(engine, entry.capture, clock)
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
        if report.elsewhere:
            log.info(
                "%d spooled snapshot(s) are meant for another database: `kiwoom-etl flush` lists them",
                len(report.elsewhere),
            )
    return report


def flush_item(engine: Engine, capture: Capture, clock: Callable[[], datetime]) -> str:
    """Load one spooled (or imported) snapshot in one transaction: loaded, failed, already loaded, or why not."""
    with transaction(engine, "loading from the spool") as connection:
        run = adopt(connection, capture, clock())
        if not isinstance(run, Run):
            return run
        if capture.reason is None and capture.trigger != "import":
            capture = replace(capture, reason=Reason.SPOOLED)  # it came the long way: say so
        (loaded,) = load(connection, [(run, capture)], finished_at=clock())
    return LOADED if loaded.status == RunStatus.SUCCESS else RECORDED_FAILED
