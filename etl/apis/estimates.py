"""kt00002 (일별추정예탁자산현황요청), the daily estimated assets, declared once: a range of days, a line a day under
daly_prsm_dpst_aset_amt_prst with continuation, read by the backfill a calendar month at a time into
account_daily_estimates, where a later answer for a day replaces an earlier one."""

from __future__ import annotations

from datetime import date
from typing import Any

from etl.apis.api import Claim, Rows, RowsApi
from etl.kiwoom.endpoints import Endpoint
from etl.kiwoom.pages import Page
from etl.normalize.estimates import ESTIMATES_KEY, estimate_rows
from etl.store.daily import store_daily
from etl.store.models import AccountDailyEstimate


def _body(start: date, end: date) -> dict[str, Any]:
    return {"start_dt": f"{start:%Y%m%d}", "end_dt": f"{end:%Y%m%d}"}


def _read(page: Page, account_no: str, first_line: int) -> Rows:
    read = estimate_rows(page, account_no=account_no, first_line=first_line)
    return Rows(read.rows, read.unknown_fields)


ESTIMATES = RowsApi(
    # Not on the mock server (8104), nor for a company's account (8200).
    endpoint=Endpoint("kt00002", body=_body, list_key=ESTIMATES_KEY, no_data_is_empty=True),
    what="estimates",
    claim=Claim.RANGE,
    table=AccountDailyEstimate.__table__,
    read=_read,
    store=store_daily,
)
