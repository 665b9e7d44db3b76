"""Access tokens: parsed with their KST expiry, cached per app key in a 0600 file, issued under a lock.

One token per app key and base URL: several processes issuing tokens for one key at once have invalidated each
other, so issuing happens under a file lock and every process reuses the cached token until shortly before it
expires.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from etl.clock import KST
from etl.errors import BadResponse, StorageError
from etl.files import make_private_dir, write_private

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads in one process are still serialised
    fcntl = None  # type: ignore[assignment]

REFRESH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Token:
    """An access token and the moment it expires (aware, UTC)."""

    value: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"Token('***', expires_at={self.expires_at.isoformat()})"

    def usable_at(self, now: datetime) -> bool:
        """True while the token has more than the refresh margin left."""
        return now < self.expires_at - REFRESH_MARGIN


def parse_expires_dt(value: object) -> datetime:
    """au10001's `expires_dt` ("YYYYMMDDHHMMSS", Korean time) → an aware UTC datetime."""
    if not isinstance(value, str) or len(value) != 14 or not value.isascii() or not value.isdigit():
        raise BadResponse(f"expires_dt is not YYYYMMDDHHMMSS: {value!r}", api_id="au10001")
    try:
        local = datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        raise BadResponse(f"expires_dt is not a valid time: {value!r}", api_id="au10001") from None
    return local.replace(tzinfo=KST).astimezone(UTC)


def cache_key(base_url: str, appkey: str, secretkey: str) -> str:
    """The name of one credential's cache entry: a digest, so that no key is written to disk.

    The secret key is part of it: a wrong secret must not find the token issued for the right one.
    """
    return hashlib.sha256(f"{base_url}\n{appkey}\n{secretkey}".encode()).hexdigest()[:32]


class TokenCache:
    """Token files under `<state dir>/tokens`, one per `cache_key`."""

    def __init__(self, state_dir: Path) -> None:
        self._dir = state_dir / "tokens"
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _path(self, key: str) -> Path:
        return self._dir / f"{key}.json"

    def _ensure_dir(self) -> None:
        try:
            # Only directories created here get 0700; an existing state dir keeps the mode its owner chose.
            make_private_dir(self._dir)
        except OSError as exc:
            raise StorageError(f"state directory {self._dir.parent} is not usable: {exc.strerror}") from None

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold the lock of one cache entry: across threads of this process and across processes."""
        with self._locks_guard:
            thread_lock = self._locks.setdefault(key, threading.Lock())
        with thread_lock:
            self._ensure_dir()
            if fcntl is None:
                yield
                return
            lock_path = self._dir / f"{key}.lock"
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise StorageError(f"token lock {lock_path} cannot be opened: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def load(self, key: str) -> Token | None:
        """The cached token, or None when there is none or it cannot be read."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            token = Token(value=data["token"], expires_at=datetime.fromisoformat(data["expires_at"]))
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        # A file edited by hand: an expiry without its offset cannot be compared with now (every call would raise).
        if not isinstance(token.value, str) or token.expires_at.tzinfo is None:
            return None
        return token

    def save(self, key: str, token: Token) -> None:
        """Write the token atomically (temporary file, fsync, rename), readable by the owner only."""
        self._ensure_dir()
        path = self._path(key)
        payload = json.dumps({"token": token.value, "expires_at": token.expires_at.isoformat()})
        try:
            write_private(path, payload.encode())
        except OSError as exc:
            raise StorageError(f"token cache {path} cannot be written: {exc.strerror}") from None

    def discard(self, key: str, token: Token) -> None:
        """Forget the cached token if it is still `token` (another process may have replaced it already)."""
        cached = self.load(key)
        if cached is not None and cached.value == token.value:
            with contextlib.suppress(FileNotFoundError):
                self._path(key).unlink()
