"""Kiwoom's own daily realised profit: ka10074 (etl.apis.realized) for every configured account, a calendar month at
a time with continuation, into account_realized_daily — by the backfill over its range, and by the account's evening
day over the last `ledger_lookback_days` (the ledger's lookback), so that a day Kiwoom answers again replaces the
earlier answer. realized_checks holds the figures against the ledger.

What every account job does besides (runs, pages, refusals, 8104 and 8200) is etl.jobs.account_job's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, ClassVar

from etl.apis.api import RowsApi
from etl.apis.realized import REALIZED
from etl.clock import KST
from etl.jobs.account_job import AccountJob, RangeResult, Request
from etl.normalize.realized import asked_range
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

    def _requests(self, result: RealizedResult) -> Iterator[Request]:
        """Each month's request, keeping what it asked (raw_responses.asked), which its page is held to by the job
        and by replay (REALIZED.check)."""
        for request in super()._requests(result):
            start, end = request.params["start"], request.params["end"]
            yield replace(request, asked=asked_range(start, end))
