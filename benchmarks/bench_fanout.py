"""The daemon's fan-out: how long one slot of N accounts × 2 exchanges takes at 100 ms API latency, beside its floor.

    .venv/bin/python benchmarks/bench_fanout.py [--accounts 1,100,1000] [--latency 0.1] [--cycles 3]
        [--postgres URL] [--json]

For each N, the simulator runs in a process of its own (`kiwoom-etl simulate --latency`, generous rate limits),
with N accounts of 20 positions, each its own app key. The daemon is built as `kiwoom-etl run` builds it, with
the default settings (pacing 1 request/s per app key and api-id, bursts of 2, interval 5 m, workers auto), over a
fresh state directory and a migrated database (a SQLite file; PostgreSQL too with --postgres), and a controlled
clock standing on a slot. One slot is what the scheduler runs: `Daemon.tick`, then waiting until nothing is in
flight. The first cycle starts the daemon as well (`recover`: account numbers, ka00001; tokens, au10001) and is
reported apart; the cached cycles are the next slots, the clock moved on by the interval each time (median).

The floor is the pacing floor, requests ÷ allowed rate: a slot's kt00005 requests over the rate the pacer lets
the fan-out send, rate_per_second × the app keys served at once (min(workers, accounts)). The latency bound,
latency × requests ÷ workers, is what the requests alone take at that concurrency. The machine is shared: compare
runs on the same machine, and the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from etl.clock import Window, parse_clock
from etl.daemon.runner import Daemon
from etl.schedule import Schedule
from etl.settings import DEFAULT_END_OF_DAY, DEFAULT_WINDOWS, Account, Secret, Settings, normalize_database_url
from etl.store.engine import make_engine
from etl.store.models import EtlRun
from etl.store.schema import migrate

POSITIONS = 20
EXCHANGES = ("KRX", "NXT")


class Clock:
    """The daemon's clock, standing where the benchmark puts it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def simulator(accounts: int, latency: float) -> Iterator[str]:
    """`kiwoom-etl simulate` in a process of its own; yields its base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "etl",
            "simulate",
            "--port",
            "0",
            "--accounts",
            str(accounts),
            "--positions",
            str(POSITIONS),
            "--rate",
            "50",
            "--burst",
            "10",
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # "Kiwoom simulator on http://127.0.0.1:PORT — accounts ..."
        url = first.split(" on ", 1)[1].split()[0]
        for _ in range(accounts):
            process.stdout.readline()
        yield url
    finally:
        process.terminate()
        process.wait()


@contextmanager
def database(kind: str, scratch: Path, postgres: str | None) -> Iterator[tuple[str, Engine]]:
    """A migrated database: a fresh SQLite file, or a fresh schema in the PostgreSQL named by `postgres`."""
    if kind == "sqlite":
        url = f"sqlite:///{scratch / f'fanout-{uuid.uuid4().hex[:8]}.db'}"
        engine = make_engine(url)
        migrate(engine)
        try:
            yield url, engine
        finally:
            engine.dispose()
        return
    assert postgres is not None
    base = normalize_database_url(postgres, "--postgres")
    schema = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    engine = make_engine(url)
    try:
        migrate(engine)
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def successes(engine: Engine, slot: datetime) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(EtlRun.status == "success", EtlRun.scheduled_for == slot)
            ).scalar_one()
        )


def one_slot(daemon: Daemon, clock: Clock, slot: datetime) -> float:
    """The scheduler's tick for `slot`, until nothing is in flight; returns the seconds."""
    clock.now = slot + timedelta(seconds=1)
    started = time.perf_counter()
    daemon.tick()
    if not daemon.wait_idle():
        raise SystemExit(f"the slot {slot} did not end within the daemon's stop timeout")
    return time.perf_counter() - started


