"""kt00015 (위탁종합거래내역요청), the transaction ledger, declared once: a range of booking days, every kind of line on
both exchanges, oldest first, with continuation, read a calendar month at a time into account_transactions (each
natural key once; a line that comes again with other content into account_transaction_conflicts). Its lines are
classified by the user's mapping, so its job reads and stores them itself (etl.jobs.ledger)."""

from __future__ import annotations

from datetime import date
from typing import Any

from etl.apis.api import Api, Claim, RunsMetric
from etl.kiwoom.endpoints import Endpoint
from etl.normalize.ledger import LEDGER_KEY
from etl.store.dictionary import Counted
from etl.store.models import AccountTransaction, AccountTransactionConflict, DailyReturn, RealizedSale


def _body(start: date, end: date) -> dict[str, Any]:
    return {
        "strt_dt": f"{start:%Y%m%d}",
        "end_dt": f"{end:%Y%m%d}",
        "tp": "0",  # every kind of line
        "stk_cd": "",
        "crnc_cd": "",
        "gds_tp": "0",
        "frgn_stex_code": "",
        "dmst_stex_tp": "%",  # both exchanges
        "qry_sort_tp": "2",  # oldest first
    }


LEDGER = Api(
    endpoint=Endpoint("kt00015", body=_body, list_key=LEDGER_KEY, no_data_is_empty=True),
    what="ledger",
    fetched="the ledger",
    counted=Counted("ledger lines", "received"),
    claim=Claim.RANGE,
    table=AccountTransaction.__table__,
    # daily_returns: its flows; realized_sales: its share lines
    also_writes=(AccountTransactionConflict.__table__, DailyReturn.__table__, RealizedSale.__table__),
    runs_metric=RunsMetric("ledger", "Account ledger"),
)
