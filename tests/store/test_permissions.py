"""The SQLite file holds a financial history: created 0600 (or the database_mode asked for), its -wal and -shm
alike; a file that is more open than the setting is warned about, never silently changed."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from etl.errors import SchemaNotMigrated
from etl.files import write_private
from etl.store.schema import connected, migrate, require_current_schema


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A common umask (022), under which SQLite by itself would create a 0644 file."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_migrate_creates_the_file_0600(tmp_path: Path, open_umask: None) -> None:
    database = tmp_path / "history.db"
    with connected(f"sqlite:///{database}", migrated=False) as engine:
        migrate(engine)
    assert mode(database) == 0o600


def test_database_mode_0640_and_the_wal_and_shm_files_alike(tmp_path: Path) -> None:
    database = tmp_path / "history.db"
    old = os.umask(0o077)  # a strict umask does not take the group's read away: the setting asks for it
    try:
        with connected(f"sqlite:///{database}", migrated=False, mode=0o640) as engine:
            migrate(engine, 0o640)
            with engine.connect() as connection:
                connection.execute(
                    text(
                        "INSERT INTO etl_runs (id, trigger, status, started_at) "
                        "VALUES (1, 'cli', 'running', '2026-11-20 06:30:00')"
                    )
                )
                connection.commit()
                wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
                assert wal.exists() and shm.exists()
                assert (mode(database), mode(wal), mode(shm)) == (0o640, 0o640, 0o640)
    finally:
        os.umask(old)


def test_a_wider_file_is_warned_about_and_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = tmp_path / "history.db"
    url = f"sqlite:///{database}"
    with connected(url, migrated=False) as engine:
        migrate(engine)
    database.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="etl"), connected(url):
        pass
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert str(database) in message and "mode 0644" in message and f"chmod 0600 {database}" in message
    assert mode(database) == 0o644

    caplog.clear()
    database.chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="etl"), connected(url, mode=0o640):
        pass
    assert [r for r in caplog.records if r.levelno == logging.WARNING] == []  # as open as asked: no warning


def test_checking_the_schema_never_creates_the_file(tmp_path: Path) -> None:
    database = tmp_path / "absent.db"
    with connected(f"sqlite:///{database}", migrated=False) as engine, pytest.raises(SchemaNotMigrated):
        require_current_schema(engine)
    assert not database.exists()


def test_the_state_dir_is_0700(tmp_path: Path, open_umask: None) -> None:
    state = tmp_path / "state" / "kiwoom-etl"
    write_private(state / "tokens" / "one.json", b"{}")  # the state dir made on the way, as a parent: 0700 too
    assert (mode(tmp_path / "state"), mode(state), mode(state / "tokens")) == (0o700, 0o700, 0o700)
    assert mode(state / "tokens" / "one.json") == 0o600
