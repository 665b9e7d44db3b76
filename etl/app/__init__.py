"""The application layer (the floor below the command line, the daemon and the demo): one function per use case,
each given the settings and an engine (and what else it needs: a clock, a fetcher, a progress bar) and returning a
frozen dataclass that says what happened.

- `collect`: take a snapshot, run the account's day (the ledger, then the day's totals when due), the day's totals
  alone, backfill a range;
- `market`: refresh the instrument master, take the index and stock daily bars of a range (no account's);
- `history`: flush the spool, replay everything, reclassify the ledger, import kept answers;
- `outputs`: export a view or table, export for a tool, write the report, measure the returns;
- `realtime`: listen to the real-time feed: the fills kept, a snapshot after each change, one listener per app key;
- `status`: the status findings: the spool, the configured accounts, what needs the user's eye;
- `admin`: migrate, doctor's diagnosis;
- `tokens`: revoke the cached access tokens;
- `wiring`: the database and the schedule the settings name.

The command line, the daemon and the demo call these and decide nothing of their own.
"""
