"""The one valuation of a securities transfer, shared by what needs it (account_flows_daily's flows, realized_sales'
cost in etl.store.realized) and the exports (etl.read.portfolio reads it through account_flows_daily's expression):
its amount, else its quantity at the day's close from a snapshot, else at the stock's own close that day
(stock_daily, ka10081).

One expression, so that a transfer never has two values. A day with neither close leaves the transfer unvalued
(NULL): account_flows_daily counts it. When stock_daily loads a day later, the accounts' daily_returns and
realized_sales are refreshed from it (etl.apis.charts), so that the tables and the views agree.
"""

from __future__ import annotations

# The tables the expression reads besides daily_closes and position_snapshots: a view using it needs them.
VALUATION_TABLES = ("account_transactions", "stock_daily")


def _close_price(exchange: str) -> str:
    """The current_price of the line's stock at the account's `exchange` close of its booking day."""
    return f"""(SELECT MAX(p.current_price) FROM {{closes}} d
            JOIN position_snapshots p ON p.snapshot_id = d.snapshot_id
            WHERE d.account_no = a.account_no AND d.exchange = '{exchange}' AND d.trade_date = a.settlement_date
              AND p.stock_code = a.stock_code)"""


# The stock's unadjusted close of the line's booking day (stock_daily's key: one row at most).
_DAILY_CLOSE = """(SELECT s.close FROM stock_daily s
            WHERE s.stock_code = a.stock_code AND s.trade_date = a.settlement_date)"""

# The value of ledger line `a` (account_transactions): a transfer's amount, else its quantity at the day's close (a
# snapshot's, KRX's else NXT's, else stock_daily's; NULL when none has the stock that day); 0 for a line of another
# kind. The price is looked up for a transfer without an amount only.
TRANSFER_VALUE = f"""CASE WHEN COALESCE(a.trade_amount, 0) <> 0 THEN a.trade_amount
            WHEN a.kind IN ('securities_in', 'securities_out')
            THEN CAST(ROUND(a.quantity * COALESCE({_close_price("KRX")}, {_close_price("NXT")}, {_DAILY_CLOSE}))
                      AS BIGINT)
            ELSE 0 END"""
