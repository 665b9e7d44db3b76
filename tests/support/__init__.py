"""Helpers shared by the tests (fixtures stay in conftest.py): commands as a user runs them, settings and accounts
for the simulator, a controlled clock, waiting without a speed requirement, and the no-partial-snapshot check."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select

from etl.jobs.snapshot import Snapshotter
from etl.settings import Account, Secret, Settings
from etl.sim.simulator import Simulator
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse


def kiwoom_etl(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `python -m etl ARGS` as a separate process, with a clean KIWOOM_* environment plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    return subprocess.run(
        [sys.executable, "-m", "etl", *args],
        env=base | (env or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def account_env(
    simulator: Simulator, sim_url: str, db_url: str, tmp_path: Path, index: int = 0, *, feed: str | None = None
) -> dict[str, str]:
    """The environment of a command against the simulator; with `feed` (its WebSocket URL), the listener on."""
    account = simulator.accounts[index]
    listening = {"KIWOOM_ETL_REALTIME_ENABLED": "true", "KIWOOM_ETL_REALTIME_URL": feed} if feed else {}
    return listening | {
        "KIWOOM_APPKEY": account.appkey,
        "KIWOOM_SECRETKEY": account.secretkey,
        "KIWOOM_BASE_URL": sim_url,
        "KIWOOM_ETL_DATABASE_URL": db_url,
        "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state"),
        "KIWOOM_ETL_RATE_PER_SECOND": "100",
        "KIWOOM_ETL_RATE_BURST": "20",
    }


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def wait_until_true(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a guard against hanging, not a speed requirement
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def sim_accounts(simulator: Simulator, **names: str) -> tuple[Account, ...]:
    """Settings accounts for the simulator's accounts; `names` maps an acct_no to a configured name."""
    return tuple(
        Account(
            Secret(a.appkey),
            Secret(a.secretkey),
            name=names.get(a.acct_no),
            exchanges=tuple(a.holdings),
            source=f"accounts[{index}]",
        )
        for index, a in enumerate(simulator.accounts)
    )


def make_settings(
    base_url: str, database_url: str, state_dir: Path, accounts: tuple[Account, ...], **overrides: object
) -> Settings:
    """Settings for tests: fast pacing and short backoff, so tests never sleep for long."""
    values: dict[str, object] = dict(
        base_url=base_url,
        database_url=database_url,
        state_dir=state_dir,
        accounts=accounts,
        rate_per_second=200.0,
        rate_burst=50,
        retry_attempts=4,
        retry_backoff=0.01,
        retry_max_wait=2.0,
        http_timeout=5.0,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


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
        successes = connection.execute(
            select(func.count()).where(EtlRun.status == "success", EtlRun.api_id == "kt00005")
        ).scalar_one()
    assert successes == len(snapshots)
    return len(snapshots)


def take_snapshots(sim_url: str, simulator: Simulator, engine: Engine, tmp_path: Path, rounds: int = 2) -> None:
    """`rounds` snapshots of every simulator account through the Snapshotter, as the snapshot command takes them."""
    settings: Settings = make_settings(
        sim_url, engine.url.render_as_string(hide_password=False), tmp_path / "state", sim_accounts(simulator)
    )
    snapshotter = Snapshotter(settings, engine)
    try:
        for _ in range(rounds):
            snapshotter.take()
    finally:
        snapshotter.close()


IDS = {"id", "snapshot_id", "run_id"}


def content(engine: Engine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both snapshot tables without their generated ids, in a stable order."""
    with engine.connect() as connection:
        accounts = connection.execute(
            select(AccountSnapshot.__table__).order_by(AccountSnapshot.captured_at, AccountSnapshot.exchange)
        ).mappings()
        positions = connection.execute(
            select(PositionSnapshot.__table__).order_by(
                PositionSnapshot.captured_at, PositionSnapshot.exchange, PositionSnapshot.line_no
            )
        ).mappings()
        strip = lambda rows: [{k: v for k, v in r.items() if k not in IDS} for r in rows]  # noqa: E731
        return strip(accounts), strip(positions)


class PoolWatch:
    """Counts an engine's connections checked out now and at most, from the pool's own events."""

    def __init__(self, engine: Engine) -> None:
        self.now = self.most = 0
        self._guard = threading.Lock()
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)

    def _checkout(self, *_: object) -> None:
        with self._guard:
            self.now += 1
            self.most = max(self.most, self.now)

    def _checkin(self, *_: object) -> None:
        with self._guard:
            self.now -= 1
