"""Rows → tables (the floor above the transforms, below the API declarations): the models and column types, the engine
and migrations glue, and the one load.

Every way data enters the tables (a fetch, a flush, an import, a replay) goes through `etl.store.load.load` (the
real-time feed's fills through `etl.store.executions`); the derived tables (daily_closes, daily_returns,
realized_sales) are kept by the loads themselves, in their transactions.

- `models`: the history tables; `sqltypes`: column types that keep values exact; `dictionary`: their column docs;
- `engine`: the engine for a URL, its transactions, SQLAlchemy's errors translated;
- `schema`: the migrations (Alembic) and the check that the schema is current; `health`: whether the database can
  be used now; `identity`: which database a URL names; `statistics`: ANALYZE after a bulk load;
- `capture`: one snapshot's raw pages, as every load takes them; `load`: the load of snapshots;
- `ledger`: the ledger's load; `executions`: the load of the real-time feed's fills; `conflicts`: how both record
  a key that came again with other content; `daily`: the tables of one row per account (or code) and day;
  `estimates`: where the estimates meet the snapshots; `closes`: daily_closes, derived from the snapshots;
  `returns`: daily_returns, derived from the closes, the estimates and the ledger; `valuation`: the one value of a
  securities transfer, which the flows and the costs share; `realized`: realized_sales, the moving-average cost walk
  of each account's ledger; `instruments`: the instrument master's load and the codes the accounts held or traded;
- `runs`: etl_runs bookkeeping (claimed slots, missed and skipped runs, abandoned runs); `lease`: realtime_leases,
  which replica listens to an app key's real-time feed (a row with an expiry its holder renews).
"""
