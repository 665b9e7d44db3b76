"""The planner's statistics after a bulk load: ANALYZE of the tables a command grew.

A table filled by one `import`, `replay`, `flush` or `backfill` is planned from the statistics it had before — none,
on a new database — until autovacuum's next round (PostgreSQL) or for ever (SQLite keeps no statistics unless
asked). Planned from empty statistics, `latest_positions` of one account ran for minutes on a nested loop over two
million positions where it takes a millisecond once analyzed: PostgreSQL's own advice is to ANALYZE after a bulk
load. On SQLite `PRAGMA optimize` would not do it here: before 3.46 it analyzes only what the same connection has
queried, and a command's fresh connection has queried nothing; so the tables are analyzed by name, within
`analysis_limit` rows per index, which keeps the cost small on any history. Which tables a load grows, each API's
declaration says (etl.apis: `Api.grows`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine

from etl.errors import StorageError
from etl.store.engine import transaction

log = logging.getLogger(__name__)

SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index: SQLite's docs suggest 100 to 1000


def analyze(engine: Engine, tables: Sequence[str]) -> None:
    """ANALYZE `tables` (each once, in order); a failure is a warning: the rows are loaded whatever it says."""
    names = list(dict.fromkeys(tables))
    try:
        with transaction(engine, f"analyzing {', '.join(names)}") as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
                for name in names:
                    connection.exec_driver_sql(f"ANALYZE {name}")
                connection.exec_driver_sql("PRAGMA analysis_limit = 0")  # the pooled connection as it was
            else:
                connection.exec_driver_sql(f"ANALYZE {', '.join(names)}")
    except StorageError as exc:
        log.warning("%s; the views may be slow until the database analyzes them itself", exc)
