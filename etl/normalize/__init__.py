"""Raw pages → rows (the floor above the client, below the store): the pure transforms of Kiwoom's answers into exact
rows.

No I/O and no clock: everything it needs is passed in, and a value that does not match the contract is refused.

- `transform`: kt00005 → one account row and its position rows;
- `ledger`: kt00015 → account_transactions rows, each classified by a keyword mapping;
- `totals`: kt00017 → one account_day_totals row;
- `estimates`: kt00002 → account_daily_estimates rows;
- `instruments`: ka10099, ka10100 → instruments rows; `charts`: ka20006, ka10081 → index_daily, stock_daily rows.
- `realized`: ka10074 → account_realized_daily rows.
- `executions`: a `00` (주문체결) push of the real-time feed → one executions row, or None for an order event that
  is no fill.
"""
