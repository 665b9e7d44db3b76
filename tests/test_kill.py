"""Atomic under kill -9: SIGKILL at random moments of snapshots and flushes never leaves a partial snapshot,
and the next run neither duplicates nor loses one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from etl.kiwoom.simulator import Simulator, make_account
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse
from etl.store.schema import migrate
from tests.test_cli import account_env, kiwoom_etl

KILLS = 6


def assert_nothing_partial(engine: Engine) -> int:
    """Every snapshot has all its positions and its raw pages, and belongs to a successful run; returns the count."""
    with engine.connect() as connection:
        snapshots = connection.execute(
            select(AccountSnapshot.id, AccountSnapshot.position_count, EtlRun.status).join(
                EtlRun, EtlRun.id == AccountSnapshot.run_id
            )
        ).all()
        for snapshot_id, expected, status in snapshots:
            positions = connection.execute(
                select(func.count()).where(PositionSnapshot.snapshot_id == snapshot_id)
            ).scalar_one()
            pages = connection.execute(select(func.count()).where(RawResponse.snapshot_id == snapshot_id)).scalar_one()
            assert (positions, status) == (expected, "success") and pages >= 1
        successes = connection.execute(select(func.count()).where(EtlRun.status == "success")).scalar_one()
    assert successes == len(snapshots)
    return len(snapshots)


def killed_at_random(args: list[str], env: dict[str, str], rng: random.Random) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", *args], env=base | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(rng.uniform(0.3, 2.5))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


def big_simulator(simulator: Simulator) -> None:
    simulator.accounts[:] = [make_account(1, 3000, exchanges=("KRX", "NXT"))]
    simulator.page_size = 500  # six pages and 3000 rows on KRX: the load takes long enough to be hit


def test_kill_9_during_snapshots(db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    big_simulator(simulator)
    env = account_env(simulator, sim_url, db_url, tmp_path)
    engine = make_engine(db_url)
    try:
        migrate(engine)
        rng = random.Random(20261123)
        for _ in range(KILLS):
            killed_at_random(["snapshot"], env, rng)
            assert_nothing_partial(engine)
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
        migrate(engine)
        rng = random.Random(42)
        for _ in range(KILLS):
            killed_at_random(["flush"], up, rng)
            assert_nothing_partial(engine)
        assert kiwoom_etl("flush", env=up).returncode == 0
        assert assert_nothing_partial(engine) == spooled  # every spooled snapshot, once
    finally:
        engine.dispose()
