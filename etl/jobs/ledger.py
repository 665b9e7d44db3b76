"""The ledger job: kt00015 (etl.apis.ledger) for every configured account, a calendar month at a time, into
account_transactions.

Each account's run reads from `ledger_lookback_days` before its newest loaded line (so that a line booked late is
not lost), or `ledger_first_days` back the first time, or from `--since`, up to today (KST). Its lines are classified
by the user's mapping on the way in. What every account job does besides (runs, pages, refusals, 8104 and 8200) is
etl.jobs.account_job's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine

from etl.apis.api import Api, Rows
from etl.apis.ledger import LEDGER
from etl.clock import KST, utc_now
from etl.errors import TransformError
from etl.jobs.account_job import AccountJob, RangeResult
from etl.jobs.replay import heal_runs, kept_pages, stored_page
from etl.kiwoom.pages import Page
from etl.normalize.ledger import Classifier, LedgerLine, page_lines
from etl.store.engine import storage_errors, transaction
from etl.store.ledger import LedgerLoad, newest_settlement_date, store_lines
from etl.store.models import RawResponse, RunStatus
from etl.store.runs import Run

log = logging.getLogger(__name__)


@dataclass
class LedgerResult(RangeResult):
    """How one account's ledger run ended."""

    api: ClassVar[Api] = LEDGER
    load: LedgerLoad = field(default_factory=LedgerLoad)

    @property
    def lines(self) -> int:
        """The lines received."""
        return self.rows


class LedgerJob(AccountJob[LedgerResult]):
    """The ledger of every configured account; remembers, for this process, a server that does not offer it."""

    result_type = LedgerResult
    stopped = "stopped before every month was read: the next run reads on from the newest line"

    def _prepare(self) -> None:
        super()._prepare()
        self.classifier = Classifier.with_rules(self.settings.ledger_rules)

    def _begin(self, account_no: str, *, since: date | None = None, **options: Any) -> LedgerResult:
        """From `since` (default: see the module) to today."""
        today = self.clock().astimezone(KST).date()
        start = since or self._default_start(account_no, today)
        return LedgerResult(account_no, RunStatus.RUNNING, since=start, until=today)

    def _default_start(self, account_no: str, today: date) -> date:
        with storage_errors(self.engine, "reading the ledger"), self.engine.connect() as connection:
            newest = newest_settlement_date(connection, account_no)
        if newest is None:
            return today - timedelta(days=self.settings.ledger_first_days)
        return min(newest, today) - timedelta(days=self.settings.ledger_lookback_days)

    def _read(self, page: Page, account_no: str, first_line: int) -> Rows:
        read = page_lines(page, self.classifier, first_line=first_line)
        return Rows(read.lines, read.unknown_fields)

    def _store(
        self, connection: Connection, run: Run, rows: Sequence[Any], pages: Sequence[Page], result: LedgerResult
    ) -> None:
        result.load += store_lines(
            connection,
            rows,
            run_id=run.id,
            account_no=result.account,
            received_at=pages[0].received_at,
            loaded_at=self.clock(),
        )


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
    runs = kept_pages(LEDGER.api_id, since=since, account=account).with_only_columns(RawResponse.run_id)
    query = kept_pages(LEDGER.api_id).where(RawResponse.run_id.in_(runs))
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
