"""The read side (beside etl.jobs, above the API declarations and the store, below the use cases): what the history
answers — the analyst views, status, returns, the report and the exports.

It reads what the write side (etl.jobs through etl.store) loaded and writes nothing to the database but the views
and their comments, which the migrations create through it.

- `views/`: the analyst views, one module per family, each view's SQL beside its column docs; creating and
  dropping them.
- `dictionary`: the data dictionary whole (the store's tables and the views) and `apply_comments`, its COMMENT ON.
- `status`: where the history stands per account × exchange, read from etl_runs.
- `returns`: a period's performance (TWR, XIRR, drawdown, the return items) from the returns views.
- `benchmark`: the account against a market index over a period: its return, the excess, beta, correlation.
- `report`: the report's model, read from the views; `report_html`: that model as one self-contained HTML page;
  `report_labels`: its words in each language (Korean, English) and how it writes numbers; `intraday`: one day
  inside, its snapshots with their triggers and the account's fills, which the report draws for its last day.
- `export`: one view or table to CSV or Parquet, its values exact.
- `portfolio`: the ledger as Portfolio Performance's CSV and Ghostfolio's JSON.
"""
