"""Atomic under kill -9: SIGKILL inside the loads of snapshots and flushes (seen open from outside) never leaves a
partial snapshot, and the next run neither duplicates nor loses one."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from etl.sim.accounts import make_account
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import EtlRun
from tests.support import account_env, assert_nothing_partial, kiwoom_etl
from tests.support.schema import migrated

KILLS = 6


def successes(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).where(EtlRun.status == "success")).scalar_one())


def load_open(engine: Engine) -> bool:
    """Whether another connection holds a write transaction open that has written positions (PostgreSQL) or holds
    the write lock (SQLite): seen from outside, with no help from the child."""
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")  # SQLITE_BUSY while a writer is in a transaction
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc) or "busy" in str(exc)
        finally:
            probe.close()
    with engine.connect() as connection:
        held = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relname = 'position_snapshots'"
                " AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return bool(held)


def killed_at_random(args: list[str], env: dict[str, str], rng: random.Random, engine: Engine) -> tuple[bool, bool]:
    """Kill the command inside its first or second load (chosen at random), found from outside by load_open.

    Returns (aimed, inside): whether the command was still at work when killed, and whether the kill really landed
    inside a load: one was open at the last look before the kill, and no load committed from that look to the kill.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", *args], env=base | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    skip = rng.randrange(2)
    before = -1
    for n in range(skip + 1):
        while process.poll() is None:
            before = successes(engine)
            if load_open(engine):
                break
            time.sleep(0.002)
        while n < skip and process.poll() is None and load_open(engine):  # let this one commit, hit the next
            time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    aimed = process.returncode == -signal.SIGKILL
    return aimed, aimed and successes(engine) == before


def assert_kills_landed_inside(kills: list[tuple[bool, bool]]) -> None:
    aimed = sum(a for a, _ in kills)
    inside = sum(i for _, i in kills)
    # One may miss by a hair (the load committed between the last look and the signal); never more.
    assert aimed >= 1 and inside >= max(1, aimed - 1), f"of {aimed} kills aimed at a load, {inside} landed inside one"


def big_simulator(simulator: Simulator) -> None:
    simulator.accounts[:] = [make_account(1, 3000, exchanges=("KRX", "NXT"))]
    simulator.page_size = 500  # six pages and 3000 rows on KRX: the load takes long enough to be hit


def test_kill_9_during_snapshots(db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    big_simulator(simulator)
    env = account_env(simulator, sim_url, db_url, tmp_path)
    engine = make_engine(db_url)
    try:
        migrated(engine)
        rng = random.Random(20261123)
        kills = []
        for _ in range(KILLS):
            kills.append(killed_at_random(["snapshot"], env, rng, engine))
            assert_nothing_partial(engine)
        assert_kills_landed_inside(kills)
        before = assert_nothing_partial(engine)
        assert kiwoom_etl("snapshot", env=env).returncode == 0
        assert assert_nothing_partial(engine) == before + 2
    finally:
        engine.dispose()


def test_kill_9_during_flushes(db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    big_simulator(simulator)
    down = account_env(simulator, sim_url, "postgresql://postgres@127.0.0.1:9/nowhere", tmp_path)
    for _ in range(3):
        assert kiwoom_etl("snapshot", env=down).returncode == 1
    spooled = len(list((tmp_path / "state" / "spool").glob("*.json")))
    assert spooled == 6
    up = down | {"KIWOOM_ETL_DATABASE_URL": db_url}
    engine = make_engine(db_url)
    try:
        migrated(engine)
        rng = random.Random(42)
        kills = []
        for _ in range(KILLS):
            kills.append(killed_at_random(["flush", "--into-this-database"], up, rng, engine))
            assert_nothing_partial(engine)
        assert_kills_landed_inside(kills)
        assert kiwoom_etl("flush", "--into-this-database", env=up).returncode == 0
        assert assert_nothing_partial(engine) == spooled  # every spooled snapshot, once
    finally:
        engine.dispose()
