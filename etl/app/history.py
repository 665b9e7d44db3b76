"""The history already received: the spool flushed into the database, every kept answer replayed with today's
transform, the ledger reclassified with today's mapping, and answers kept elsewhere imported."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from etl.apis import APIS, SNAPSHOT
from etl.apis.api import RowsApi
from etl.jobs.flush import RECORDED_FAILED, flush
from etl.jobs.flush import FlushReport as FlushReport
from etl.jobs.ledger import LedgerReplay, replay_ledger
from etl.jobs.replay import ImportReport as ImportReport
from etl.jobs.replay import ReplayReport, count_lines, import_lines, import_pages, replay, replay_rows, runs_to_replay
from etl.jobs.spool import Spool
from etl.normalize.ledger import Classifier
from etl.settings import Settings
from etl.store.engine import transaction
from etl.store.ledger import kind_counts, reclassify
from etl.store.statistics import analyze

# A progress bar: given its length and label, a context whose value is told how many more items are done.
Bar = Callable[[int, str], AbstractContextManager[Callable[[int], None]]]


@contextmanager
def no_bar(_length: int, _label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar that shows nothing."""
    yield lambda _done: None


@dataclass(frozen=True)
class Pending:
    """What the spool holds."""

    count: int
    directory: Path


def pending(settings: Settings) -> Pending:
    """How many snapshots wait in the spool; reads no database."""
    spool = Spool(settings.state_dir)
    return Pending(len(spool.paths()), spool.directory)


@dataclass(frozen=True)
class Flushed:
    """What a flush of the spool did."""

    report: FlushReport
    directory: Path


def flush_spool(settings: Settings, engine: Engine, *, into_this_database: bool = False, bar: Bar = no_bar) -> Flushed:
    """Load the snapshots spooled for this database (and those for another with `into_this_database`), oldest
    first, each at most once."""
    spool = Spool(settings.state_dir)
    with bar(len(spool.paths()), "Flushing") as done:
        report = flush(engine, spool, progress=done, into_this_database=into_this_database)
    if report.loaded or report.failed:
        analyze(engine, SNAPSHOT.grows)
    return Flushed(report, spool.directory)


@dataclass(frozen=True)
class RowsReplayed:
    """What replaying one API whose pages become rows alike (the day totals, the estimates, the realised profit)
    did."""

    api: RowsApi
    pages: int  # its kept pages read
    refused: int  # of those, refused by today's transform


@dataclass(frozen=True)
class Replayed:
    """What replaying everything did: the snapshots' runs, the ledger, and every API whose pages become rows."""

    runs: int  # runs with kt00005 pages
    snapshots: ReplayReport
    ledger: LedgerReplay
    rows: tuple[RowsReplayed, ...]  # in the declarations' order


def replay_everything(
    settings: Settings, engine: Engine, *, since: date | None = None, account: str | None = None, bar: Bar = no_bar
) -> Replayed:
    """Rebuild the snapshots, the ledger (with the configured mapping) and every declared API whose pages become
    rows (the day totals, the estimates, the realised profit) from the kept answers with today's transform, from
    `since` and for `account` when given."""
    classifier = Classifier.with_rules(settings.ledger_rules)
    runs = runs_to_replay(engine, since=since, account=account)
    with bar(len(runs), "Replaying") as done:
        snapshots = replay(engine, runs, progress=done)
    ledger = replay_ledger(engine, classifier, since=since, account=account)
    rows = tuple(
        RowsReplayed(api, *replay_rows(engine, api, since=since, account=account))
        for api in APIS
        if isinstance(api, RowsApi)
    )
    analyze(engine, [name for api in APIS for name in api.grows])
    return Replayed(len(runs), snapshots, ledger, rows)


@dataclass(frozen=True)
class Reclassified:
    """What reclassifying the stored ledger did."""

    moved: dict[tuple[str, str], int]  # lines by (old kind, new kind)
    other: int  # stored lines still of kind other

    @property
    def count(self) -> int:
        return sum(self.moved.values())


def reclassify_ledger(settings: Settings, engine: Engine) -> Reclassified:
    """Give the stored lines the kinds the configured mapping ([ledger.kinds]) finds now; fetches nothing."""
    classifier = Classifier.with_rules(settings.ledger_rules)
    with transaction(engine, "reclassifying the ledger") as connection:
        moved = reclassify(connection, classifier)
        other = kind_counts(connection)["other"]
    return Reclassified(dict(moved), other)


@dataclass(frozen=True)
class PagesImported:
    """What importing page files did: the snapshot's outcome."""

    outcome: str

    @property
    def refused(self) -> bool:
        """The pages were kept in raw_responses, but today's transform refused the snapshot."""
        return self.outcome == RECORDED_FAILED


def import_page_files(
    engine: Engine, files: Sequence[Path], *, account_no: str, exchange: str, captured_at: datetime
) -> PagesImported:
    """Load kt00005 answers kept one a file, in chain order, as one snapshot of `account_no` on `exchange`."""
    outcome = import_pages(engine, list(files), account_no=account_no, exchange=exchange, captured_at=captured_at)
    analyze(engine, SNAPSHOT.grows)
    return PagesImported(outcome)


@dataclass(frozen=True)
class LinesImported:
    """What importing JSON Lines files did, all files together."""

    lines: int
    refused: int
    written: int  # loaded lines and refused ones (a refused line is kept, as a failed run)


def import_line_files(
    engine: Engine, files: Sequence[Path], *, bar: Bar = no_bar, each: Callable[[Path, ImportReport], None]
) -> LinesImported:
    """Load JSON Lines files one after the other, one snapshot a line; `each` is told each file's report as it is
    done."""
    refused = lines = written = 0
    for path in files:
        with bar(count_lines(path), f"Importing {path.name}") as done:
            report = import_lines(engine, path, progress=done)
        each(path, report)
        refused += len(report.refused)
        lines += report.lines
        written += report.loaded + len(report.refused)
    if written:  # a file imported again grew nothing: its statistics stand
        analyze(engine, SNAPSHOT.grows)
    return LinesImported(lines, refused, written)
