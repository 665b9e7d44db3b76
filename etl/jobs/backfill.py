"""The backfill: the days before the daemon started. kt00002's daily estimated assets (a calendar month at a time,
with continuation) into account_daily_estimates, then the ledger (kt00015) over the same range, so that the
returns and the equity curve reach back before the first snapshot: account_returns_daily takes an estimate for a
KRX day without a snapshot, marked `source = 'estimate'` (estimates fill the KRX series only).

Each month's pages go to raw_responses with its rows, in one transaction; a page off the contract refuses its month
(kept, counted, loaded by `replay` once it reads), and the months after it still load. What every account job does
besides (runs, 8104 and 8200) is etl.jobs.account_job's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, insert

from etl.clock import KST, utc_now
from etl.errors import TransformError
from etl.jobs.account_job import AccountJob, AccountResult
from etl.jobs.ledger import months
from etl.jobs.replay import heal_runs, kept_pages, stored_page
from etl.kiwoom.client import KiwoomClient
from etl.kiwoom.pages import Page
from etl.normalize.estimates import estimate_rows
from etl.store.engine import transaction
from etl.store.estimates import store_estimates
from etl.store.load import page_row
from etl.store.models import RawResponse, Reason, RunStatus
from etl.store.runs import Run

log = logging.getLogger(__name__)

API_ID = "kt00002"


@dataclass
class EstimatesResult(AccountResult):
    """How one account's kt00002 run ended."""

    since: date | None = None
    until: date | None = None
    days: int = 0  # received
    written: int = 0
    refused: list[str] = field(default_factory=list)  # one text per refused page

    @property
    def count(self) -> int:
        return self.days


class EstimatesJob(AccountJob[EstimatesResult]):
    """kt00002 for every configured account over [since, until]."""

    api_id = API_ID
    what = "estimates"
    result_type = EstimatesResult

    def _begin(
        self, account_no: str, *, since: date | None = None, until: date | None = None, **options: Any
    ) -> EstimatesResult:
        if since is None:
            raise ValueError("a backfill needs its first day")
        last = until or self.clock().astimezone(KST).date()
        return EstimatesResult(account_no, RunStatus.RUNNING, since=since, until=last)

    def _work(self, client: KiwoomClient, run: Run, result: EstimatesResult) -> None:
        assert result.since is not None and result.until is not None
        for first, last in months(result.since, result.until):
            if self.stop.is_set():
                result.failed(Reason.ABANDONED, "stopped before every month was read")
                return
            pages: list[Page] = []
            try:
                for page in client.estimate_pages(first, last):
                    pages.append(page)
            finally:
                result.pages += len(pages)
                self._month(run, (first, last), pages, result)
        if result.refused:
            result.failed(
                Reason.PAYLOAD_REFUSED, f"{len(result.refused)} page(s) refused: " + "; ".join(result.refused)
            )
        else:
            result.status = RunStatus.SUCCESS

    def _month(self, run: Run, span: tuple[date, date], pages: list[Page], result: EstimatesResult) -> None:
        """Store one month's pages, and its rows unless a page is refused."""
        if not pages:
            return
        rows: list[dict[str, Any]] = []
        refused = False
        for page in pages:
            try:
                rows += estimate_rows(page, account_no=result.account, first_line=len(rows)).rows
            except TransformError as exc:
                result.refused.append(f"{span[0]} – {span[1]} page {page.page_no}: {exc}")
                log.warning("%s estimates: page %d refused: %s", result.account, page.page_no, exc)
                refused = True
        result.days += len(rows)
        with transaction(self.engine, "loading the estimates") as connection:
            connection.execute(insert(RawResponse), [page_row(page, run.id, result.account, None) for page in pages])
            if not refused:
                result.written += store_estimates(connection, rows, run_id=run.id)


def replay_estimates(
    engine: Engine, *, since: date | None = None, account: str | None = None, clock: Callable[[], datetime] = utc_now
) -> tuple[int, int]:
    """Store the kept kt00002 pages again with today's transform (a later answer for a day still wins); a run
    refused for a page that reads now becomes a success (reason replayed). Returns (pages read, pages refused)."""
    query = kept_pages(API_ID, since=since, account=account)
    now = clock()
    read, refused, healed, failed = 0, 0, set(), set()
    with transaction(engine, "replaying the estimates") as connection:
        for row in connection.execute(query.order_by(RawResponse.id)).all():
            read += 1
            try:
                rows = estimate_rows(stored_page(row), account_no=str(row.account_no)).rows
            except TransformError as exc:
                log.warning("run %d: today's transform refuses a kt00002 page (%s)", row.run_id, exc)
                refused += 1
                failed.add(row.run_id)
                continue
            store_estimates(connection, rows, run_id=row.run_id)
            healed.add(row.run_id)
        heal_runs(connection, healed - failed, now)
    return read, refused
