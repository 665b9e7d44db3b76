"""`kiwoom-etl doctor` against what a careless user or a hostile file puts in its way: it reads, says, and writes
nothing; what it prints is one visible line per thing, whatever a name or a spool file holds."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import kiwoom_etl

FORMAT_1 = Path(__file__).parent.parent / "fixtures" / "state" / "spool"


def migrated(database: Path, state: Path) -> dict[str, str]:
    env = {"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{database}", "KIWOOM_ETL_STATE_DIR": str(state)}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    return env


def test_a_database_whose_name_holds_a_hash_is_checked_itself_and_nothing_is_created(tmp_path: Path) -> None:
    database = tmp_path / "a#b.db"
    env = migrated(database, tmp_path / "state")
    with database.open("r+b") as file:  # every page after the first damaged
        file.seek(4096)
        file.write(b"\xa5" * (database.stat().st_size - 4096))

    doctor = kiwoom_etl("doctor", env=env)
    assert not (tmp_path / "a").exists()  # was: an empty file `a` created (the URI's path ends at #), and checked
    assert doctor.returncode == 1 and f"{database}: integrity check" in doctor.stdout, doctor.stdout


def test_a_forged_target_and_a_file_name_are_printed_as_escapes_on_their_own_line(tmp_path: Path) -> None:
    good = next(FORMAT_1.glob("*.json"))
    forged = json.loads(good.read_text()) | {
        "target": {"backend": "sqlite", "database": "/x\x1b[2J\nHealthy.", "hosts": []}
    }
    spool = tmp_path / "state" / "spool"
    spool.mkdir(parents=True)
    (spool / "20261124T000000000000-\x1b[31m\nHealthy.json").write_text(json.dumps(forged))
    (spool / "20261124T000001000000-broken.json").write_text("[]")
    for path in (tmp_path / "state", spool, *spool.iterdir()):
        path.chmod(0o700 if path.is_dir() else 0o600)
    env = migrated(tmp_path / "db.sqlite", tmp_path / "state")

    doctor = kiwoom_etl("doctor", env=env)
    flushed = kiwoom_etl("flush", env=env)
    for output in (doctor.stdout, flushed.stdout):
        assert "\x1b" not in output and "\nHealthy." not in output
        assert "/x\\x1b[2J\\nHealthy." in output
    assert "\\x1b[31m\\nHealthy.json: spooled for SQLite file /x" in flushed.stdout
    # The unreadable file is a problem of its own, not a snapshot waiting for this database.
    assert "waiting for this database" not in doctor.stdout and "2 problem(s)." in doctor.stdout


def test_a_state_directory_reached_through_a_link_is_judged_by_the_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "state").symlink_to(real)
    doctor = kiwoom_etl("doctor", env=migrated(tmp_path / "db.sqlite", tmp_path / "state"))
    assert doctor.returncode == 0 and doctor.stdout.rstrip().endswith("Healthy."), doctor.stdout  # was: 0777


def test_a_state_directory_that_is_a_file_is_said_to_be_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("")
    doctor = kiwoom_etl("doctor", env=migrated(tmp_path / "db.sqlite", state))
    assert doctor.returncode == 1 and f"{state} is not a folder" in doctor.stdout, doctor.stdout
    assert "1 problem(s)." in doctor.stdout


def test_the_database_in_the_state_directory_as_docs_deploy_puts_it_is_healthy(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    doctor = kiwoom_etl("doctor", env=migrated(state / "kiwoom_etl.db", state))
    assert doctor.returncode == 0 and doctor.stdout.rstrip().endswith("Healthy."), doctor.stdout


def test_a_spool_that_is_a_file_is_a_problem_not_an_empty_spool(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    env = migrated(tmp_path / "db.sqlite", state)
    (state / "spool").write_text("")  # a file where the spool's folder goes: no snapshot could be spooled
    (state / "spool").chmod(0o600)
    doctor = kiwoom_etl("doctor", env=env)
    assert doctor.returncode == 1 and f"{state / 'spool'} is not a folder" in doctor.stdout, doctor.stdout


def test_only_kiwoom_etls_own_files_are_judged_and_no_chmod_reaches_beyond_them(tmp_path: Path) -> None:
    state = tmp_path / "home"  # a state directory set to a folder holding other things too
    state.mkdir(mode=0o755)
    (state / "notes.txt").write_text("mine")
    (state / "notes.txt").chmod(0o644)
    tokens = state / "tokens"
    tokens.mkdir(mode=0o700)
    (tokens / "one.json").write_text("{}")
    (tokens / "one.json").chmod(0o644)
    doctor = kiwoom_etl("doctor", env=migrated(tmp_path / "db.sqlite", state))
    assert f"{state} holds more than kiwoom-etl's files (notes.txt): give it a folder of its own" in doctor.stdout
    wide = f"1 path(s) others can read or write — it holds tokens and account data: chmod -R go-rwx {tokens}: "
    assert f"{wide}{tokens}/one.json (0644)" in doctor.stdout, doctor.stdout
    assert "chmod go-rwx" not in doctor.stdout and f"chmod -R go-rwx {state}:" not in doctor.stdout
