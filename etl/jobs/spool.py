"""The spool: snapshots that were fetched while the database could not take them, kept on disk until it can.

One JSON file per snapshot under `<state dir>/spool`, written to a temporary name, fsynced and renamed, so that a
file is either whole or absent. Names start with the capture time, so that sorting them is oldest first. Files
are 0600 in a 0700 directory: they hold account data (never a credential: token answers are not spooled). Each
names the database it was meant for (`target`, etl.store.identity), so that `flush` loads it there and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from etl.errors import SpoolError
from etl.files import fsync_directory, make_private_dir, write_private
from etl.kiwoom.pages import Page, parse_json_object
from etl.store.capture import Capture
from etl.store.identity import DatabaseIdentity
from etl.store.models import Reason

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one flush at a time is then the user's to keep
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

FORMAT = 1


def to_json(capture: Capture, target: DatabaseIdentity) -> str:
    """A capture as a spool file's text, for the database `target` (format 1; `reason`, `detail` and `target` were
    added later and may be absent)."""
    return json.dumps(
        {
            "format": FORMAT,
            "target": target.as_dict(),
            "spool_id": capture.spool_id,
            "account_no": capture.account_no,
            "exchange": capture.exchange,
            "trigger": capture.trigger,
            "captured_at": capture.captured_at.isoformat(),
            "scheduled_for": capture.scheduled_for.isoformat() if capture.scheduled_for else None,
            "run_id": capture.run_id,
            "error": capture.error,
            "reason": capture.reason,
            "detail": capture.detail,
            "pages": [
                {
                    "api_id": p.api_id,
                    "page_no": p.page_no,
                    "received_at": p.received_at.isoformat(),
                    "http_status": p.http_status,
                    "cont_yn": p.cont_yn,
                    "next_key": p.next_key,
                    "text": p.text,
                }
                for p in capture.pages
            ],
        },
        ensure_ascii=False,
    )


@dataclass(frozen=True)
class Spooled:
    """What a spool file holds: the capture, and the database it was meant for (None in a file from before targets)."""

    capture: Capture
    target: DatabaseIdentity | None


def from_json(text: str) -> Spooled:
    """What a spool file holds. Raises ValueError, KeyError or TypeError for one that is not."""
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError(f"not a JSON object but a {type(raw).__name__}")
    if raw.get("format") != FORMAT:
        raise ValueError(f"unknown spool format {raw.get('format')!r}")
    pages = tuple(
        Page(
            api_id=p["api_id"],
            page_no=p["page_no"],
            received_at=_time(p["received_at"], "received_at"),
            http_status=p["http_status"],
            text=p["text"],
            data=parse_json_object(p["text"]),
            cont_yn=p["cont_yn"],
            next_key=p["next_key"],
        )
        for p in raw["pages"]
    )
    reason = raw.get("reason")
    target = raw.get("target")
    run_id = raw["run_id"]
    # A run id is a row's key: a bool, a text or a number no database column holds is a file someone edited.
    if run_id is not None and (type(run_id) is not int or not 0 < run_id < 2**63):
        raise ValueError(f"run_id is not a run's id: {str(run_id)[:40]!r}")
    capture = Capture(
        account_no=_text(raw, "account_no"),
        exchange=_text(raw, "exchange"),
        trigger=_text(raw, "trigger"),
        captured_at=_time(raw["captured_at"], "captured_at"),
        scheduled_for=_time(raw["scheduled_for"], "scheduled_for") if raw["scheduled_for"] else None,
        run_id=run_id,
        error=raw["error"],
        # Files from before reasons existed hold only fetch failures, which were the API's or a bug's.
        reason=Reason(reason) if reason else (Reason.API_ERROR if raw["error"] else None),
        detail=raw.get("detail"),
        pages=pages,
        spool_id=_text(raw, "spool_id"),
    )
    return Spooled(capture, DatabaseIdentity.from_dict(target) if target is not None else None)


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is a {type(value).__name__}, not a text")
    return value


def _time(value: Any, key: str) -> datetime:
    """A time the spool wrote: ISO 8601 with its offset (one without would be a guess, and no load takes it)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{key} {value!r} has no UTC offset")
    return moment


@dataclass(frozen=True)
class SpoolSummary:
    count: int
    size: int
    oldest: datetime | None


class Spool:
    """The spool directory."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "spool"

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r})"

    def write(self, item: Capture, target: DatabaseIdentity) -> Path:
        """Store `item`, meant for the database `target`, durably (etl.files.write_private): whole or not at all.
        Raises SpoolError."""
        if item.spool_id is None:
            item = replace(item, spool_id=uuid.uuid4().hex)
        assert item.spool_id is not None
        stamp = item.captured_at.strftime("%Y%m%dT%H%M%S%f")
        safe_account = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in item.account_no)
        path = self.directory / f"{stamp}-{safe_account}-{item.exchange}-{item.spool_id[:12]}.json"
        try:
            write_private(path, to_json(item, target).encode("utf-8"))
        except OSError as exc:
            raise SpoolError(f"cannot spool to {self.directory}: {exc.strerror}") from None
        return path

    def paths(self) -> list[Path]:
        """The spooled files, oldest capture first (and temporary files left by a crash an hour ago, removed)."""
        if not self.directory.is_dir():
            return []
        for torn in self.directory.glob("*.json.*.tmp"):  # write_private's names only: never another file
            with contextlib.suppress(OSError):
                if time.time() - torn.stat().st_mtime > 3600:
                    torn.unlink()
        return sorted(self.directory.glob("*.json"))

    def entry(self, path: Path) -> Spooled:
        """One spooled snapshot and its target. Raises SpoolError for a file that is not one."""
        try:
            return from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise SpoolError(f"spool file {path} cannot be read: {exc}") from None

    def read(self, path: Path) -> Capture:
        """One spooled snapshot. Raises SpoolError for a file that is not one."""
        return self.entry(path).capture

    def items(self) -> Iterator[tuple[Path, Capture]]:
        for path in self.paths():
            yield path, self.read(path)

    def run_ids(self) -> set[int]:
        """The runs whose snapshots the spool holds (a file that cannot be read names none)."""
        ids = set()
        for path in self.paths():
            with contextlib.suppress(SpoolError):
                run_id = self.read(path).run_id
                if run_id is not None:
                    ids.add(run_id)
        return ids

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[bool]:
        """Hold the spool's lock if no other process does: yields whether it was had."""
        if fcntl is None or not self.directory.is_dir():
            yield True
            return
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def set_aside(self, path: Path) -> Path:
        """Move a file that must not be loaded, and must not be lost, to `conflicts/` for a person to look at."""
        aside = self.directory / "conflicts"
        make_private_dir(aside)
        target = aside / path.name
        os.replace(path, target)
        fsync_directory(self.directory)
        return target

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        fsync_directory(self.directory)

    def summary(self) -> SpoolSummary:
        paths = self.paths()
        size = sum(p.stat().st_size for p in paths)
        oldest = None
        if paths:
            try:
                oldest = self.read(paths[0]).captured_at
            except SpoolError:
                oldest = None
        return SpoolSummary(count=len(paths), size=size, oldest=oldest)
