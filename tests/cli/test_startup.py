"""Start-up: `--help`, every `COMMAND --help`, `status` and the daemon import only what they use (never timed here:
benchmarks/bench_startup.py and bench_daemon.py measure), and the schema check that does without Alembic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select

from etl.cli import cli
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine, transaction
from etl.store.models import EtlRun, RunStatus
from etl.store.schema import alembic_config, current_revision, head_revision
from tests.support import account_env, kiwoom_etl, wait_until_true

# What a command that neither reads the database nor talks to the API must not load.
HEAVY = ("sqlalchemy", "alembic", "requests", "plotly", "pyarrow", "apscheduler", "holidays", "prometheus_client")
# What `status` and the daemon must not load: they read and write the tables, never draw, export or migrate.
NEVER_IN_THE_DAEMON = ("alembic", "plotly", "pyarrow", "pandas", "numpy", "mako")

# `python -m etl ARGS`, then the modules loaded, as JSON, into the file named by the environment.
WRAPPER = (
    "import atexit, json, os, runpy, sys\n"
    "atexit.register(lambda: json.dump(sorted(sys.modules), open(os.environ['MODULES_FILE'], 'w')))\n"
    "sys.argv = ['kiwoom-etl', *sys.argv[1:]]\n"
    "runpy.run_module('etl', run_name='__main__', alter_sys=True)\n"
)


def run_listing_modules(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -m etl ARGS` in a clean KIWOOM_* environment; return the process and the modules it loaded."""
    modules_file = tmp_path / "modules.json"
    modules_file.unlink(missing_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    process = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        env=base | (env or {}) | {"MODULES_FILE": str(modules_file)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return process, set(json.loads(modules_file.read_text()))


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The `packages` of which `modules` holds the package itself or any submodule."""
    return sorted({m.split(".")[0] for m in modules} & set(packages))


@pytest.mark.parametrize("command_name", [None, *sorted(cli.commands)])
def test_help_imports_none_of_the_heavy_libraries(command_name: str | None, tmp_path: Path) -> None:
    args = ["--help"] if command_name is None else [command_name, "--help"]
    process, modules = run_listing_modules(args, tmp_path)
    assert process.returncode == 0, process.stderr
    assert "Usage: kiwoom-etl" in process.stdout
    assert "etl.cli" in modules  # the wrapper saw the command line run
    assert loaded(modules, HEAVY) == []


def test_the_wrapper_sees_what_a_command_imports(sqlite_url: str, tmp_path: Path) -> None:
    # The check above can fail: `migrate` does load SQLAlchemy and Alembic, and the wrapper sees them.
    process, modules = run_listing_modules(["migrate", "--database-url", sqlite_url], tmp_path)
    assert process.returncode == 0, process.stderr
    assert loaded(modules, HEAVY) == ["alembic", "sqlalchemy"]


def test_status_on_a_migrated_database_needs_neither_alembic_nor_the_api(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    env = account_env(simulator, sim_url, sqlite_url, tmp_path)
    assert kiwoom_etl("migrate", env=env).returncode == 0
    assert kiwoom_etl("snapshot", env=env).returncode == 0
    process, modules = run_listing_modules(["status", "--all-hours"], tmp_path, env)
    assert process.returncode == 0, process.stderr
    assert "success" in process.stdout
    assert loaded(modules, (*NEVER_IN_THE_DAEMON, "requests", "apscheduler", "prometheus_client")) == []


def test_the_daemon_never_loads_alembic_plotly_pyarrow_or_pandas(
    db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    env = account_env(simulator, sim_url, db_url, tmp_path)
    assert kiwoom_etl("migrate", env=env).returncode == 0
    modules_file = tmp_path / "daemon-modules.json"
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    daemon = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, "run", "--interval", "2s", "--all-hours"],
        env=base | env | {"MODULES_FILE": str(modules_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = make_engine(db_url)
    try:
        wait_until_true(lambda: successes(engine) >= 2 or daemon.poll() is not None)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=150) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        engine.dispose()
    modules = set(json.loads(modules_file.read_text()))
    assert {"etl.daemon.runner", "etl.store.load", "requests", "apscheduler"} <= modules  # it did its work
    assert loaded(modules, NEVER_IN_THE_DAEMON) == []
    assert sorted(m for m in modules if m.startswith("sqlalchemy.orm")) == []  # the models are Core tables


def test_the_krx_calendar_leaves_the_holidays_package_out_of_the_process() -> None:
    # The package imports its 280 country calendars with XKRX: a child interpreter computes each year instead.
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from etl.clock import krx_calendar\n"
        "calendar = krx_calendar()\n"
        "assert date(2026, 9, 25) in calendar and date(2027, 1, 1) in calendar and date(2026, 11, 23) not in calendar\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('holidays', 'dateutil')))\n"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert child.stdout.strip() == "[]"


def successes(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(connection.execute(select(EtlRun.id).where(EtlRun.status == RunStatus.SUCCESS)).all())


def test_the_head_revision_is_alembics() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.mark.parametrize("revision", [None, "0001", "0003", "head"])
def test_the_current_revision_reads_as_alembic_reads_it(db_url: str, revision: str | None) -> None:
    engine = make_engine(db_url)
    try:
        if revision is not None:
            with transaction(engine, "migrating") as connection:
                command.upgrade(alembic_config(connection), revision)
        with engine.connect() as connection:
            alembics = MigrationContext.configure(connection).get_current_revision()
        assert current_revision(engine) == alembics
        assert alembics == (head_revision() if revision == "head" else revision)
    finally:
        engine.dispose()
