"""Start-up time of `kiwoom-etl --help`, every `kiwoom-etl COMMAND --help` and `kiwoom-etl status`, beside
`python -c "import click"` (the floor: the interpreter and the CLI library, nothing of ours) in the same run.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 10] [--json]

Each command runs --repeat times in a process of its own, the commands taking turns so that a busy machine slows
them alike, after one warm-up round; the figure is the median wall time from spawn to exit. `status` reads a
migrated SQLite file in a temporary directory holding one successful run. `kiwoom-etl` is the console script
next to this interpreter (as installed), `python -m etl` the module. The target: `kiwoom-etl --help` under 150 ms;
the exit status is 1 when missed.
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
from datetime import UTC, datetime
from pathlib import Path

TARGET_MS = 150.0


def commands() -> list[str]:
    """The CLI's commands, as `kiwoom-etl --help` lists them."""
    from etl.cli import cli

    return sorted(cli.commands)


def migrated_database(work: Path) -> dict[str, str]:
    """The environment of a `status` that reads a migrated SQLite file with one successful run."""
    url = f"sqlite:///{work / 'kiwoom_etl.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")} | {
        "KIWOOM_ETL_DATABASE_URL": url,
        "KIWOOM_ETL_STATE_DIR": str(work / "state"),
    }
    subprocess.run([sys.executable, "-m", "etl", "migrate"], env=env, check=True, capture_output=True)
    from sqlalchemy import insert

    from etl.store.engine import make_engine, transaction
    from etl.store.models import EtlRun

    now = datetime.now(UTC)
    engine = make_engine(url)
    with transaction(engine, "adding a run") as connection:
        connection.execute(
            insert(EtlRun).values(
                trigger="manual",
                status="success",
                account_no="5012345678",
                exchange="KRX",
                started_at=now,
                finished_at=now,
            )
        )
    engine.dispose()
    return env


def run_ms(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, user + system CPU) milliseconds of one run of `argv`, from spawn to exit."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - started) * 1000
    process.returncode = 0  # reaped by wait4
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command (the median is reported)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    script = Path(sys.executable).with_name("kiwoom-etl")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "etl"]
    with tempfile.TemporaryDirectory(prefix="kiwoom-etl-bench-startup-") as tmp:
        status_env = migrated_database(Path(tmp))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
        cases: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            'python -c "import click" (floor)': ([sys.executable, "-c", "import click"], env),
            "kiwoom-etl --help": ([*entry, "--help"], env),
            "python -m etl --help": ([sys.executable, "-m", "etl", "--help"], env),
            **{f"kiwoom-etl {name} --help": ([*entry, name, "--help"], env) for name in commands()},
            "kiwoom-etl status (migrated SQLite)": ([*entry, "status"], status_env),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for round_ in range(args.repeat + 1):
            for name, (argv, case_env) in cases.items():
                wall, used = run_ms(argv, case_env)
                if round_:  # the first round warms the file cache
                    times[name].append(wall)
                    cpu[name].append(used)

    medians = {name: round(statistics.median(values), 1) for name, values in times.items()}
    cpu_medians = {name: round(statistics.median(values), 1) for name, values in cpu.items()}
    floor = medians['python -c "import click" (floor)']
    help_ms = medians["kiwoom-etl --help"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}",
        "repeat": args.repeat,
        "entry": " ".join(entry),
        "median_ms": medians,
        "ratio_to_floor": {name: round(ms / floor, 2) for name, ms in medians.items()},
        "median_cpu_ms": cpu_medians,
        "target_ms": TARGET_MS,
        "help_ms": help_ms,
        "target_met": help_ms < TARGET_MS,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['machine']}; median of {args.repeat} runs")
        print(f"{'command':44} {'wall ms':>8} {'× floor':>8} {'CPU ms':>8}")
        for name, ms in medians.items():
            print(f"{name:44} {ms:>8} {report['ratio_to_floor'][name]:>8} {cpu_medians[name]:>8}")
        print(
            f"kiwoom-etl --help: {help_ms} ms, target {TARGET_MS:.0f} ms: {'met' if report['target_met'] else 'MISSED'}"
        )
    return 0 if report["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