def bench(accounts: int, kind: str, latency: float, cycles: int, postgres: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch_dir, simulator(accounts, latency) as sim_url:
        scratch = Path(scratch_dir)
        with database(kind, scratch, postgres) as (url, engine):
            settings = Settings(
                base_url=sim_url,
                database_url=url,
                state_dir=scratch / "state",
                accounts=tuple(
                    Account(Secret(f"sim-appkey-{i}"), Secret(f"sim-secretkey-{i}"), source=f"accounts[{i - 1}]")
                    for i in range(1, accounts + 1)
                ),
            )
            schedule = Schedule.build(
                settings.interval,
                settings.timezone,
                {x: Window.parse(w, x) for x, w in DEFAULT_WINDOWS.items()},
                {x: parse_clock(t, x) for x, t in DEFAULT_END_OF_DAY.items()},
                all_hours=True,
            )
            slot = schedule.floor(datetime.now(UTC)).astimezone(UTC)  # near the real time: tokens expire by it
            clock = Clock(slot)
            daemon = Daemon(settings, schedule, engine, clock=clock)
            try:
                started = time.perf_counter()
                daemon.recover()
                first = time.perf_counter() - started + one_slot(daemon, clock, slot)
                slots = [slot]
                cached = []
                for n in range(1, cycles + 1):
                    # The slots are minutes apart for the daemon, seconds apart here: let the pacer's buckets
                    # (real time) refill as they would have by the next slot.
                    time.sleep(settings.rate_burst / settings.rate_per_second + 1)
                    slots.append(slot + n * schedule.interval)
                    cached.append(one_slot(daemon, clock, slots[-1]))
                loaded = [successes(engine, s) for s in slots]
            finally:
                daemon.snapshotter.close()
    requests = accounts * len(EXCHANGES)
    keys_at_once = min(daemon.workers, accounts)
    floor = requests / (settings.rate_per_second * keys_at_once)
    median = statistics.median(cached)
    return {
        "database": kind,
        "accounts": accounts,
        "exchanges": len(EXCHANGES),
        "requests_per_slot": requests,
        "latency_seconds": latency,
        "workers": daemon.workers,
        "first_cycle_seconds": round(first, 3),
        "cached_cycle_seconds": [round(c, 3) for c in cached],
        "cached_cycle_median_seconds": round(median, 3),
        "pacing_floor_seconds": round(floor, 3),
        "latency_bound_seconds": round(latency * requests / daemon.workers, 3),
        "ratio_to_floor": round(median / floor, 3),
        "snapshots_loaded_per_slot": loaded,
        "every_snapshot_loaded": all(n == requests for n in loaded),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", default="1,100,1000", help="comma-separated account counts")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the simulator waits per request")
    parser.add_argument("--cycles", type=int, default=3, help="cached cycles per count (the median is reported)")
    parser.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL (in a schema of its own)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if args.postgres else [])
    results = [
        bench(int(n), kind, args.latency, args.cycles, args.postgres)
        for kind in kinds
        for n in args.accounts.split(",")
    ]
    target = next((r for r in results if r["accounts"] == 1000 and r["database"] == "sqlite"), None)
    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "target_seconds": 20,
        "target_met": None
        if target is None
        else bool(
            target["every_snapshot_loaded"] and float(target["cached_cycle_median_seconds"]) <= 20  # type: ignore[arg-type]
        ),
        "results": results,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{summary['machine']}, Python {summary['python']} (a shared machine: compare ratios)")
    print(
        f"{'database':10} {'accounts':>8} {'workers':>7} {'first s':>8} {'cached s':>9} {'floor s':>8} "
        f"{'latency bound s':>15} {'ratio':>6}  loaded"
    )
    for r in results:
        print(
            f"{r['database']:10} {r['accounts']:>8} {r['workers']:>7} {r['first_cycle_seconds']:>8} "
            f"{r['cached_cycle_median_seconds']:>9} {r['pacing_floor_seconds']:>8} {r['latency_bound_seconds']:>15} "
            f"{r['ratio_to_floor']:>6}  {'all' if r['every_snapshot_loaded'] else r['snapshots_loaded_per_slot']}"
        )
    if target is not None:
        verdict = "met" if summary["target_met"] else "NOT met"
        print(f"1,000 accounts × 2 exchanges within 20 s per cached slot (SQLite): {verdict}")


if __name__ == "__main__":
    main()
