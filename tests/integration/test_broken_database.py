"""A database that cannot be used — corrupted, not a database, read-only, at a revision the code does not know, away —
never costs a snapshot: it is fetched and spooled, the file is never written to, and `flush` loads it once a good
database is back. `doctor` says what is wrong."""

from __future__ import annotations

import errno
import json
import logging
import re
import shutil
import signal
import sqlite3
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from etl.daemon.runner import Daemon, serve_health
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun
from etl.store.schema import guard, head_revision
from tests.support import Clock, account_env, kiwoom_etl, make_settings, sim_accounts
from tests.support.daemon import SLOT, DaemonProcess, build_schedule, wait_until
from tests.support.schema import migrated as copy_migrated

DOWN = "postgresql://postgres@127.0.0.1:9/nowhere"  # nothing listens there: the database is away


def corrupt_header(path: Path) -> None:
    """Overwrite the first 100 bytes (SQLite's header): 'file is not a database'."""
    with path.open("r+b") as file:
        file.write(b"\x00" * 100)


def corrupt_pages(path: Path) -> None:
    """Overwrite the pages after the first (the schema's and the tables'): 'database disk image is malformed'."""
    with path.open("r+b") as file:
        file.seek(4096)
        file.write(b"\xa5" * (path.stat().st_size - 4096))


def text_file(path: Path) -> None:
    path.write_text("these are my notes, not a database\n" * 200)


