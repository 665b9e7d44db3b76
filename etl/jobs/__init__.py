"""The write side's jobs (beside etl.read, below the use cases): what to fetch, for which accounts, and where it goes
when the database is away; they compose the stages below.

- `job`: what every job is given (the settings, the engine, a fetcher, the clock, a stop event);
- `snapshot`: one snapshot of the accounts × exchanges (flush, fetch, load);
- `account_job`: what the per-account API jobs share, driven by their declaration (etl.apis);
- `ledger`: kt00015 a month at a time, and its replay; `totals`: the day's totals (kt00017), and their replay;
- `backfill`: kt00002's daily estimates of the days before the daemon, and their replay;
- `market`: the market APIs' jobs, no account's: the instrument master and the index and stock daily bars;
- `realized`: ka10074, Kiwoom's daily realised profit, over the backfill's range or the evening's lookback;
- `fills`: the real-time feed's fills into `executions`, held while the database is away;
- `spool`: snapshots kept on disk while the database cannot take them; `flush`: the spool loaded, oldest first;
- `replay`: the snapshot tables rebuilt from raw pages, and answers kept elsewhere imported;
- `doctor`: the database, the spool and the state directory examined.
"""
