"""The demo: the simulator on a free loopback port, a migrated SQLite file, a few snapshots while prices move."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from etl.console import table
from etl.errors import EtlError
from etl.jobs.snapshot import Snapshotter, results_table
from etl.kiwoom.simulator import Simulator, make_account, serve
from etl.settings import Account, Secret, Settings, mask_database_url
from etl.store.engine import storage_errors
from etl.store.schema import connected, migrate, sqlite_file

DEMO_PREFIX = "demo-"

EXAMPLE_QUERIES = [
    (
        "Latest holdings of each account, with profit and loss",
        """SELECT p.account_no, p.exchange, p.stock_code, p.stock_name, p.quantity,
       p.current_price, p.evaluation_amount, p.profit_loss,
       CAST(p.profit_loss_rate AS TEXT) AS profit_loss_rate
FROM position_snapshots p
JOIN (SELECT account_no, exchange, MAX(captured_at) AS captured_at
      FROM account_snapshots GROUP BY account_no, exchange) latest
  ON latest.account_no = p.account_no AND latest.exchange = p.exchange
 AND latest.captured_at = p.captured_at
ORDER BY p.account_no, p.exchange, p.line_no
LIMIT 8""",
    ),
    (
        "Account value over time",
        """SELECT account_no, exchange, captured_at, total_evaluation_amount,
       total_profit_loss, CAST(total_profit_loss_rate AS TEXT) AS total_profit_loss_rate,
       position_count
FROM account_snapshots
ORDER BY account_no, exchange, captured_at""",
    ),
]


def run_demo(database_url: str, *, snapshots: int, interval: float, echo: Callable[[str], None]) -> bool:
    """Run the demo end to end; True when every snapshot loaded."""
    simulator = Simulator(accounts=[make_account(1, 12), make_account(2, 4)], page_size=5)
    with connected(database_url, migrated=False) as engine:
        _refuse_foreign_data(engine, database_url)  # before anything is migrated or written
        before, after = migrate(engine)
        all_ok = True
        with serve(simulator) as base_url, tempfile.TemporaryDirectory(prefix="kiwoom-etl-demo-") as state:
            accounts = tuple(
                Account(Secret(a.appkey), Secret(a.secretkey), name=f"{DEMO_PREFIX}{i}")
                for i, a in enumerate(simulator.accounts, start=1)
            )
            settings = Settings(
                base_url=base_url,
                database_url=database_url,
                state_dir=Path(state),
                accounts=accounts,
                rate_per_second=10.0,
                rate_burst=5,
            )
            echo(
                f"Simulator: {base_url} ({len(accounts)} accounts on KRX and NXT, {simulator.page_size} "
                "positions per page)"
            )
            echo(f"Database:  {mask_database_url(database_url)} (schema {before or 'new'} → {after})\n")
            snapshotter = Snapshotter(settings, engine)
            try:
                for n in range(1, snapshots + 1):
                    results = snapshotter.take(trigger="demo")
                    all_ok = all_ok and all(r.ok for r in results)
                    echo(f"Snapshot {n} of {snapshots}:\n{results_table(results)}\n")
                    if n < snapshots:
                        echo(f"(prices move; next snapshot in {interval:g} s)\n")
                        time.sleep(interval)
            finally:
                snapshotter.close()
        echo(
            f"The history is in {mask_database_url(database_url)}. Two example queries (rates are CAST to "
            "text so that SQLite, which has no decimal type, shows their exact value):\n"
        )
        with engine.connect() as connection:
            for title, sql in EXAMPLE_QUERIES:
                result = connection.execute(text(sql))
                echo(f"-- {title}\n{sql};\n\n{table(list(result.keys()), [tuple(row) for row in result])}\n")
        return all_ok


def _refuse_foreign_data(engine: Engine, database_url: str) -> None:
    """EtlError when the database holds a non-demo account; reads only, and never creates a SQLite file."""
    # The demo writes made-up accounts; never mix them into a database that holds real history.
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        return  # nothing there yet: connecting would create the file, and migrating will
    with storage_errors(engine, "checking for real accounts"), engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        for table, what in (("account_snapshots", "snapshots"), ("etl_runs", "runs")):
            if table not in present:
                continue
            foreign = connection.execute(
                text(f"SELECT account_no FROM {table} WHERE account_no NOT LIKE :demo LIMIT 1"),  # noqa: S608
                {"demo": f"{DEMO_PREFIX}%"},
            ).scalar()
            if foreign is not None:
                raise EtlError(
                    f"{mask_database_url(database_url)} already holds real {what} (account {foreign}); "
                    "the demo will not mix made-up data into it: pass --database-url sqlite:///demo.db"
                )
