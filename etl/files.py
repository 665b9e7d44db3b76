"""Private files: written whole or not at all, readable by their owner only (the token cache, the spool, account
numbers)."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dir(directory: Path) -> None:
    """Create `directory` and its missing parents as 0700; one that exists keeps the mode its owner chose."""
    missing = []
    for path in (directory, *directory.parents):
        if path.exists():
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
