"""kiwoom-etl status: what it says of each account × exchange's newest run."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from etl.clock import utc_now
from etl.jobs.spool import Spool
from etl.store.capture import Capture
from etl.store.identity import learn_identity
from etl.store.runs import start_run
from tests.support import kiwoom_etl


def test_a_run_whose_snapshot_waits_in_the_spool_is_shown_as_spooled_not_running(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # What a snapshot leaves when the database went away between its claim and its load: a `running` row, and
    # the capture, naming that run, in the spool. A run still being fetched has no file there.
    now = utc_now()  # status judges "the last week" by the clock
    spooled = start_run(engine, trigger="schedule", started_at=now, account_no="5000001111", exchange="KRX")
    start_run(engine, trigger="schedule", started_at=now, account_no="5000002222", exchange="KRX")
    capture = Capture("5000001111", "KRX", "schedule", now, (), run_id=spooled.id)
    Spool(tmp_path / "state").write(capture, learn_identity(engine))
    env = {
        "KIWOOM_APPKEY": "app-key",
        "KIWOOM_SECRETKEY": "secret-key",
        "KIWOOM_ETL_DATABASE_URL": db_url,
        "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state"),
    }

    shown = kiwoom_etl("status", "--all-hours", env=env)

    rows = {line.split()[0]: line for line in shown.stdout.splitlines() if line.startswith("500000")}
    assert "spooled" in rows["5000001111"] and "running" not in rows["5000001111"], shown.stdout
    assert "running" in rows["5000002222"], shown.stdout


def test_a_declared_holidays_name_is_shown_with_its_controls_as_escapes(tmp_path: Path) -> None:
    config = tmp_path / "kiwoom-etl.toml"
    config.write_text('[calendar]\nholidays = { "9999-12-30" = "x\\u001b[2J\\nHealthy." }\n')
    config.chmod(0o600)
    env = {"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "KIWOOM_ETL_STATE_DIR": str(tmp_path)}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    shown = kiwoom_etl("--config", str(config), "status", env=env).stdout
    assert "9999-12-30 closed (x\\x1b[2J\\nHealthy.)" in shown and "\x1b" not in shown, shown
