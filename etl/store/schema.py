"""The schema: Alembic's migrations (the top-level migrations/ folder, installed as etl.migrations), and the check
that a database is at the revision the code expects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from etl.errors import SchemaNotMigrated
from etl.settings import mask_database_url
from etl.store.engine import make_engine, storage_errors, transaction


@contextmanager
def connected(url: str, *, migrated: bool = True) -> Iterator[Engine]:
    """An engine for `url`, disposed afterwards; with `migrated`, SchemaNotMigrated unless the schema is current."""
    engine = make_engine(url)
    try:
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


def migrate(engine: Engine) -> tuple[str | None, str]:
    """Upgrade the database to the head revision; return (revision before, revision after)."""
    before = current_revision(engine)
    with transaction(engine, "migrating") as connection:
        command.upgrade(alembic_config(connection), "head")
    return before, head_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaNotMigrated unless the database is at the head revision (without creating a SQLite file)."""
    where = mask_database_url(engine.url.render_as_string(hide_password=False))
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        if not Path(database).exists():
            raise SchemaNotMigrated(f"database file {database} does not exist: run `kiwoom-etl migrate` first")
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no kiwoom-etl tables" if current is None else f"is at revision {current}, the code needs {head}"
        raise SchemaNotMigrated(f"database {where} {state}: run `kiwoom-etl migrate` first")
