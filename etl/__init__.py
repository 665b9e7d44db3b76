"""kiwoom-etl: snapshots of a Kiwoom Securities account (kt00005) loaded exactly into SQL history tables.

Data flows one way, one module per stage::

    settings ─► client (Kiwoom REST: tokens, pacing, retries) ─► pages (raw answers)
             ─► transform (pure: pages → rows) ─► load (one transaction per snapshot) ─► tables (models)

The command line (``etl.cli``) is the user's interface; the tables are the analyst's. The floors, top to bottom (a
module imports only its own floor's package or lower floors; pyproject.toml's import-linter contract checks it):

- `cli`: the command line, thin commands and their renderers;
- `daemon`: the runner that takes the slots on a timer; `sim`: the simulator of the Kiwoom API and the demo;
- `app`: the use cases the command line, the daemon and the demo call;
- `jobs`: the write side (snapshot, ledger, totals, backfill, spool, flush, replay, import);
  `read`: the read side (views, status, returns, report, exports);
- `apis`: each Kiwoom API declared once;
- `store`: the tables, the engine, the migrations' glue and the one load;
- `normalize`: the pure transforms, raw pages → rows;
- `kiwoom`: the REST client, tokens, pacing, retries, raw pages;
- `settings`, `logs`, `console`, `schedule`: the settings built at the edge, logging, terminal tables, the slots;
- `files`, `clock`, `redact`, `text`: private files, time and the KRX calendar, masked URLs, visible escapes;
- `errors`: the one exception tree;
- `migrations`: Alembic's environment and revisions (the top-level migrations/ folder, installed here);
  `__main__`: ``python -m etl``.
"""

__version__ = "0.1.0"
