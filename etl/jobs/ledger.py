"""The ledger job: kt00015 for every configured account, a calendar month at a time, into account_transactions.

Each account's run reads from `ledger_lookback_days` before its newest loaded line (so that a line booked late is
not lost), or `ledger_first_days` back the first time, or from `--since`, up to today (KST). Every page goes to
raw_responses; a page whose values do not match the contract is refused, counted, and the months after it still
load; each month's lines load in one transaction with its pages. What every account job does besides (runs, 8104
and 8200) is etl.jobs.account_job's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from etl.clock import KST, utc_now
from etl.errors import TransformError
from etl.jobs.account_job import AccountJob, AccountResult
from etl.jobs.replay import heal_runs, kept_pages, stored_page
from etl.kiwoom.client import KiwoomClient
from etl.kiwoom.fetcher import Fetcher
from etl.kiwoom.pages import Page
from etl.normalize.ledger import Classifier, LedgerLine, page_lines
from etl.settings import Settings
from etl.store.engine import storage_errors, transaction
from etl.store.ledger import LedgerLoad, newest_settlement_date, store_lines
from etl.store.load import page_row
from etl.store.models import RawResponse, Reason, RunStatus
from etl.store.runs import Run

log = logging.getLogger(__name__)

API_ID = "kt00015"


class _Interrupted(Exception):
    """The daemon is stopping: the months not read yet are left to the next run."""


@dataclass
class LedgerResult(AccountResult):
    """How one account's ledger run ended."""

    since: date | None = None
    until: date | None = None
    lines: int = 0  # received
    load: LedgerLoad = field(default_factory=LedgerLoad)
    refused: list[str] = field(default_factory=list)  # one text per refused page

    @property
    def count(self) -> int:
        return self.lines


def months(start: date, end: date) -> Iterator[tuple[date, date]]:
    """[start, end] cut at calendar month boundaries, oldest first."""
    while start <= end:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = min(end, following - timedelta(days=1))
        yield start, last
        start = last + timedelta(days=1)


class LedgerJob(AccountJob[LedgerResult]):
    """The ledger of every configured account; remembers, for this process, a server that does not offer it."""

    api_id = API_ID
    what = "ledger"
    result_type = LedgerResult

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        stop: threading.Event | None = None,
    ) -> None:
        super().__init__(settings, engine, fetcher, clock=clock, stop=stop)
        self.classifier = Classifier.with_rules(settings.ledger_rules)
        self._warned_fields: set[str] = set()

    def _begin(self, account_no: str, *, since: date | None = None, **options: Any) -> LedgerResult:
        """From `since` (default: see the module) to today."""
        today = self.clock().astimezone(KST).date()
        start = since or self._default_start(account_no, today)
        return LedgerResult(account_no, RunStatus.RUNNING, since=start, until=today)

    def _work(self, client: KiwoomClient, run: Run, result: LedgerResult) -> None:
        assert result.since is not None and result.until is not None
        try:
            for first, last in months(result.since, result.until):
                if self.stop.is_set():
                    raise _Interrupted
                pages: list[Page] = []
                try:
                    for page in client.ledger_pages(first, last):
                        pages.append(page)
                finally:
                    result.pages += len(pages)
                    self._month(run, result.account, (first, last), pages, result)
        except _Interrupted:
            result.failed(
                Reason.ABANDONED, "stopped before every month was read: the next run reads on from the newest line"
            )
            return
        if result.refused:
            result.failed(
                Reason.PAYLOAD_REFUSED, f"{len(result.refused)} page(s) refused: " + "; ".join(result.refused)
            )
        else:
            result.status = RunStatus.SUCCESS

    def _default_start(self, account_no: str, today: date) -> date:
        with storage_errors(self.engine, "reading the ledger"), self.engine.connect() as connection:
            newest = newest_settlement_date(connection, account_no)
        if newest is None:
            return today - timedelta(days=self.settings.ledger_first_days)
        return min(newest, today) - timedelta(days=self.settings.ledger_lookback_days)

    def _month(
        self, run: Run, account_no: str, span: tuple[date, date], pages: list[Page], result: LedgerResult
    ) -> None:
        """Store one month's pages, and its lines unless a page is refused."""
        if not pages:
            return
        lines: list[LedgerLine] = []
        refused = False
        for page in pages:
            try:
                read = page_lines(page, self.classifier, first_line=len(lines))
            except TransformError as exc:
                result.refused.append(f"{span[0]} – {span[1]} page {page.page_no}: {exc}")
                log.warning("%s ledger: page %d refused: %s", account_no, page.page_no, exc)
                refused = True
                continue
            lines += read.lines
            self._warn_unknown_fields(read.unknown_fields)
        result.lines += len(lines)
        now = self.clock()
        with transaction(self.engine, "loading the ledger") as connection:
            connection.execute(insert(RawResponse), [page_row(page, run.id, account_no, None) for page in pages])
            if not refused:
                result.load += store_lines(
                    connection,
                    lines,
                    run_id=run.id,
                    account_no=account_no,
                    received_at=pages[0].received_at,
                    loaded_at=now,
                )

    def _warn_unknown_fields(self, names: frozenset[str]) -> None:
        new = names - self._warned_fields
        if new:
            self._warned_fields |= new
            log.warning("kt00015 sent field(s) the contract does not know, kept in raw_responses: %s", sorted(new))


