"""Private files: written whole or not at all, readable by their owner only (the token cache, the spool, account
numbers); and the outputs a user names (reports, exports), which never replace the history they come from."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from etl.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# A new report or export is the owner's alone, as the database it comes from (account numbers, balances); a file
# it replaces keeps the mode its owner gave it.
OUTPUT_FILE = PRIVATE_FILE
# What SQLite keeps beside a database file, and what each one is (in the refusal's words).
SQLITE_FILES = (
    ("", "the database itself"),
    ("-wal", "the database's write-ahead log"),
    ("-shm", "the database's shared-memory index"),
    ("-journal", "the database's rollback journal"),
)


def make_private_dir(directory: Path) -> None:
    """Create `directory` and its missing parents as 0700; one that exists keeps the mode its owner chose."""
    missing = []
    for path in (directory, *directory.parents):
        if path.exists():
            if not path.is_dir():  # mkdir would say "File exists", which does not say why
                raise NotADirectoryError(errno.ENOTDIR, f"{path} is a file, not a folder", str(path))
            break
        missing.append(path)
    for path in reversed(missing):  # Path.mkdir(parents=True) would make the parents with the umask's mode
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)  # raises what mkdir raises (a file there)


def write_private(path: Path, data: bytes) -> None:
    """Store `data` at `path` durably: a temporary name, fsync, rename, fsync of the directory; mode 0600.

    A reader sees the old file or the new one, never a torn one; a crash leaves at most a `*.tmp` file behind.
    Raises OSError (the callers say what the file was for).
    """
    make_private_dir(path.parent)
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename or removal in `directory` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


@dataclass(frozen=True)
class Protected:
    """What no output may replace, --force or not: the SQLite database's files, the state directory (the token
    cache, the account numbers, the spool) and the config file (it may hold the keys)."""

    databases: tuple[Path, ...] = ()
    state_dir: Path | None = None
    config_file: Path | None = None

    @classmethod
    def of(cls, database_urls: Iterable[str], state_dir: Path | None, config_file: Path | None = None) -> Protected:
        """The files of these database URLs (SQLite's; a server database has none here), the state directory and
        the config file."""
        files = (sqlite_path(url) for url in database_urls)
        return cls(tuple(path for path in files if path is not None), state_dir, config_file)


def sqlite_path(database_url: str | URL) -> Path | None:
    """The file a SQLite URL names (relative to the working directory, as SQLite opens it), its `file:` URI form
    too (`sqlite:///file:PATH?mode=ro&uri=true`); None for another database, an in-memory one or a URL that does not
    parse."""
    from sqlalchemy.engine import make_url  # here: the CLI's --help must not pay for SQLAlchemy
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    database = url.database
    if url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    if str(url.query.get("uri", "")).lower() == "true" and database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]  # sqlite:///file:x.db?mode=ro&uri=true
        if database in ("", ":memory:"):
            return None
    return Path(database).expanduser()


def check_output(path: Path, protected: Protected, *, force: bool, option: str = "--out") -> Path:
    """The path an output to `path` would replace; ConfigError (naming `option`) when it is one of the protected
    files, in the state directory, a hard link to one of them, or an existing file without `force`.

    Paths are compared once resolved (symlinks, `.` and `..`, relative to the working directory), and by device
    and inode where both exist, so that no spelling of a protected file gets through. What is replaced is the name
    itself: a symbolic link there is replaced by the new file, never the file it points to (in a shared folder
    another user may have planted it).
    """
    shown = f"{option} {path}"
    if str(path) == "-":  # the shell's "standard output": a file named "-" is never what was meant
        raise ConfigError(f"{shown}: name a file (- is not standard output here; export without --out writes there)")
    if path.name in ("", ".", ".."):
        raise ConfigError(f"{shown} is a folder; name a file")
    destination = Path(os.path.realpath(path.parent)) / path.name
    target = Path(os.path.realpath(path))
    found = _stat(target)
    for database in protected.databases:
        # A database reached through a symlink: its journal may sit beside the link or beside the file.
        for named in {Path(os.path.abspath(database)), Path(os.path.realpath(database))}:
            for suffix, what in SQLITE_FILES:
                sibling = named.with_name(named.name + suffix)
                real = Path(os.path.realpath(sibling))
                if real in (target, destination) or (found is not None and _same(found, _stat(sibling))):
                    raise ConfigError(f"{shown} is {what}; choose another file")
    if protected.config_file is not None:
        config = Path(os.path.realpath(protected.config_file))
        if config in (target, destination) or (found is not None and _same(found, _stat(config))):
            raise ConfigError(f"{shown} is the config file; choose another file")
    if protected.state_dir is not None:
        state = Path(os.path.realpath(protected.state_dir))
        if target.is_relative_to(state) or destination.is_relative_to(state):
            raise ConfigError(
                f"{shown} is inside the state directory {state} (tokens, account numbers, the spool); "
                "choose another file"
            )
        if found is not None and found.st_nlink > 1:
            for linked in _files_under(state):
                if _same(found, _stat(linked)):
                    raise ConfigError(f"{shown} is a hard link to {linked} in the state directory; choose another file")
    there = _lstat(destination)
    if there is not None and stat.S_ISDIR(there.st_mode):
        raise ConfigError(f"{shown} is a folder; name a file")
    if there is not None and not (stat.S_ISREG(there.st_mode) or stat.S_ISLNK(there.st_mode)):
        # A device or a pipe (/dev/null, /dev/stdout) would be renamed over, not written to: leave out --out instead.
        raise ConfigError(f"{shown} is not a regular file (a device, a pipe or a socket); name a file")
    if there is not None and not force:
        raise ConfigError(f"{shown} exists; add --force to replace it")
    return destination


@contextmanager
def output_file(path: Path, protected: Protected, *, force: bool, option: str = "--out") -> Iterator[IO[bytes]]:
    """A stream whose bytes become the file at `path` only once the block ends without an error (check_output
    first; a missing folder is made 0700).

    They go to a temporary name in the target's folder, fsynced, then renamed over it: a crash leaves the old file or
    the new one, never half of either, and at most a hidden `*.tmp` file. A new file is 0600; a replaced one keeps
    its mode. Raises ConfigError (refused) or OSError (the caller says what the file was for).
    """
    target = check_output(path, protected, force=force, option=option)
    make_private_dir(target.parent)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OUTPUT_FILE)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        # Checked again: an export can stream for minutes, and a file that appeared meanwhile is not replaced.
        check_output(path, protected, force=force, option=option)
        existing = _lstat(target)  # a link replaced gives the new file no mode of the file it pointed to
        regular = existing is not None and stat.S_ISREG(existing.st_mode)
        os.chmod(temporary, stat.S_IMODE(existing.st_mode) if existing and regular else OUTPUT_FILE)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def write_output(path: Path, data: bytes, protected: Protected, *, force: bool, option: str = "--out") -> None:
    """Write `data` to `path` as output_file does. Raises ConfigError (refused) or OSError."""
    with output_file(path, protected, force=force, option=option) as stream:
        stream.write(data)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except OSError:
        return None


def _same(one: os.stat_result, other: os.stat_result | None) -> bool:
    return other is not None and (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)


def _files_under(directory: Path) -> Iterator[Path]:
    for folder, _dirs, names in os.walk(directory):
        for name in names:
            yield Path(folder) / name
