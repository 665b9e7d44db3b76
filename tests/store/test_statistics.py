"""After a bulk load the planner has statistics: import, flush, replay and backfill ANALYZE the tables they grew,
on both backends (real commands, a real database; whether a table was analyzed is read from the database itself)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, text

from etl.clock import KST
from etl.jobs.replay import import_lines
from etl.jobs.spool import Spool
from etl.sim.accounts import make_account
from etl.sim.history import make_history
from etl.sim.simulator import Simulator, serve
from etl.store.identity import learn_identity
from etl.store.models import AccountSnapshot
from tests.support import Clock, account_env, kiwoom_etl
from tests.support.answers import capture, line

SNAPSHOT_TABLES = {"etl_runs", "raw_responses", "account_snapshots", "position_snapshots", "daily_closes"}


def analyzed(engine: Engine) -> set[str]:
    """The tables the database holds planner statistics for."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            if connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first() is None:
                return set()  # ANALYZE never ran: the table is created by the first one
            return set(connection.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).scalars())
        query = "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
        return set(connection.execute(text(query)).scalars())


@pytest.mark.parametrize("command", ["import", "flush", "replay"])
def test_a_bulk_load_of_snapshots_leaves_their_tables_analyzed(
    engine: Engine, db_url: str, tmp_path: Path, command: str
) -> None:
    env = {"KIWOOM_ETL_DATABASE_URL": db_url, "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    history = tmp_path / "history.jsonl"
    history.write_text("".join(line(n) + "\n" for n in range(5)), encoding="utf-8")
    if command == "import":
        args = ["import", str(history)]
    elif command == "flush":  # spooled while the database was away
        spool = Spool(tmp_path / "state")
        for day in range(1, 6):
            spool.write(capture(datetime(2026, 11, day, 6, 30, tzinfo=UTC)), learn_identity(engine))
        args = ["flush"]
    else:  # raw pages without their snapshots, as after a parser fix
        assert import_lines(engine, history, clock=Clock(datetime(2026, 12, 1, tzinfo=UTC))).loaded == 5
        with engine.begin() as connection:
            connection.execute(delete(AccountSnapshot))
        args = ["replay"]
    assert not analyzed(engine) & SNAPSHOT_TABLES  # a new database: no statistics yet

    done = kiwoom_etl(*args, env=env)

    assert done.returncode == 0, done.stderr
    assert analyzed(engine) >= SNAPSHOT_TABLES


def test_backfill_leaves_the_estimates_and_the_ledger_analyzed(engine: Engine, db_url: str, tmp_path: Path) -> None:
    today = datetime.now(KST).date()  # the command line runs on the real clock, and so does the simulator's history
    account = make_account(1, 3)
    account.history = make_history(today - timedelta(days=30), 31, seed=1)
    simulator = Simulator(accounts=[account], today=lambda: today)
    assert not analyzed(engine) & {"account_daily_estimates", "account_transactions"}

    with serve(simulator) as url:
        done = kiwoom_etl(
            "backfill", "--since", f"{account.history.start}", env=account_env(simulator, url, db_url, tmp_path)
        )

    assert done.returncode == 0, done.stderr
    assert analyzed(engine) >= {"etl_runs", "raw_responses", "account_daily_estimates", "account_transactions"}