def read_only(path: Path) -> str:
    """The file opened read-only, as SQLite's URI says (a chmod would not stop root)."""
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def newer_revision(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    connection.close()


def foreign_database(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        connection.execute("INSERT INTO invoices (total) VALUES (12.5)")
    connection.close()
    path.chmod(0o600)


BREAKAGES: dict[str, tuple[Callable[[Path], str | None], str]] = {
    "header overwritten": (corrupt_header, "file is not a database"),
    "pages overwritten": (corrupt_pages, "malformed"),
    "a text file": (text_file, "file is not a database"),
    "read-only": (read_only, "readonly database"),
    "a newer revision": (newer_revision, "revision ffff_from_the_future, which this kiwoom-etl does not know"),
    "another application's": (foreign_database, "has no kiwoom-etl tables"),
}


def spooled(state: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted((state / "spool").glob("*.json"))]


def count(engine: Engine, model: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())  # type: ignore[arg-type]


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    """A migrated SQLite file holding one day's history, closed (no -wal left)."""
    database = tmp_path / "kiwoom_etl.db"
    engine = make_engine(f"sqlite:///{database}")
    copy_migrated(engine)
    engine.dispose()
    return database


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_snapshot_against_a_broken_sqlite_file_spools_and_never_writes_it(
    breakage: str, migrated: Path, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    breaking, said = BREAKAGES[breakage]
    url = breaking(migrated) or f"sqlite:///{migrated}"
    before = migrated.read_bytes()
    env = account_env(simulator, sim_url, url, tmp_path)

    taken = kiwoom_etl("snapshot", env=env)

    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    last = taken.stderr.strip().splitlines()[-1]
    assert last.startswith("kiwoom-etl: error: the database is unusable") and said in last, taken.stderr
    assert f"2 snapshot(s) spooled in {tmp_path / 'state' / 'spool'}" in taken.stderr
    files = spooled(tmp_path / "state")
    assert [f["exchange"] for f in files] == ["KRX", "NXT"] and all(f["pages"] for f in files)
    assert migrated.read_bytes() == before  # not a byte written (a WAL reader's -shm aside)

    status = kiwoom_etl("status", env=env)
    assert status.returncode == 1 and "Traceback" not in status.stderr
    assert status.stdout.startswith("Spool: 2 snapshot(s) waiting")
    if breakage != "read-only":  # status only reads: a read-only copy is what a BI host may well give it
        assert status.stderr.startswith("kiwoom-etl: error: the database is unusable") and said in status.stderr
        assert len(status.stderr.strip().splitlines()) == 1
    assert migrated.read_bytes() == before

    # A good database back in its place (the broken one moved aside, as a person would): everything loads, once.
    env["KIWOOM_ETL_DATABASE_URL"] = f"sqlite:///{migrated}"
    shutil.move(migrated, tmp_path / "broken.db")
    for sibling in tmp_path.glob("kiwoom_etl.db-*"):
        sibling.unlink()
    assert kiwoom_etl("migrate", env=env).returncode == 0
    flushed = kiwoom_etl("flush", env=env)
    assert flushed.returncode == 0, flushed.stderr
    assert "2 loaded, 0 recorded as failed, 0 already loaded; 0 left" in flushed.stdout
    again = kiwoom_etl("flush", env=env)
    assert again.returncode == 0 and "is empty" in again.stdout
    engine = make_engine(f"sqlite:///{migrated}")
    try:
        assert count(engine, AccountSnapshot) == 2 and count(engine, EtlRun) == 2
    finally:
        engine.dispose()


def test_the_warning_that_snapshots_will_be_spooled_comes_from_the_logger_it_always_came_from(
    migrated: Path, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    text_file(migrated)
    env = account_env(simulator, sim_url, f"sqlite:///{migrated}", tmp_path)

    taken = kiwoom_etl("--log-format", "json", "snapshot", env=env)

    records = [json.loads(line) for line in taken.stderr.splitlines() if line.startswith("{")]
    warned = [r for r in records if "fetching anyway, snapshots will be spooled" in r["message"]]
    assert [r["logger"] for r in warned] == ["etl"], taken.stderr  # log shippers filter on it


def test_snapshot_with_postgresql_away_spools_and_says_why(sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    env = account_env(simulator, sim_url, DOWN, tmp_path)
    taken = kiwoom_etl("snapshot", env=env)
    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    last = taken.stderr.strip().splitlines()[-1]
    assert last.startswith("kiwoom-etl: error: the database is unusable") and "127.0.0.1" in last
    assert len(spooled(tmp_path / "state")) == 2


def assert_spooled(env: dict[str, str], said: str, state: Path) -> None:
    """`snapshot` against the faulty database fetched both exchanges, spooled them and said why in one line."""
    taken = kiwoom_etl("snapshot", env=env)
    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    last = taken.stderr.strip().splitlines()[-1]
    assert last.startswith("kiwoom-etl: error: the database is unusable") and said in last, taken.stderr
    assert [f["exchange"] for f in spooled(state)] == ["KRX", "NXT"] and all(f["pages"] for f in spooled(state))


def assert_flushed_once(env: dict[str, str], url: str) -> None:
    """Once the fault is gone, `flush` loads what was spooled, and a second `flush` finds nothing to load."""
    flushed = kiwoom_etl("flush", env=env)
    assert flushed.returncode == 0, flushed.stderr
    assert "2 loaded, 0 recorded as failed, 0 already loaded; 0 left" in flushed.stdout
    again = kiwoom_etl("flush", env=env)
    assert again.returncode == 0 and "is empty" in again.stdout
    engine = make_engine(url)
    try:
        assert count(engine, AccountSnapshot) == 2 and count(engine, EtlRun) == 2
    finally:
        engine.dispose()


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def test_a_sqlite_file_locked_past_the_busy_timeout_spools_and_is_left_whole(
    migrated: Path, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    url = f"sqlite:///{migrated}?timeout=0.2"  # the URL's own busy timeout, shorter than the default 30 s
    env = account_env(simulator, sim_url, url, tmp_path)
    before = migrated.read_bytes()
    holder = sqlite3.connect(migrated, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock and never lets go
        assert_spooled(env, "database is locked", tmp_path / "state")
        assert migrated.read_bytes() == before
    finally:
        holder.close()
    assert integrity(migrated) == "ok"
    assert_flushed_once(env, url)


@pytest.mark.postgres
def test_a_postgresql_table_locked_past_the_lock_timeout_spools(
    postgres_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    short = make_url(postgres_url)
    short = short.update_query_dict({"options": f"{short.query['options']} -clock_timeout=200ms"})
    url = short.render_as_string(hide_password=False)
    env = account_env(simulator, sim_url, url, tmp_path)
    engine = make_engine(postgres_url)
    try:
        copy_migrated(engine)
        with engine.connect() as holder:  # another session holds the runs table and never lets go
            holder.execute(text("LOCK TABLE etl_runs IN ACCESS EXCLUSIVE MODE"))
            assert_spooled(env, "lock timeout", tmp_path / "state")
            holder.rollback()
    finally:
        engine.dispose()
    assert_flushed_once(env, url)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs (root mounts one; elsewhere the test is skipped with that reason), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(disk)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.mark.parametrize(
    ("reader", "said"), [(False, "disk I/O error"), (True, "database or disk is full")], ids=["alone", "a reader open"]
)
def test_a_sqlite_file_on_a_full_disk_spools_and_is_left_whole(
    reader: bool, said: str, migrated: Path, full_disk: Path, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    database = full_disk / "kiwoom_etl.db"
    shutil.copy(migrated, database)
    with ExitStack() as open_reader:
        if reader:  # a BI tool reading it: its -wal and -shm exist, and the load's pages are what find no room
            bi = open_reader.enter_context(closing(sqlite3.connect(database)))
            assert bi.execute("SELECT count(*) FROM etl_runs").fetchone() == (0,)
        filler = full_disk / "filler"
        with filler.open("wb", buffering=0) as file:  # the disk filled by something else, to the last byte
            with pytest.raises(OSError) as full:
                while True:
                    file.write(b"\0" * 4096)
            assert full.value.errno == errno.ENOSPC
        url = f"sqlite:///{database}"
        env = account_env(simulator, sim_url, url, tmp_path)  # the spool is on another disk, with room
        before = database.read_bytes()
        assert_spooled(env, said, tmp_path / "state")
        assert database.read_bytes() == before
    filler.unlink()  # room again
    assert integrity(database) == "ok"
    assert_flushed_once(env, url)


def stamp(engine: Engine, revision: str) -> None:
    """Alembic's version table set to `revision`, as a newer kiwoom-etl's migrate would leave it."""
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})


def test_the_daemon_on_an_unusable_database_spools_every_slot_says_why_once_and_loads_them_when_it_is_fixed(
    db_url: str, engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(sim_url, db_url, tmp_path / "state", sim_accounts(simulator))
    stamp(engine, "ffff_from_the_future")
    guarded = guard(make_engine(db_url))  # as `run` connects: only to a database at the head revision
    clock = Clock(SLOT)
    daemon = Daemon(settings, build_schedule(), guarded, clock=clock)
    server = serve_health(daemon, 0)
    try:
        with caplog.at_level(logging.WARNING, logger="etl"):
            assert daemon.recover() == 0  # it runs on
            for minutes in (0, 5, 10):
                clock.now = SLOT + timedelta(minutes=minutes)
                daemon.tick()
                assert daemon.wait_idle()
            with pytest.raises(urllib.error.HTTPError) as unhealthy:
                urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/healthz", timeout=5)
            assert unhealthy.value.code == 503
            said = unhealthy.value.read().decode()
            unhealthy.value.close()
        assert said.startswith("database unusable") and "ffff_from_the_future" in said
        told = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(told) == 1 and "the database is unusable" in told[0] and "ffff_from_the_future" in told[0]
        assert len(daemon.snapshotter.spool.paths()) == 12  # 3 slots × 2 accounts × 2 exchanges
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(EtlRun)).scalar() == 0  # never written

        stamp(engine, head_revision())  # fixed (here: as it was)
        clock.now = SLOT + timedelta(minutes=11)
        daemon.flush_spool()
        assert daemon.snapshotter.spool.paths() == [] and daemon.health() is None
        with engine.connect() as connection:
            loaded = connection.execute(select(EtlRun.status, EtlRun.scheduled_for)).all()
        assert sorted(status for status, _ in loaded) == ["success"] * 12
        assert len({slot for _, slot in loaded}) == 3
    finally:
        server.shutdown()
        server.server_close()
        daemon.fetcher.close()
        guarded.dispose()


def test_run_on_a_corrupted_file_keeps_spooling_and_says_why(
    migrated: Path, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    corrupt_header(migrated)
    before = migrated.read_bytes()
    env = account_env(simulator, sim_url, f"sqlite:///{migrated}", tmp_path)
    daemon = DaemonProcess(
        ["run", "--interval", "2s", "--all-hours", "--health-port", "0"], env, tmp_path / "daemon.log"
    )
    try:
        wait_until(lambda: len(spooled(tmp_path / "state")) >= 6, "three slots spooled")
        assert daemon.process.poll() is None  # still running: no restart loop
        port = re.search(r"http://127.0.0.1:(\d+)/healthz", daemon.output())
        assert port is not None, daemon.output()
        with pytest.raises(urllib.error.HTTPError) as unhealthy:
            urllib.request.urlopen(f"http://127.0.0.1:{port[1]}/healthz", timeout=5)
        assert unhealthy.value.code == 503 and "file is not a database" in unhealthy.value.read().decode()
        unhealthy.value.close()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.output()
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.wait()
    output = daemon.output()
    assert output.count("the database is unusable") == 1 and "Traceback" not in output
    assert migrated.read_bytes() == before


@pytest.mark.parametrize("breakage", [*BREAKAGES, "absent"], ids=[*BREAKAGES, "absent"])
def test_doctor_says_what_is_wrong_with_the_database_without_a_key_and_writes_nothing(
    breakage: str, migrated: Path, tmp_path: Path
) -> None:
    if breakage == "absent":
        migrated.unlink()
        url, said = f"sqlite:///{migrated}", "does not exist: run `kiwoom-etl migrate` first"
    else:
        breaking, said = BREAKAGES[breakage]
        url = breaking(migrated) or f"sqlite:///{migrated}"
    before = migrated.read_bytes() if migrated.exists() else None
    env = {"KIWOOM_ETL_DATABASE_URL": url, "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}  # no Kiwoom key
    told = kiwoom_etl("doctor", env=env)
    assert told.returncode == 1 and told.stderr == ""
    lines = told.stdout.splitlines()
    assert lines[0].startswith(f"Database: SQLite file {migrated} (sqlite:///")
    assert lines[1].startswith("  PROBLEM: ") and said in lines[1] and not lines[2].startswith("  PROBLEM")
    assert lines[-1] == "1 problem(s)." and len(lines) <= 24  # one screen
    assert (migrated.read_bytes() if migrated.exists() else None) == before


def test_doctor_on_a_healthy_setup_and_on_a_spool_and_state_directory_that_need_a_person(
    migrated: Path, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = {"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{migrated}", "KIWOOM_ETL_STATE_DIR": str(state)}
    healthy = kiwoom_etl("doctor", env=env)
    assert healthy.returncode == 0, healthy.stdout
    assert healthy.stdout.splitlines()[1] == "  ok: its integrity, the schema revision and a write lock checked"
    assert healthy.stdout.splitlines()[-1] == "Healthy."

    elsewhere = tmp_path / "elsewhere.db"  # not migrated: what is taken for it is spooled for it
    assert kiwoom_etl("snapshot", env=account_env(simulator, sim_url, f"sqlite:///{elsewhere}", tmp_path)).returncode
    (state / "spool" / "20261124T000000000000-torn.json").write_text('{"format": 1, "pag')
    state.chmod(0o755)
    told = kiwoom_etl("doctor", env=env)
    assert told.returncode == 1
    problems = [line for line in told.stdout.splitlines() if line.startswith("  PROBLEM: ")]
    assert len(problems) == 3 and told.stdout.splitlines()[-1] == "3 problem(s).", told.stdout
    assert "20261124T000000000000-torn.json cannot be read" in problems[0]
    assert f"2 snapshot(s) spooled for SQLite file {elsewhere}" in problems[1] and "--into-this-database" in problems[1]
    assert f"chmod -R go-rwx {state}" in problems[2] and f"{state} (0755)" in problems[2]


def test_doctor_and_status_tell_the_spools_oldest_capture_in_the_schedules_time_zone(
    sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    database = tmp_path / "never-migrated.db"  # what is taken for it is spooled for it
    env = account_env(simulator, sim_url, f"sqlite:///{database}", tmp_path)
    assert kiwoom_etl("snapshot", env=env).returncode == 1
    for zone, name in (("Asia/Seoul", "KST"), ("UTC", "UTC")):
        told = kiwoom_etl("doctor", env=env | {"KIWOOM_ETL_TIMEZONE": zone})
        moment = rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {name}"
        waiting = rf"2 snapshot\(s\) waiting for this database, the oldest captured {moment}: "
        assert re.search(waiting, told.stdout), told.stdout
        status = kiwoom_etl("status", env=env | {"KIWOOM_ETL_TIMEZONE": zone})
        assert re.search(rf"the oldest captured {moment}\)", status.stdout), status.stdout
        assert "`kiwoom-etl doctor` names the database each was spooled for" in status.stdout


@pytest.mark.postgres
def test_doctor_on_postgresql_away_and_at_a_revision_it_does_not_know(postgres_url: str, tmp_path: Path) -> None:
    state = {"KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    away = kiwoom_etl("doctor", env=state | {"KIWOOM_ETL_DATABASE_URL": DOWN})
    assert away.returncode == 1
    lines = away.stdout.splitlines()
    assert lines[0].startswith("Database: postgresql database nowhere on 127.0.0.1:9 (system identifier unknown)")
    assert lines[1].startswith("  PROBLEM: ") and "Connection refused" in lines[1]

    engine = make_engine(postgres_url)
    try:
        copy_migrated(engine)
        stamp(engine, "ffff_from_the_future")
        with engine.connect() as connection:
            system = connection.execute(text("SELECT system_identifier FROM pg_control_system()")).scalar()
    finally:
        engine.dispose()
    newer = kiwoom_etl("doctor", env=state | {"KIWOOM_ETL_DATABASE_URL": postgres_url})
    assert newer.returncode == 1
    lines = newer.stdout.splitlines()
    assert f"(system identifier {system})" in lines[0]
    assert "revision ffff_from_the_future, which this kiwoom-etl does not know" in lines[1]


def test_migrate_refuses_a_database_at_a_revision_it_does_not_know_in_one_line(db_url: str, engine: Engine) -> None:
    stamp(engine, "ffff_from_the_future")  # a newer kiwoom-etl's, or another application's Alembic
    told = kiwoom_etl("migrate", env={"KIWOOM_ETL_DATABASE_URL": db_url})
    assert told.returncode == 1 and told.stdout == "", told.stderr
    assert told.stderr.startswith("kiwoom-etl: error: database ") and len(told.stderr.splitlines()) == 1
    assert "is at revision ffff_from_the_future, which this kiwoom-etl does not know" in told.stderr
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "ffff_from_the_future"
