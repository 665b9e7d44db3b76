"""The command line as a user meets it: real processes against the simulator and a SQLite file or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from etl.kiwoom.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun
from etl.store.schema import head_revision
from tests.support import account_env, kiwoom_etl


def test_migrate_then_snapshot(db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    env = account_env(simulator, sim_url, db_url, tmp_path)
    refused = kiwoom_etl("snapshot", env=env)
    assert refused.returncode == 1 and "run `kiwoom-etl migrate` first" in refused.stderr
    assert "Traceback" not in refused.stderr
    if db_url.startswith("sqlite"):
        assert not (tmp_path / "kiwoom_etl.db").exists()  # refusing did not leave an empty file behind

    migrated = kiwoom_etl("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert f"empty → {head_revision()}" in migrated.stdout
    assert "up to date" in kiwoom_etl("migrate", env=env).stdout

    taken = kiwoom_etl("snapshot", env=env)
    assert taken.returncode == 0, taken.stderr
    assert "2 of 2 snapshot(s) loaded" in taken.stdout
    acct_no = simulator.accounts[0].acct_no
    assert f"{acct_no}  KRX       success  7" in taken.stdout

    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(select(AccountSnapshot.account_no)).scalars().all() == [acct_no, acct_no]
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


def test_demo_runs_by_itself(tmp_path: Path) -> None:
    result = kiwoom_etl("demo", "--snapshots", "2", "--interval", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "kiwoom_etl.db").exists()
    assert result.stdout.count("success") == 8  # 2 rounds × 2 accounts × 2 exchanges
    assert "Latest holdings" in result.stdout and "삼성전자" in result.stdout
    assert kiwoom_etl("demo", "--snapshots", "1", "--interval", "0", cwd=tmp_path).returncode == 0  # again


def test_demo_refuses_a_database_with_real_history(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    env = account_env(simulator, sim_url, sqlite_url, tmp_path)
    assert kiwoom_etl("migrate", env=env).returncode == 0
    assert kiwoom_etl("snapshot", env=env).returncode == 0
    result = kiwoom_etl("demo", "--database-url", sqlite_url, "--interval", "0")
    assert result.returncode == 1 and "already holds real snapshots" in result.stderr


def test_python_dash_m_and_console_script_agree() -> None:
    version = kiwoom_etl("--version")
    assert version.returncode == 0 and "kiwoom-etl, version" in version.stdout
