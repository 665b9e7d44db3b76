"""The schema: Alembic's migrations (the top-level migrations/ folder, installed as etl.migrations), and the check
that a database is at the revision the code expects."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from etl.errors import SchemaNotMigrated, StorageError
from etl.settings import Settings, mask_database_url
from etl.store.engine import make_engine, storage_errors, transaction

log = logging.getLogger(__name__)

DEFAULT_DATABASE_MODE = Settings.database_mode  # 0o600: the file holds a financial history


@contextmanager
def connected(url: str, *, migrated: bool = True, mode: int = DEFAULT_DATABASE_MODE) -> Iterator[Engine]:
    """An engine for `url`, disposed afterwards; with `migrated`, SchemaNotMigrated unless the schema is current.

    A SQLite file whose permissions are wider than `mode` (the database_mode setting) is logged as a warning.
    """
    engine = make_engine(url)
    try:
        path = sqlite_file(engine)
        if path is not None and path.exists():
            warn_if_wider(path, mode)
        if migrated:
            require_current_schema(engine)
        yield engine
    finally:
        engine.dispose()


def migrations_dir() -> Path:
    """Where the Alembic scripts are (the top-level migrations/ folder, installed as etl.migrations)."""
    return Path(str(resources.files("etl.migrations")))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for our scripts; `connection`, when given, is the one env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations/ holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, None when it was never migrated."""
    with storage_errors(engine, "reading the schema revision"), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database; None for another database or an in-memory one."""
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        return Path(str(database))
    return None


def warn_if_wider(path: Path, mode: int) -> None:
    """Log a warning when `path` lets more people in than `mode` does (never a silent chmod: the owner decides)."""
    actual = stat.S_IMODE(path.stat().st_mode)
    if actual & ~mode:
        log.warning(
            "database file %s has mode %04o, wider than database_mode %04o: run `chmod %04o %s` "
            "(or set database_mode to the mode you mean)",
            path,
            actual,
            mode,
            mode,
            path,
        )


def create_database_file(path: Path, mode: int) -> None:
    """Create the empty SQLite file `path` with exactly `mode` (SQLite gives its -wal and -shm files the same)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    except OSError as exc:
        raise StorageError(f"database file {path} cannot be created: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits away that the setting asks for
    finally:
        os.close(fd)


def migrate(engine: Engine, mode: int = DEFAULT_DATABASE_MODE) -> tuple[str | None, str]:
    """Upgrade the database to the head revision; return (revision before, revision after).

    A SQLite file that does not exist yet is created with `mode` (the database_mode setting) first.
    """
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        create_database_file(path, mode)
    before = current_revision(engine)
    with transaction(engine, "migrating") as connection:
        command.upgrade(alembic_config(connection), "head")
    return before, head_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaNotMigrated unless the database is at the head revision (without creating a SQLite file)."""
    where = mask_database_url(engine.url.render_as_string(hide_password=False))
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        raise SchemaNotMigrated(f"database file {path} does not exist: run `kiwoom-etl migrate` first")
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no kiwoom-etl tables" if current is None else f"is at revision {current}, the code needs {head}"
        raise SchemaNotMigrated(f"database {where} {state}: run `kiwoom-etl migrate` first")