@dataclass
class LedgerReplay:
    """What a ledger replay did."""

    pages: int = 0
    refused: int = 0
    load: LedgerLoad = field(default_factory=LedgerLoad)

    def __str__(self) -> str:
        return (
            f"{self.pages} ledger page(s): {sum(self.load.added.values())} line(s) added, {self.load.unchanged} "
            f"unchanged, {self.load.conflicts} conflict(s), {self.refused} page(s) refused by today's transform"
        )


def replay_ledger(
    engine: Engine,
    classifier: Classifier,
    *,
    since: date | None = None,
    account: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> LedgerReplay:
    """Rebuild account_transactions from the kept kt00015 pages with today's transform and mapping, oldest first;
    idempotent like a ledger run (a line already stored as it reads is left alone). A run that had failed because
    a page was refused, and whose pages all read now, becomes a success (reason replayed)."""
    report = LedgerReplay()
    # Whole runs: every page of a run with a page in scope, so that a run is healed only when all of it reads.
    runs = kept_pages(API_ID, since=since, account=account).with_only_columns(RawResponse.run_id)
    query = kept_pages(API_ID).where(RawResponse.run_id.in_(runs))
    now = clock()
    with transaction(engine, "replaying the ledger") as connection:
        rows = connection.execute(query.order_by(RawResponse.run_id, RawResponse.id)).all()
        refused_runs: set[int] = set()
        for chain in _chains(rows):  # a month's pages: refused whole, as the run refused them
            report.pages += len(chain)
            lines: list[LedgerLine] = []
            try:
                for row in chain:
                    if row.payload is None:  # kept as text: not a JSON object, or JSON no SQL text column holds
                        raise TransformError("the page is not a JSON object", field="body", value=row.body_text[:80])
                    lines += page_lines(stored_page(row), classifier, first_line=len(lines)).lines
            except TransformError as exc:
                log.warning("run %d: today's transform refuses a ledger page (%s)", chain[0].run_id, exc)
                report.refused += 1
                refused_runs.add(chain[0].run_id)
                continue
            report.load += store_lines(
                connection,
                lines,
                run_id=chain[0].run_id,
                account_no=str(chain[0].account_no),
                received_at=chain[0].received_at,
                loaded_at=now,
            )
        heal_runs(connection, {row.run_id for row in rows} - refused_runs, now)
    return report


def _chains(rows: Sequence[Any]) -> Iterator[list[Any]]:
    """Stored pages cut into their continuation chains (one a month of a run): each starts at page 0."""
    chain: list[Any] = []
    for row in rows:
        if chain and (row.page_no == 0 or row.run_id != chain[0].run_id):
            yield chain
            chain = []
        chain.append(row)
    if chain:
        yield chain
