"""Nothing lost: the spool when the database is away, and flush, at most once, when it is back."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from etl.jobs.spool import Spool
from etl.normalize.transform import transform
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse
from tests.support import account_env, kiwoom_etl, make_settings, sim_accounts
from tests.support.schema import migrated

DOWN = "postgresql://postgres@127.0.0.1:9/nowhere"  # nothing listens there: the database is away


def spooled_files(state: Path) -> list[Path]:
    return sorted((state / "spool").glob("*.json"))


def table_count(engine: Engine, model: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[arg-type]


def test_with_the_database_down_snapshot_fetches_and_spools_then_flush_loads_exactly(
    db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    env = account_env(simulator, sim_url, DOWN, tmp_path)
    taken = kiwoom_etl("snapshot", env=env)
    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    state = tmp_path / "state"
    assert f"2 snapshot(s) spooled in {state / 'spool'}" in taken.stderr
    files = spooled_files(state)
    assert len(files) == 2 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE((state / "spool").stat().st_mode) == 0o700
    while_down = kiwoom_etl("status", env=env)  # the spool is what matters while the database is away
    assert while_down.stdout.startswith("Spool: 2 snapshot(s) waiting (") and while_down.returncode == 1
    assert "Connection refused" in while_down.stderr or "connection" in while_down.stderr.lower()

    engine = make_engine(db_url)
    try:
        migrated(engine)
        status = kiwoom_etl("status", env=env | {"KIWOOM_ETL_DATABASE_URL": db_url})
        assert status.stdout.startswith("Spool: 2 snapshot(s) waiting ("), status.stderr
        flushed = kiwoom_etl("flush", "--into-this-database", env=env | {"KIWOOM_ETL_DATABASE_URL": db_url})
        assert flushed.returncode == 0, flushed.stderr
        assert "2 loaded, 0 recorded as failed, 0 already loaded; 0 left" in flushed.stdout
        assert spooled_files(state) == []
        # Every value equals what the pages say, read by the transform from the pages kept in raw_responses.
        with engine.connect() as connection:
            snapshots = connection.execute(select(AccountSnapshot.__table__)).mappings().all()
            for snapshot in snapshots:
                pages = (
                    connection.execute(
                        select(RawResponse.payload)
                        .where(RawResponse.snapshot_id == snapshot["id"])
                        .order_by(RawResponse.page_no)
                    )
                    .scalars()
                    .all()
                )
                again = transform(
                    [json.loads(p) for p in pages],
                    account_no=snapshot["account_no"],
                    exchange=snapshot["exchange"],
                    captured_at=snapshot["captured_at"],
                )
                assert {k: snapshot[k] for k in again.account} == again.account
                positions = connection.execute(
                    select(func.count())
                    .select_from(PositionSnapshot)
                    .where(PositionSnapshot.snapshot_id == snapshot["id"])
                ).scalar_one()
                assert positions == snapshot["position_count"] == len(again.positions)
        assert len(snapshots) == 2 and {s["account_no"] for s in snapshots} == {simulator.accounts[0].acct_no}
        assert kiwoom_etl("flush", env=env | {"KIWOOM_ETL_DATABASE_URL": db_url}).stdout.startswith("The spool")
    finally:
        engine.dispose()


def test_a_snapshot_flushed_twice_is_one_snapshot(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    env = account_env(simulator, sim_url, DOWN, tmp_path)
    assert kiwoom_etl("snapshot", env=env).returncode == 1
    state = tmp_path / "state"
    kept = tmp_path / "copies"
    shutil.copytree(state / "spool", kept)
    up = env | {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    assert kiwoom_etl("migrate", env=up).returncode == 0
    assert kiwoom_etl("flush", "--into-this-database", env=up).returncode == 0
    for copy in kept.iterdir():  # as if the process died after the commit but before removing the file
        shutil.copy(copy, state / "spool" / copy.name)
    again = kiwoom_etl("flush", "--into-this-database", env=up)
    assert "0 loaded, 0 recorded as failed, 2 already loaded" in again.stdout
    engine = make_engine(sqlite_url)
    try:
        assert table_count(engine, AccountSnapshot) == 2 and table_count(engine, EtlRun) == 2
    finally:
        engine.dispose()


def test_snapshot_flushes_the_spool_before_it_fetches(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    up = account_env(simulator, sim_url, sqlite_url, tmp_path)
    assert kiwoom_etl("snapshot", env=up).returncode == 1  # not migrated yet: spooled for this database
    assert kiwoom_etl("migrate", env=up).returncode == 0
    taken = kiwoom_etl("snapshot", env=up)
    assert taken.returncode == 0 and "Loaded 2 spooled snapshot(s) first." in taken.stdout
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            captured = connection.execute(select(AccountSnapshot.captured_at).order_by(AccountSnapshot.id)).scalars()
            times = list(captured)
    finally:
        engine.dispose()
    assert len(times) == 4 and times[:2] < times[2:]  # the older, spooled snapshots first


def test_the_database_failing_mid_transaction_spools_and_flush_completes_the_same_run(
    postgres_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    engine = make_engine(postgres_url)
    migrated(engine)
    with engine.begin() as connection:  # a real server-side fault: the connection "breaks" mid-load
        connection.execute(
            text(
                "CREATE FUNCTION break_load() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'connection lost' USING ERRCODE = '08006'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER break_load BEFORE INSERT ON position_snapshots "
                "FOR EACH STATEMENT EXECUTE FUNCTION break_load()"
            )
        )
    env = account_env(simulator, sim_url, postgres_url, tmp_path)
    try:
        taken = kiwoom_etl("snapshot", env=env)
        assert taken.returncode == 1 and "2 snapshot(s) spooled" in taken.stderr
        assert table_count(engine, AccountSnapshot) == 0 and table_count(engine, PositionSnapshot) == 0
        with engine.begin() as connection:
            assert connection.execute(select(EtlRun.status)).scalars().all() == ["running", "running"]
            connection.execute(text("DROP TRIGGER break_load ON position_snapshots"))
        assert kiwoom_etl("flush", env=env).returncode == 0
        with engine.connect() as connection:
            runs = connection.execute(select(EtlRun.id, EtlRun.status, EtlRun.spool_id)).all()
        assert len(runs) == 2 and all(status == "success" and spool_id for _, status, spool_id in runs)
        assert table_count(engine, AccountSnapshot) == 2
    finally:
        engine.dispose()


def _limit_file_size() -> None:
    # Writing past 1 KiB fails with EFBIG, as a full disk fails with ENOSPC: the same refusal, without root.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))


def test_a_spool_that_cannot_be_written_says_what_was_lost(sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    env = account_env(simulator, sim_url, DOWN, tmp_path)
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    result = subprocess.run(
        [sys.executable, "-m", "etl", "snapshot"],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size,
        check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "LOST" in result.stderr and "cannot spool" in result.stderr
    assert list((tmp_path / "state" / "spool").glob("*")) == []  # no torn file left behind
    assert Spool(tmp_path / "state").summary().count == 0


def _spooled_while_down(simulator: Simulator, sim_url: str, tmp_path: Path, *, slot: object = None) -> Spool:
    """Snapshots of the first account fetched while the database was away, as the daemon spools them."""
    from etl.jobs.snapshot import Snapshotter
    from etl.store.engine import make_engine as engine_for

    settings = make_settings(sim_url, DOWN, tmp_path / "state", sim_accounts(simulator))
    down = engine_for("postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    snapshotter = Snapshotter(settings, down)
    try:
        results = snapshotter.take(settings.accounts[:1], trigger="scheduled", scheduled_for=slot)  # type: ignore[arg-type]
    finally:
        snapshotter.close()
        down.dispose()
    assert {r.status for r in results} == {"spooled"}
    return snapshotter.spool


def test_a_spooled_slot_recorded_meanwhile_as_missed_is_loaded_into_that_row(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from etl.jobs.flush import flush
    from etl.store.runs import record_unrun

    slot = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    spool = _spooled_while_down(simulator, sim_url, tmp_path, slot=slot)
    account = simulator.accounts[0].acct_no
    record_unrun(
        engine,
        [
            {
                "trigger": "scheduled",
                "status": "missed",
                "account_no": account,
                "exchange": x,
                "scheduled_for": slot,
                "started_at": slot,
                "finished_at": slot,
                "reason": "daemon_down",
            }
            for x in ("KRX", "NXT")
        ],
    )
    report = flush(engine, spool, into_this_database=True)
    assert (report.loaded, report.already, report.left) == (2, 0, 0)
    with engine.connect() as connection:
        runs = connection.execute(select(EtlRun.status, EtlRun.scheduled_for)).all()
    assert sorted(status for status, _ in runs) == ["success", "success"] and table_count(engine, AccountSnapshot) == 2


def test_a_spooled_slot_served_meanwhile_is_set_aside_not_deleted(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from etl.jobs.flush import flush

    slot = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    spool = _spooled_while_down(simulator, sim_url, tmp_path, slot=slot)
    settings = make_settings(sim_url, "", tmp_path / "replica", sim_accounts(simulator))
    from etl.jobs.snapshot import Snapshotter

    replica = Snapshotter(settings, engine)
    try:  # a replica took the same slot while this database was away from us
        replica.take(settings.accounts[:1], trigger="scheduled", scheduled_for=slot)
    finally:
        replica.close()
    report = flush(engine, spool, into_this_database=True)
    assert (report.conflicts, report.loaded) == (2, 0) and spool.paths() == []
    assert len(list((spool.directory / "conflicts").glob("*.json"))) == 2  # kept for a person to look at
    assert table_count(engine, AccountSnapshot) == 2


def test_one_flush_at_a_time(engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    from etl.jobs.flush import flush

    spool = _spooled_while_down(simulator, sim_url, tmp_path)
    with spool.exclusive() as mine:  # another flush holds the spool
        assert mine
        report = flush(engine, spool, into_this_database=True)
        assert report.handled == 0 and report.left == 2 and "another flush" in str(report.error)
    assert flush(engine, spool, into_this_database=True).loaded == 2
    assert flush(engine, spool, into_this_database=True).handled == 0 and table_count(engine, AccountSnapshot) == 2


FORMAT_1 = Path(__file__).parent.parent / "fixtures" / "state" / "spool"


def forged(raw: dict[str, object], **changes: object) -> str:
    return json.dumps(raw | changes)


def test_a_spool_file_edited_into_any_shape_stays_named_and_the_others_load(sqlite_url: str, tmp_path: Path) -> None:
    good = next(FORMAT_1.glob("*.json"))
    raw = json.loads(good.read_text())
    spool = tmp_path / "state" / "spool"
    spool.mkdir(parents=True)
    shutil.copy(good, spool / good.name)
    bad = {
        "not-an-object": "[1, 2]",
        "a-text": '"x"',
        "target-a-text": forged(raw, target="sqlite"),
        "target-a-list": forged(raw, target=[]),
        "target-a-number": forged(raw, target=5),
        "hosts-a-text": forged(raw, target={"backend": "postgresql", "database": "d", "hosts": "abc"}),
        "no-offset": forged(raw, captured_at="2026-11-24T00:00:03", spool_id="a" * 32),
        "page-no-offset": forged(raw, pages=[raw["pages"][0] | {"received_at": "2026-11-24T00:00:03"}]),
        "run-id-too-big": forged(raw, run_id=10**30),
        "run-id-a-text": forged(raw, run_id="7"),
        "account-a-number": forged(raw, account_no=5000001111),
    }
    for name, content in bad.items():
        (spool / f"20261124T000000000000-{name}.json").write_text(content)
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url, "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    assert kiwoom_etl("migrate", env=env).returncode == 0

    doctor = kiwoom_etl("doctor", env=env)
    assert doctor.returncode == 1 and "internal error" not in doctor.stderr, doctor.stderr
    assert doctor.stdout.count("cannot be read") == len(bad)
    flushed = kiwoom_etl("flush", env=env)
    assert flushed.returncode == 1 and "internal error" not in flushed.stderr, flushed.stderr
    assert f"1 loaded, 0 recorded as failed, 0 already loaded; {len(bad)} left" in flushed.stdout
    assert sorted(p.name for p in spool.glob("*.json")) == sorted(f"20261124T000000000000-{n}.json" for n in bad)


def test_only_the_spools_own_torn_files_are_removed_never_another_file_there(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "state")
    spool.directory.mkdir(parents=True)
    torn = spool.directory / "20261124T000000000000-a-KRX-0123.json.5f0c2a9e.tmp"
    other = spool.directory / "history.tmp"  # a database a user named and put here, say
    for path in (torn, other):
        path.write_bytes(b"SQLite format 3\x00")
        os.utime(path, (1, 1))  # written long ago: a crash's leftover, by age
    assert spool.paths() == []
    assert not torn.exists() and other.exists()  # was: any *.tmp an hour old deleted
