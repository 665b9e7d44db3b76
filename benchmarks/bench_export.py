"""Peak memory of `kiwoom-etl export position_snapshots` for 1 M and 5 M rows: it must not grow with the row count.

    .venv/bin/python benchmarks/bench_export.py [--rows 1000000,5000000] [--json] [--cache DIR]

Builds a migrated SQLite file per row count (stdlib sqlite3 executemany, kept in DIR between runs: by default
kiwoom-etl-bench-export under the temporary directory), then runs the export to CSV and to Parquet, each in a
process of its own, and reads that process's peak RSS from wait4() (ru_maxrss). The target: the peak RSS of the
largest and the smallest row count differ by less than 20 MB in each format; the exit status is 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from etl.store.engine import make_engine
from etl.store.schema import head_revision, migrate

TARGET_MB = 20.0
LINES_PER_SNAPSHOT = 1_000
BATCH = 100_000
START = datetime(2026, 1, 5, 6, 30, tzinfo=UTC)


def database(rows: int, cache: Path) -> Path:
    """A migrated SQLite file with `rows` position_snapshots rows, built once per row count and schema revision."""
    path = cache / f"positions-{rows}-{head_revision()}.db"
    if path.exists():
        return path
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{building}")
    migrate(engine)
    engine.dispose()
    connection = sqlite3.connect(building)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    snapshots = -(-rows // LINES_PER_SNAPSHOT)
    with connection:
        connection.execute(
            "INSERT INTO etl_runs (id, trigger, status, started_at) VALUES (1, 'bench', 'success', ?)",
            (_text(START),),
        )
        connection.executemany(
            "INSERT INTO account_snapshots (id, run_id, account_no, exchange, captured_at, trade_date, "
            "total_profit_loss_rate, position_count) VALUES (?, 1, '5012345678', 'KRX', ?, ?, '-43.8977', ?)",
            (
                (s + 1, _text(_moment(s)), _day(s), min(LINES_PER_SNAPSHOT, rows - s * LINES_PER_SNAPSHOT))
                for s in range(snapshots)
            ),
        )
        lines = _lines(rows)
        while batch := [line for _, line in zip(range(BATCH), lines, strict=False)]:
            connection.executemany(
                "INSERT INTO position_snapshots (snapshot_id, line_no, account_no, exchange, captured_at, "
                "trade_date, credit_type, stock_code, stock_name, settlement_quantity, quantity, current_price, "
                "purchase_price, purchase_amount, evaluation_amount, profit_loss, profit_loss_rate) "
                "VALUES (?, ?, '5012345678', 'KRX', ?, ?, '00', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
    connection.close()
    building.rename(path)
    return path


def _moment(snapshot: int) -> datetime:
    return START + timedelta(minutes=5 * snapshot)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how UtcDateTime stores a time on SQLite


def _day(snapshot: int) -> str:
    return (_moment(snapshot) + timedelta(hours=9)).date().isoformat()


def _lines(rows: int) -> Iterator[tuple[object, ...]]:
    for n in range(rows):
        snapshot, line = divmod(n, LINES_PER_SNAPSHOT)
        quantity = n % 997 + 1
        price = 70_000 + n % 5_000
        yield (
            snapshot + 1,
            line,
            _text(_moment(snapshot)),
            _day(snapshot),
            f"{n % 999_999:06d}",
            "삼성전자" if n % 2 else 'SK하이닉스, "우"',
            quantity,
            quantity,
            price,
            124_500,
            124_500 * quantity,
            price * quantity,
            (price - 124_500) * quantity,
            f"-{n % 100}.{n % 10_000:04d}",
        )


# A small process between this one and the export: exec() records the RSS its caller had as the new program's peak,
# so the export must not be started by this process, which may have grown while building a database.
_LAUNCHER = (
    "import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(p.pid, 0); print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)"
)
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB on Linux


def measure(path: Path, fmt: str, out: Path) -> dict[str, Any]:
    """Run the export in a process of its own; its peak RSS (MB), seconds and output size."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    env["KIWOOM_ETL_DATABASE_URL"] = f"sqlite:///{path}"
    command = [sys.executable, "-m", "etl", "export", "position_snapshots", "--format", fmt, "--out", str(out)]
    started = time.perf_counter()
    launched = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    status, maxrss = (int(word) for word in launched.stdout.split())
    if status != 0:
        raise SystemExit(f"bench_export: {' '.join(command[2:])} failed with status {status}: {launched.stderr}")
    size = out.stat().st_size
    out.unlink()
    peak_mb = maxrss * _MAXRSS_UNIT / 2**20
    return {"format": fmt, "peak_rss_mb": round(peak_mb, 1), "seconds": round(seconds, 1), "bytes": size}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,5000000", help="comma-separated row counts")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kiwoom-etl-bench-export")
    args = parser.parse_args(argv)
    counts = sorted(int(n) for n in args.rows.split(","))
    args.cache.mkdir(parents=True, exist_ok=True)
    results = []
    for rows in counts:
        built = time.perf_counter()
        path = database(rows, args.cache)
        if not args.json:
            print(f"{rows} rows in {path} ({time.perf_counter() - built:.0f} s to build or find)", file=sys.stderr)
        for fmt in ("csv", "parquet"):
            results.append({"rows": rows, **measure(path, fmt, args.cache / f"out.{fmt}")})
    peak = {(r["rows"], r["format"]): r["peak_rss_mb"] for r in results}
    growth = {fmt: round(peak[counts[-1], fmt] - peak[counts[0], fmt], 1) for fmt in ("csv", "parquet")}
    met = all(abs(g) < TARGET_MB for g in growth.values())
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "results": results,
        "peak_rss_growth_mb": growth,
        "target_mb": TARGET_MB,
        "target_met": met,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{'rows':>9}  {'format':7}  {'peak RSS MB':>11}  {'seconds':>7}  {'bytes':>12}")
        for r in results:
            print(f"{r['rows']:>9}  {r['format']:7}  {r['peak_rss_mb']:>11}  {r['seconds']:>7}  {r['bytes']:>12}")
        for fmt, g in growth.items():
            print(f"{fmt}: peak RSS grows {g} MB from {counts[0]} to {counts[-1]} rows (target: under {TARGET_MB} MB)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
