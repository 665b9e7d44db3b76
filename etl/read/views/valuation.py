"""The one valuation of a securities transfer, shared by the views that need it (account_flows_daily's flows,
realized_pnl's cost): its amount, else its quantity at the day's close from a snapshot.

One expression, so that a transfer never has two values: a later fallback (the stock's own daily close) is added here
once, for every reader.
"""

from __future__ import annotations


def _close_price(exchange: str) -> str:
    """The current_price of the line's stock at the account's `exchange` close of its booking day."""
    return f"""(SELECT MAX(p.current_price) FROM {{closes}} d
            JOIN position_snapshots p ON p.snapshot_id = d.snapshot_id
            WHERE d.account_no = a.account_no AND d.exchange = '{exchange}' AND d.trade_date = a.settlement_date
              AND p.stock_code = a.stock_code)"""


# The value of ledger line `a` (account_transactions): a transfer's amount, else its quantity at the day's close (KRX's,
# else NXT's; NULL when neither lists the stock); 0 for a line of another kind. The price is looked up for a transfer
# without an amount only.
TRANSFER_VALUE = f"""CASE WHEN COALESCE(a.trade_amount, 0) <> 0 THEN a.trade_amount
            WHEN a.kind IN ('securities_in', 'securities_out')
            THEN CAST(ROUND(a.quantity * COALESCE({_close_price("KRX")}, {_close_price("NXT")})) AS BIGINT)
            ELSE 0 END"""
