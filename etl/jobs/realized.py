"""Kiwoom's own daily realised profit: ka10074 (etl.apis.realized) for every configured account, a calendar month at
a time with continuation, into account_realized_daily — by the backfill over its range, and by the account's evening
day over the last `ledger_lookback_days` (the ledger's lookback), so that a day Kiwoom answers again replaces the
earlier answer. realized_checks holds the figures against the ledger.

What every account job does besides (runs, pages, refusals, 8104 and 8200) is etl.jobs.account_job's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from etl.apis.api import RowsApi
from etl.apis.realized import REALIZED
from etl.clock import KST
from etl.errors import TransformError
from etl.jobs.account_job import AccountJob, RangeResult, Request
from etl.kiwoom.pages import Page
from etl.normalize.realized import LINES
from etl.store.models import RunStatus


@dataclass
class RealizedResult(RangeResult):
    """How one account's ka10074 run ended."""

    api: ClassVar[RowsApi] = REALIZED

    @property
    def days(self) -> int:
        """The days received (only those with realised profit are listed)."""
        return self.rows


class RealizedJob(AccountJob[RealizedResult]):
    """ka10074 for every configured account over [since, until]: by default the ledger's lookback up to today."""

    result_type = RealizedResult

    def _begin(
        self, account_no: str, *, since: date | None = None, until: date | None = None, **options: Any
    ) -> RealizedResult:
        today = self.clock().astimezone(KST).date()
        first = since or today - timedelta(days=self.settings.ledger_lookback_days)
        return RealizedResult(account_no, RunStatus.RUNNING, since=first, until=until or today)

    def _check(self, request: Request, rows: Sequence[Any], page: Page, first_line: int) -> None:
        """A line dated outside the request's strt_dt–end_dt is not its answer: which day it stands for is no one's
        guess, so the page is refused (as a value off the contract is)."""
        start, end = request.params["start"], request.params["end"]
        for number, row in enumerate(rows, start=first_line):
            day = row["trade_date"]
            if not start <= day <= end:
                raise TransformError(
                    f"not in {start} – {end}, the range asked",
                    field="dt",
                    value=f"{day:%Y%m%d}",
                    line=number,
                    page=page.page_no,
                    lines=LINES,
                )
