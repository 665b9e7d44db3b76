"""Replay rebuilds the snapshot tables from raw pages, exactly and idempotently; import loads pages kept elsewhere."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select

from etl.jobs.replay import import_pages, replay, runs_to_replay
from etl.sim.simulator import Simulator
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse
from tests.support import content, kiwoom_etl, take_snapshots
from tests.support.answers import SEED_EXAMPLE
from tests.support.schema import migrated


def test_replay_restores_emptied_tables_exactly_and_a_second_replay_changes_nothing(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    take_snapshots(sim_url, simulator, engine, tmp_path)
    before = content(engine)
    assert len(before[0]) == 8 and len(before[1]) > 8
    with engine.begin() as connection:
        connection.execute(delete(PositionSnapshot))
        connection.execute(delete(AccountSnapshot))

    report = replay(engine, runs_to_replay(engine))
    assert (report.rebuilt, report.unchanged, report.refused, report.incomplete) == (8, 0, 0, 0)
    assert content(engine) == before

    with engine.connect() as connection:
        ids = connection.execute(select(AccountSnapshot.id).order_by(AccountSnapshot.id)).scalars().all()
    second = replay(engine, runs_to_replay(engine))
    assert (second.rebuilt, second.unchanged) == (0, 8)
    with engine.connect() as connection:
        assert connection.execute(select(AccountSnapshot.id).order_by(AccountSnapshot.id)).scalars().all() == ids
        replays = connection.execute(select(EtlRun.reason, EtlRun.detail).where(EtlRun.trigger == "replay")).all()
    assert content(engine) == before and len(replays) == 2
    assert {reason for reason, _ in replays} == {"replayed"} and "8 rebuilt" in replays[0].detail


def test_replay_into_a_freshly_migrated_database(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    from etl.store.engine import make_engine

    take_snapshots(sim_url, simulator, engine, tmp_path, rounds=1)
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        migrated(fresh)
        with engine.connect() as source, fresh.begin() as target:  # only what a backup of the raw pages holds
            for model in (EtlRun, RawResponse):
                rows = [dict(r) for r in source.execute(select(model.__table__)).mappings()]
                for row in rows:
                    row.pop("snapshot_id", None)
                target.execute(insert(model.__table__), rows)
        assert replay(fresh, runs_to_replay(fresh)).rebuilt == 4
        assert content(fresh) == content(engine)
    finally:
        fresh.dispose()


def test_replay_leaves_what_todays_transform_refuses_and_filters(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    simulator.inject("bad_value", api_id="kt00005", field="cur_prc", value="00000007000X")
    take_snapshots(sim_url, simulator, engine, tmp_path, rounds=1)
    report = replay(engine, runs_to_replay(engine))
    assert (report.refused, report.unchanged) == (1, 3)
    second = simulator.accounts[1].acct_no
    assert len(runs_to_replay(engine, account=second)) == 2
    assert runs_to_replay(engine, since=date.today() + timedelta(days=2)) == []


def test_import_loads_pages_kept_elsewhere_once(engine: Engine, tmp_path: Path) -> None:
    page = tmp_path / "kt00005-page0.json"
    page.write_text(json.dumps(SEED_EXAMPLE, ensure_ascii=False), encoding="utf-8")
    when = datetime(2026, 11, 20, 15, 30, tzinfo=timezone(timedelta(hours=9)))
    assert import_pages(engine, [page], account_no="5012345678", exchange="KRX", captured_at=when) == "loaded"
    assert import_pages(engine, [page], account_no="5012345678", exchange="KRX", captured_at=when) == "already loaded"
    accounts, positions = content(engine)
    assert len(accounts) == 1 and accounts[0]["total_profit_loss_rate"] == Decimal("1.8546")
    assert accounts[0]["captured_at"] == when and accounts[0]["trade_date"] == date(2026, 11, 20)
    assert [(p["stock_code"], p["profit_loss"]) for p in positions] == [("005930", -163958)]


def test_the_replay_and_import_commands(sqlite_url: str, tmp_path: Path) -> None:
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    page = tmp_path / "page.json"
    page.write_text(json.dumps(SEED_EXAMPLE, ensure_ascii=False), encoding="utf-8")
    imported = kiwoom_etl(
        "import", str(page), "--account", "main", "--exchange", "KRX", "--captured-at", "2026-11-20T15:30:00", env=env
    )
    assert imported.returncode == 0 and "1 page(s) for main KRX: loaded." in imported.stdout
    replayed = kiwoom_etl("replay", "--account", "main", env=env)
    assert replayed.returncode == 0 and "1 run(s) with raw pages: 0 rebuilt, 1 unchanged" in replayed.stdout
    assert "Replaying" not in replayed.stderr  # not a terminal: no progress bar, nothing in the logs
    bad = kiwoom_etl(
        "import", str(page), "--account", "main", "--exchange", "KRX", "--captured-at", "yesterday", env=env
    )
    # a usage error, like a bad --since: exit 2 and click's usage message
    assert bad.returncode == 2 and "Usage: kiwoom-etl import" in bad.stderr
    assert "Invalid value for '--captured-at': expected a time such as" in bad.stderr
    assert "'yesterday'" in bad.stderr


def test_pages_captured_weeks_before_they_are_imported_load(engine: Engine, tmp_path: Path) -> None:
    """An import's run starts at the capture, so its duration spans the weeks between: more than INTEGER holds."""
    page = tmp_path / "kt00005-page0.json"
    page.write_text(json.dumps(SEED_EXAMPLE, ensure_ascii=False), encoding="utf-8")
    captured = datetime(2026, 1, 5, 15, 30, tzinfo=timezone(timedelta(hours=9)))
    later = captured + timedelta(days=300)
    outcome = import_pages(
        engine, [page], account_no="5012345678", exchange="KRX", captured_at=captured, clock=lambda: later
    )
    assert outcome == "loaded"
    with engine.connect() as connection:
        duration = connection.execute(select(EtlRun.duration_ms)).scalar_one()
    assert duration == 300 * 24 * 3600 * 1000
