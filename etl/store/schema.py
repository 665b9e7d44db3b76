"""The schema: Alembic's migrations (the top-level migrations/ folder, installed as etl.migrations), and the check
that a database is at the revision the code expects.

Only `migrate` needs Alembic, and imports it: the check reads the version table and the scripts' identifiers
itself, so that `snapshot`, `status` and the daemon do not carry Alembic (about 8 MB) in memory."""

from __future__ import annotations

import ast
import functools
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, event

from etl.errors import SchemaNotMigrated, StorageError
from etl.files import sqlite_path
from etl.settings import Settings
from etl.store.engine import driver_cursor, make_engine, masked_url, storage_errors

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

DEFAULT_DATABASE_MODE = Settings.database_mode  # 0o600: the file holds a financial history


@contextmanager
def connected(
    url: str, *, migrated: bool = True, required: bool = True, mode: int = DEFAULT_DATABASE_MODE
) -> Iterator[Engine]:
    """An engine for `url`, disposed afterwards.

    With `migrated`, it connects only to a database at the head revision (`guard`), and with `required` too,
    SchemaNotMigrated or DatabaseUnavailable is raised here unless the database is usable now; without it, the caller
    goes on and each use raises them (what `snapshot` and `run` spool on). A SQLite file whose permissions are wider
    than `mode` (the database_mode setting) is logged as a warning.
    """
    engine = make_engine(url)
    try:
        path = sqlite_file(engine)
        if path is not None and path.exists():
            warn_if_wider(path, mode)
        if migrated:
            guard(engine)
            if required:
                require_current_schema(engine)
        yield engine
    finally:
        engine.dispose()


def guard(engine: Engine) -> Engine:
    """Let `engine` connect only to a database at the head revision: any other raises SchemaNotMigrated before a
    byte is written to it, so that a newer version's or another application's database is never touched.

    Checked on every new connection, before the SQLite pragmas (switching a file to WAL writes to it); a SQLite file
    that does not exist is not created.
    """
    path = sqlite_file(engine)
    dialect = engine.dialect.name

    def refuse_absent(*_: object) -> None:
        if path is not None and not path.exists():
            raise SchemaNotMigrated(f"database file {path} does not exist: run `kiwoom-etl migrate` first")

    def check(dbapi_connection: Any, _record: object) -> None:
        try:
            cursor = dbapi_connection.cursor()
            try:
                current = read_revision(cursor, dialect)
            finally:
                cursor.close()
                dbapi_connection.rollback()
            problem = revision_problem(current)
            if problem is not None:
                raise SchemaNotMigrated(f"database {masked_url(engine)} {problem}")
        except BaseException:
            dbapi_connection.close()  # the pool drops a connection its listener refused without closing it
            raise

    event.listen(engine, "do_connect", refuse_absent)
    event.listen(engine, "connect", check, insert=True)
    return engine


def migrations_dir() -> Path:
    """Where the Alembic scripts are (the top-level migrations/ folder, installed as etl.migrations)."""
    return Path(str(resources.files("etl.migrations")))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for our scripts; `connection`, when given, is the one env.py migrates."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision the code expects: the one no script revises, read from the scripts' identifiers."""
    revisions, revised = _revisions()
    heads = revisions - revised
    if len(heads) == 1:
        return next(iter(heads))
    from alembic.script import ScriptDirectory  # not one head: let Alembic say what is wrong

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations/ holds no revision"
    return head


@functools.cache  # asked at every new connection and by the daemon at every slot; the scripts do not change
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """Every revision of the scripts, and those another one revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (migrations_dir() / "versions").glob("*.py"):
        identifiers = _identifiers(script)
        revision, down = identifiers.get("revision"), identifiers.get("down_revision")
        if isinstance(revision, str):
            revisions.add(revision)
            revised.update([down] if isinstance(down, str) else [d for d in down or () if isinstance(d, str)])
    return frozenset(revisions), frozenset(revised)


def revision_problem(current: str | None) -> str | None:
    """What is wrong with a database at revision `current` (None: it has no version table), said after its name;
    None when it is at the head."""
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return "has no kiwoom-etl tables: run `kiwoom-etl migrate` first"
    if current in _revisions()[0]:
        return f"is at revision {current}, the code needs {head}: run `kiwoom-etl migrate` first"
    return (
        f"is at revision {current}, which this kiwoom-etl does not know (a newer version migrated it, or it belongs "
        f"to another application): nothing is written to it; upgrade kiwoom-etl or use another database"
    )


def _identifiers(script: Path) -> dict[str, Any]:
    """The module-level constants `revision = "…"` and `down_revision = …` of a migration script."""
    found: dict[str, Any] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.Assign):
            pairs = [(target, node.value) for target in node.targets]
        for target, value in pairs:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(value)
    return found


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (Alembic's version table), None when it was never migrated."""
    with storage_errors(engine, "reading the schema revision"), engine.connect() as connection:
        with driver_cursor(connection) as cursor:
            return read_revision(cursor, engine.dialect.name)


def read_revision(cursor: Any, dialect: str) -> str | None:
    """The revision a driver's cursor finds in Alembic's version table (on the search path), None without one."""
    if dialect == "sqlite":
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
    else:
        cursor.execute("SELECT to_regclass('alembic_version')")
    found = cursor.fetchone()
    if found is None or found[0] is None:
        return None
    cursor.execute("SELECT version_num FROM alembic_version")
    return ",".join(sorted(str(row[0]) for row in cursor.fetchall())) or None


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database; None for another database or an in-memory one."""
    return sqlite_path(engine.url)


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

    A SQLite file that does not exist yet is created with `mode` (the database_mode setting) first; a database at
    a revision the scripts do not know (a newer kiwoom-etl's, another application's) raises SchemaNotMigrated.
    """
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        create_database_file(path, mode)
    before = current_revision(engine)
    if before is not None and before not in _revisions()[0]:  # Alembic would end in "Can't locate revision"
        raise SchemaNotMigrated(f"database {masked_url(engine)} {revision_problem(before)}")
    from alembic import command

    with migrating(engine, "migrating") as connection:
        command.upgrade(alembic_config(connection), "head")
    return before, head_revision()


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database to `revision` (Alembic's names: "base", "0004", "-1")."""
    from alembic import command

    with migrating(engine, f"downgrading to {revision}") as connection:
        command.downgrade(alembic_config(connection), revision)


@contextmanager
def migrating(engine: Engine, doing: str) -> Iterator[Connection]:
    """One transaction for schema changes; on SQLite with foreign keys off until it ends, and checked before commit.

    SQLite's batch mode rebuilds a table by copy, drop and rename; dropping a table other rows reference fails
    while foreign keys are enforced, and the pragma that stops it has no effect inside a transaction. This is
    SQLite's own procedure for such changes (lang_altertable.html): off before BEGIN, `foreign_key_check` before
    COMMIT, on again after.
    """
    sqlite = engine.dialect.name == "sqlite"
    with storage_errors(engine, doing), engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        table, rowid, parent, _ = broken[0]
                        raise StorageError(
                            f"{doing} would leave {len(broken)} row(s) without the row they reference"
                            f" ({table} rowid {rowid} → {parent}): nothing was changed"
                        )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaNotMigrated unless the database is at the head revision (without creating a SQLite file), or
    DatabaseUnavailable when it cannot be read at all."""
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        raise SchemaNotMigrated(f"database file {path} does not exist: run `kiwoom-etl migrate` first")
    problem = revision_problem(current_revision(engine))
    if problem is not None:
        raise SchemaNotMigrated(f"database {masked_url(engine)} {problem}")
