"""Memory and idle CPU of `kiwoom-etl run` with one account, on SQLite and on PostgreSQL, beside a bare interpreter.

    .venv/bin/python benchmarks/bench_daemon.py [--backends sqlite,postgresql] [--sample 30] [--json]

For each backend: the simulator serves one account (20 positions) on loopback, the database is migrated (SQLite: a
new file; PostgreSQL: a schema of its own in KIWOOM_ETL_TEST_POSTGRES_URL, or --postgres-url, dropped afterwards),
and `python -m etl run --interval 1m --all-hours` starts. Once a slot's snapshots are loaded and nothing runs, the
daemon's resident memory (VmRSS, split into RssAnon and RssFile, and its peak VmHWM, from /proc/PID/status) and
its CPU (utime + stime from /proc/PID/stat) are sampled over --sample seconds between two slots. The floor is a
bare interpreter (`python -c "import time; time.sleep(...)"`) sampled over the same seconds in the same run.
Targets: under 60 MB RSS and under 1 % of a core idle on each backend; the exit status is 1 when one is missed.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from etl.settings import normalize_database_url
from etl.sim.accounts import make_account
from etl.sim.simulator import Simulator, serve

TARGET_RSS_MB = 60.0
TARGET_CPU_PERCENT = 1.0
INTERVAL_SECONDS = 60
HANG_GUARD = 180.0  # seconds before the benchmark gives up waiting for the daemon's first snapshots
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, in seconds (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def sample(pid: int, seconds: float) -> dict[str, float]:
    """RSS (median of one reading a second), peak RSS and the share of a core used over `seconds`."""
    rss: list[int] = []
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - wall0 < seconds:
        rss.append(status_kb(pid, "VmRSS"))
        time.sleep(1.0)
    cpu1, wall1 = cpu_seconds(pid), time.monotonic()
    return {
        "rss_mb": round(statistics.median(rss) / 1024, 1),
        "rss_anon_mb": round(status_kb(pid, "RssAnon") / 1024, 1),  # the process's own heap and stacks
        "rss_file_mb": round(status_kb(pid, "RssFile") / 1024, 1),  # mapped files (shared libraries), shareable
        "peak_rss_mb": round(status_kb(pid, "VmHWM") / 1024, 1),
        "cpu_percent": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 3),
        "seconds": round(wall1 - wall0, 1),
    }


@contextmanager
def database(backend: str, work: Path, postgres_url: str | None) -> Iterator[str]:
    """A database URL for `backend`: a new SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{work / 'kiwoom_etl.db'}"
        return
    if not postgres_url:
        raise SystemExit("PostgreSQL: set KIWOOM_ETL_TEST_POSTGRES_URL or pass --postgres-url")
    base = normalize_database_url(postgres_url, "--postgres-url")
    schema = f"kiwoom_bench_daemon_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_counts(url: str) -> tuple[int, int]:
    """(successful runs, running runs) in etl_runs."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) FROM etl_runs"
                )
            ).one()
    finally:
        engine.dispose()
    return int(row[0] or 0), int(row[1] or 0)


def seconds_to_next_slot() -> float:
    now = datetime.now(UTC)
    return INTERVAL_SECONDS - (now.second + now.microsecond / 1e6) % INTERVAL_SECONDS


def wait_for_idle(url: str, daemon: subprocess.Popen[bytes], after: int, log: Path) -> int:
    """Wait until more than `after` snapshots succeeded and none runs; return the success count."""
    deadline = time.monotonic() + HANG_GUARD
    while True:
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited with {daemon.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for the daemon's snapshots:\n{log.read_text()}")
        try:
            successes, running = run_counts(url)
        except Exception:  # the daemon may not have written anything yet: keep waiting
            successes, running = 0, 1
        if successes > after and not running:
            return successes
        time.sleep(0.5)


def measure_daemon(backend: str, seconds: float, postgres_url: str | None) -> dict[str, Any]:
    """Start the daemon on `backend` with one account, wait until it is idle between slots, sample it."""
    simulator = Simulator(accounts=[make_account(1, 20)], rate_per_second=100, burst=20, retry_after=None)
    with (
        tempfile.TemporaryDirectory(prefix="kiwoom-etl-bench-daemon-") as tmp,
        serve(simulator) as sim_url,
        database(backend, Path(tmp), postgres_url) as url,
    ):
        work = Path(tmp)
        account = simulator.accounts[0]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")} | {
            "KIWOOM_APPKEY": account.appkey,
            "KIWOOM_SECRETKEY": account.secretkey,
            "KIWOOM_BASE_URL": sim_url,
            "KIWOOM_ETL_DATABASE_URL": url,
            "KIWOOM_ETL_STATE_DIR": str(work / "state"),
        }
        subprocess.run([sys.executable, "-m", "etl", "migrate"], env=env, check=True, capture_output=True)
        log = work / "daemon.log"
        with log.open("wb") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "etl", "run", "--interval", f"{INTERVAL_SECONDS}s", "--all-hours"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                successes = wait_for_idle(url, daemon, 0, log)
                if seconds_to_next_slot() < seconds + 3:  # the sample must fit between two slots
                    time.sleep(seconds_to_next_slot() + 0.5)
                    successes = wait_for_idle(url, daemon, successes, log)
                time.sleep(1.0)
                figures = sample(daemon.pid, seconds)
                after, _ = run_counts(url)
                figures["slot_during_sample"] = after != successes
                figures["snapshots_before_sample"] = successes
            finally:
                daemon.terminate()
                daemon.wait(timeout=150)
    return figures


def measure_floor(seconds: float) -> dict[str, Any]:
    """A bare interpreter sleeping: the least a Python daemon can take."""
    floor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    try:
        time.sleep(1.0)
        return sample(floor.pid, seconds)
    finally:
        floor.terminate()
        floor.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds sampled while idle (< 55)")
    parser.add_argument("--postgres-url", default=os.environ.get("KIWOOM_ETL_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if not 1 <= args.sample <= INTERVAL_SECONDS - 5:
        parser.error(f"--sample must be between 1 and {INTERVAL_SECONDS - 5} seconds")

    floor = measure_floor(args.sample)
    results: dict[str, Any] = {}
    for backend in args.backends.split(","):
        figures = measure_daemon(backend, args.sample, args.postgres_url)
        figures["rss_ratio_to_floor"] = round(figures["rss_mb"] / floor["rss_mb"], 2)
        figures["rss_target_met"] = figures["rss_mb"] < TARGET_RSS_MB
        figures["cpu_target_met"] = figures["cpu_percent"] < TARGET_CPU_PERCENT
        results[backend] = figures
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}",
        "targets": {"rss_mb": TARGET_RSS_MB, "cpu_percent": TARGET_CPU_PERCENT},
        "floor": floor,
        "daemon": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(report["machine"])
        print(f"{'':12} {'RSS MB':>8} {'peak MB':>8} {'CPU %':>8} {'× floor RSS':>12}  targets")
        print(f"{'floor':12} {floor['rss_mb']:>8} {floor['peak_rss_mb']:>8} {floor['cpu_percent']:>8}")
        for backend, f in results.items():
            met = "met" if f["rss_target_met"] and f["cpu_target_met"] else "MISSED"
            print(
                f"{backend:12} {f['rss_mb']:>8} {f['peak_rss_mb']:>8} {f['cpu_percent']:>8} "
                f"{f['rss_ratio_to_floor']:>12}  {met}"
            )
    return 0 if all(f["rss_target_met"] and f["cpu_target_met"] for f in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
