"""The command line as a user meets it: real processes against the simulator and a SQLite file or PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun
from etl.store.schema import head_revision
from tests.support import account_env, kiwoom_etl


def test_migrate_then_snapshot(db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    env = account_env(simulator, sim_url, db_url, tmp_path)
    refused = kiwoom_etl("snapshot", env=env)
    assert refused.returncode == 1 and "run `kiwoom-etl migrate` first" in refused.stderr
    assert "Traceback" not in refused.stderr and "2 snapshot(s) spooled" in refused.stderr  # fetched all the same
    if db_url.startswith("sqlite"):
        assert not (tmp_path / "kiwoom_etl.db").exists()  # refusing did not leave an empty file behind

    migrated = kiwoom_etl("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert f"empty → {head_revision()}" in migrated.stdout
    assert "up to date" in kiwoom_etl("migrate", env=env).stdout

    taken = kiwoom_etl("snapshot", env=env)
    assert taken.returncode == 0, taken.stderr
    assert "Loaded 2 spooled snapshot(s) first." in taken.stdout and "2 of 2 snapshot(s) loaded" in taken.stdout
    if db_url.startswith("sqlite"):
        assert stat.S_IMODE((tmp_path / "kiwoom_etl.db").stat().st_mode) == 0o600  # a financial history
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700  # tokens, spool, account numbers
    acct_no = simulator.accounts[0].acct_no
    assert f"{acct_no}  KRX       success  7" in taken.stdout

    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(AccountSnapshot.account_no)).scalars().all() == [acct_no] * 4
    finally:
        engine.dispose()


def test_snapshot_exits_non_zero_when_one_fails(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    config = tmp_path / "kiwoom-etl.toml"
    config.write_text(
        '[[accounts]]\nname = "good"\nappkey = "sim-appkey-2"\nsecretkey = "env:GOOD_SECRET"\nexchanges = ["KRX"]\n'
        '[[accounts]]\nname = "bad"\nappkey = "sim-appkey-1"\nsecretkey = "not-the-secret"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)  # it holds keys
    env = account_env(simulator, sim_url, sqlite_url, tmp_path) | {"GOOD_SECRET": "sim-secretkey-2"}
    del env["KIWOOM_APPKEY"], env["KIWOOM_SECRETKEY"]
    assert kiwoom_etl("migrate", env=env).returncode == 0
    result = kiwoom_etl("--config", str(config), "snapshot", env=env)
    assert result.returncode == 1
    assert "1 of 3 snapshot(s) loaded" in result.stdout
    assert "bad KRX:" in result.stderr and "8002" in result.stderr and "not-the-secret" not in result.stderr
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            runs = connection.execute(select(EtlRun.account_no, EtlRun.status).order_by(EtlRun.id)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in runs] == [("good", "success"), ("bad", "failed"), ("bad", "failed")]


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["snapshot"], "no account configured"),
        ({"KIWOOM_APPKEY": "x"}, ["snapshot"], "KIWOOM_SECRETKEY is not set"),
        ({"KIWOOM_ETL_HTTP_TIMEOUT": "soon"}, ["migrate"], "KIWOOM_ETL_HTTP_TIMEOUT: expected a float, got 'soon'"),
        ({"KIWOOM_ETL_DATABASE_URL": "nonsense"}, ["migrate"], "KIWOOM_ETL_DATABASE_URL: not a database URL"),
        ({"KIWOOM_ETL_DATABASE_URL": "mysql://u@h/d"}, ["migrate"], "mysql is not supported"),
        ({"KIWOOM_BASE_URL": "api.kiwoom.com"}, ["migrate"], "KIWOOM_BASE_URL: expected an http:// or https:// URL"),
        ({"KIWOOM_ENV": "paper"}, ["migrate"], "KIWOOM_ENV: expected 'real' or 'mock'"),
        ({"KIWOOM_ETL_CONFIG": "/nonexistent/kiwoom.toml"}, ["migrate"], "/nonexistent/kiwoom.toml does not exist"),
        ({"KIWOOM_ETL_HTTP_TIMEOUT": "nan"}, ["migrate"], "KIWOOM_ETL_HTTP_TIMEOUT: must be at least"),
    ],
)
def test_bad_settings_give_one_clear_line(env: dict[str, str], args: list[str], message: str, tmp_path: Path) -> None:
    result = kiwoom_etl(*args, env={"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"} | env)
    assert result.returncode == 2
    assert result.stderr.startswith("kiwoom-etl: error: ")
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_database_is_one_line_without_password(tmp_path: Path) -> None:
    url = "postgresql://kiwoom:hunter2@127.0.0.1:9/history"
    result = kiwoom_etl("migrate", env={"KIWOOM_ETL_DATABASE_URL": url})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "postgresql+psycopg://kiwoom:***@127.0.0.1:9/history" in result.stderr and "hunter2" not in result.stderr


def test_help_answers_questions() -> None:
    result = kiwoom_etl("--help")
    assert result.returncode == 0
    for word in ("migrate", "snapshot", "simulate", "demo", "KIWOOM_APPKEY", "KIWOOM_ETL_DATABASE_URL"):
        assert word in result.stdout
    assert "kiwoom-etl migrate" in kiwoom_etl("snapshot", "--help").stdout


def test_python_dash_m_and_console_script_agree() -> None:
    version = kiwoom_etl("--version")
    assert version.returncode == 0 and "kiwoom-etl, version" in version.stdout


def test_global_options_after_the_command_name_work_and_win(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'g.db'}"
    after = kiwoom_etl("migrate", "--database-url", db, "--log-level", "DEBUG", "--log-format", "json")
    assert after.returncode == 0, after.stderr
    assert '"level": "INFO", "logger": "alembic' in after.stderr  # DEBUG admits INFO, json formats it

    db2 = f"sqlite:///{tmp_path / 'g2.db'}"
    both = kiwoom_etl(
        "--log-level",
        "DEBUG",
        "--log-format",
        "json",
        "migrate",
        "--database-url",
        db2,
        "--log-level",
        "ERROR",
        "--log-format",
        "text",
    )
    assert both.returncode == 0, both.stderr
    assert "alembic" not in both.stderr  # the one after the command name wins

    missing = tmp_path / "missing.toml"
    good = tmp_path / "good.toml"
    good.write_text(f'database_url = "{db}"\n')
    refused = kiwoom_etl("--config", str(good), "status", "--config", str(missing))
    assert refused.returncode == 2 and f"config file {missing} does not exist" in refused.stderr
    fine = kiwoom_etl("--config", str(missing), "migrate", "--config", str(good))
    assert fine.returncode == 0 and "is up to date" in fine.stdout, fine.stderr


def _placed(where: str, command: str, *options: str) -> list[str]:
    return [*options, command] if where == "before" else [command, *options]


@pytest.mark.parametrize("where", ["before", "after"])
def test_each_global_option_takes_effect_before_and_after_the_command_name(where: str, tmp_path: Path) -> None:
    named = tmp_path / "named.db"
    migrated = kiwoom_etl(*_placed(where, "migrate", "--database-url", f"sqlite:///{named}", "--log-level", "DEBUG"))
    assert migrated.returncode == 0 and f"Migrated sqlite:///{named}: empty" in migrated.stdout, migrated.stderr
    assert " DEBUG alembic.runtime.migration: " in migrated.stderr  # the level asked for, in the text format
    status = kiwoom_etl(*_placed(where, "status", "--database-url", f"sqlite:///{named}"), cwd=tmp_path)
    assert f"No snapshot runs in the last week in sqlite:///{named}." in status.stdout, status.stderr
    assert not (tmp_path / "kiwoom_etl.db").exists()  # the default database was never touched

    configured = tmp_path / "configured.db"
    config = tmp_path / "settings.toml"
    config.write_text(f'database_url = "sqlite:///{configured}"\n')
    env = {"KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    as_json = kiwoom_etl(
        *_placed(where, "migrate", "--config", str(config), "--log-format", "json", "--log-level", "DEBUG"), env=env
    )
    assert as_json.returncode == 0 and f"Migrated sqlite:///{configured}: empty" in as_json.stdout, as_json.stderr
    logged = [json.loads(line) for line in as_json.stderr.splitlines()]
    assert logged and {"DEBUG", "INFO"} <= {entry["level"] for entry in logged}
    shown = kiwoom_etl(*_placed(where, "status", "--config", str(config)), env=env, cwd=tmp_path)
    assert f"No snapshot runs in the last week in sqlite:///{configured}." in shown.stdout, shown.stderr
    for command in ("flush", "replay"):  # each needs a migrated database: the default one here would not be
        used = kiwoom_etl(*_placed(where, command, "--config", str(config)), env=env, cwd=tmp_path)
        assert used.returncode == 0, (command, used.stderr)
    assert not (tmp_path / "kiwoom_etl.db").exists()


def test_a_global_option_after_the_command_name_wins_over_the_one_before(tmp_path: Path) -> None:
    before, after = tmp_path / "before.db", tmp_path / "after.db"
    both = kiwoom_etl("--database-url", f"sqlite:///{before}", "migrate", "--database-url", f"sqlite:///{after}")
    assert both.returncode == 0 and after.exists() and not before.exists(), both.stderr
    env = {"KIWOOM_ETL_CONFIG": str(tmp_path / "missing.toml")}  # the environment's file: not asked for here
    config = tmp_path / "c.toml"
    config.write_text(f'database_url = "sqlite:///{after}"\n')
    fine = kiwoom_etl("migrate", "--config", str(config), env=env)
    assert fine.returncode == 0 and "is up to date" in fine.stdout, fine.stderr


@pytest.mark.parametrize("command", ["migrate", "snapshot", "run", "status", "flush", "replay", "import", "demo"])
def test_every_command_shows_the_global_options_in_its_help(command: str) -> None:
    shown = kiwoom_etl(command, "--help")
    assert shown.returncode == 0
    for option in ("--config", "--log-level", "--log-format"):
        assert option in shown.stdout


def test_an_unexpected_exception_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from etl.cli.base import errors as _errors

    caplog.set_level(logging.DEBUG, logger="etl")
    with pytest.raises(SystemExit) as exited, _errors():
        raise RuntimeError("a bug somewhere")
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "kiwoom-etl: internal error: RuntimeError: a bug somewhere (run with --log-level DEBUG for the traceback)\n"
    )
    assert "Traceback" not in captured.err
    [record] = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


def test_errors_leaves_click_usage_errors_to_click() -> None:
    import click

    from etl.cli.base import errors as _errors

    with pytest.raises(click.UsageError), _errors():
        raise click.UsageError("bad usage")


def test_database_mode_0640_from_the_environment_and_a_bad_one_named(tmp_path: Path) -> None:
    db = tmp_path / "bi.db"
    made = kiwoom_etl("migrate", "--database-url", f"sqlite:///{db}", env={"KIWOOM_ETL_DATABASE_MODE": "0640"})
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o640
    bad = kiwoom_etl("migrate", "--database-url", f"sqlite:///{db}", env={"KIWOOM_ETL_DATABASE_MODE": "0644"})
    assert bad.returncode == 2 and "KIWOOM_ETL_DATABASE_MODE" in bad.stderr
    warned = kiwoom_etl("migrate", "--database-url", f"sqlite:///{db}")  # the default, 0600: 0640 is wider
    assert warned.returncode == 0
    assert f"database file {db} has mode 0640, wider than database_mode 0600" in warned.stderr
    assert stat.S_IMODE(db.stat().st_mode) == 0o640  # warned, not changed behind the owner's back


def test_a_reader_that_goes_away_ends_the_output_quietly(sqlite_url: str, tmp_path: Path) -> None:
    """`status | head`, `export … | head`: the closed pipe is no internal error, and the exit is SIGPIPE's 141."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")} | {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    assert subprocess.run([sys.executable, "-m", "etl", "migrate"], env=env, capture_output=True).returncode == 0
    for command in (["status"], ["export", "etl_runs"]):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before the first line
        with os.fdopen(write, "wb") as closed:
            done = subprocess.run(
                [sys.executable, "-m", "etl", *command], env=env, stdout=closed, stderr=subprocess.PIPE, text=True
            )
        assert done.returncode == 141, (command, done.stderr)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_modules_docstring_names_every_command() -> None:
    import etl.cli

    listed = (etl.cli.__doc__ or "").split("kiwoom-etl ", 1)[1].rstrip(".\n").replace("\n", " ")
    assert {name.strip() for name in listed.split(" | ")} == set(etl.cli.cli.commands)


def test_revoke_token_shows_a_configured_name_with_controls_as_escapes(
    sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    config = tmp_path / "kiwoom-etl.toml"
    config.write_text(
        '[[accounts]]\nname = "isa\\u001b[2J\\nHealthy."\n'
        'appkey = "env:KIWOOM_APPKEY"\nsecretkey = "env:KIWOOM_SECRETKEY"\n'
    )
    config.chmod(0o600)
    env = account_env(simulator, sim_url, f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    revoked = kiwoom_etl("--config", str(config), "revoke-token", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == "isa\\x1b[2J\\nHealthy.: no cached token\n"


@pytest.mark.parametrize("folder", ["spool", "tokens"])
def test_a_database_inside_the_spool_or_the_token_cache_is_refused(tmp_path: Path, folder: str) -> None:
    database = tmp_path / "state" / folder / "history.json"  # flush took it for an unreadable spooled snapshot
    env = {"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{database}", "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    for args in (["migrate"], ["--database-url", f"sqlite:///{database}", "status"]):
        refused = kiwoom_etl(*args, env=env)
        assert refused.returncode == 2 and f"the database {database} is inside the" in refused.stderr, refused.stderr
    assert not database.exists()
