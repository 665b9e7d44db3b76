"""`kiwoom-etl doctor`: the database, the spool and the state directory examined, and what is wrong with them said in
one screen. Reads only: nothing is repaired, moved or written (the database least of all)."""

from __future__ import annotations

import os
import shlex
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from etl.clock import local_text
from etl.errors import SpoolError
from etl.files import SQLITE_FILES
from etl.jobs.spool import Spool
from etl.store.engine import masked_url
from etl.store.health import examine
from etl.store.identity import DatabaseIdentity
from etl.store.schema import sqlite_file

SHOWN = 5  # files named at most for each kind of problem: one screen
# What kiwoom-etl keeps in the state directory (etl/kiwoom/tokens.py, etl/jobs/spool.py, etl/kiwoom/accounts.py): only
# these are judged, so that a state directory set to / or a home folder is not walked, nor told to `chmod -R`.
OWN = ("tokens", "spool", "accounts.json")


@dataclass
class Diagnosis:
    """What `doctor` says: lines to print, and the problems among them (none: healthy)."""

    lines: list[str] = field(default_factory=list)
    problems: int = 0

    def say(self, line: str) -> None:
        self.lines.append(f"  {line}")

    def wrong(self, line: str) -> None:
        self.lines.append(f"  PROBLEM: {line}")
        self.problems += 1


def diagnose(engine: Engine, state_dir: Path, zone: str) -> Diagnosis:
    """Examine the database of `engine`, the spool and the state directory `state_dir`; times shown in `zone`."""
    diagnosis = Diagnosis()
    examination = examine(engine)
    diagnosis.lines.append(f"Database: {examination.identity} ({masked_url(engine)})")
    for problem in examination.problems:
        diagnosis.wrong(problem)
    if not examination.problems:
        checked = "its integrity" if engine.dialect.name == "sqlite" else "a round trip"
        diagnosis.say(f"ok: {checked}, the schema revision and a write lock checked")
    _spool(diagnosis, Spool(state_dir), examination.identity, zone)
    _state_dir(diagnosis, state_dir, sqlite_file(engine))
    diagnosis.lines.append("Healthy." if not diagnosis.problems else f"{diagnosis.problems} problem(s).")
    return diagnosis


def _spool(diagnosis: Diagnosis, spool: Spool, here: DatabaseIdentity, zone: str) -> None:
    """How many snapshots wait, for which database, and which files cannot be read."""
    diagnosis.lines.append(f"Spool: {spool.directory}")
    if spool.directory.exists() and not spool.directory.is_dir():
        diagnosis.wrong(f"{spool.directory} is not a folder: a snapshot the database cannot take would be lost")
        return
    paths = spool.paths()
    targets: Counter[str] = Counter()
    unnamed = unreadable = 0
    oldest = None
    for path in paths:
        try:
            entry = spool.entry(path)
        except SpoolError as exc:
            diagnosis.wrong(f"{exc} (it stays; move it away once you have read it)")
            unreadable += 1
            continue
        oldest = min(oldest or entry.capture.captured_at, entry.capture.captured_at)
        if entry.target is None:
            unnamed += 1
        elif not entry.target.matches(here):
            targets[str(entry.target)] += 1
    waiting = len(paths) - unreadable - sum(targets.values())
    if not paths:
        diagnosis.say("empty")
    elif waiting:
        since = f", the oldest captured {local_text(oldest, zone)}" if oldest else ""
        diagnosis.say(f"{waiting} snapshot(s) waiting for this database{since}: `kiwoom-etl flush` loads them")
    if unnamed:
        diagnosis.say(f"{unnamed} of them from an older kiwoom-etl, naming no database: flush loads them here")
    for target, count in sorted(targets.items()):
        diagnosis.wrong(
            f"{count} snapshot(s) spooled for {target}: flush with that database, or "
            "`kiwoom-etl flush --into-this-database`"
        )
    aside = list((spool.directory / "conflicts").glob("*.json"))
    if aside:
        diagnosis.say(f"{len(aside)} set aside in {spool.directory / 'conflicts'} (their slot was served): read them")


def _state_dir(diagnosis: Diagnosis, state_dir: Path, database: Path | None) -> None:
    """The state directory's owner, permissions and room: it holds tokens, account numbers and the spool (and may
    hold the SQLite `database`, as docs/deploy puts it)."""
    diagnosis.lines.append(f"State directory: {state_dir}")
    if not state_dir.exists():
        diagnosis.say("not created yet (the first snapshot creates it, 0700)")
        return
    if not state_dir.is_dir():
        diagnosis.wrong(f"{state_dir} is not a folder: a snapshot the database cannot take would be lost")
        return
    if not os.access(state_dir, os.W_OK | os.X_OK):
        diagnosis.wrong(f"{state_dir} cannot be written: a snapshot the database cannot take would be lost")
    wide: list[str] = []
    foreign: list[str] = []
    own = [state_dir / name for name in OWN if (state_dir / name).exists()]
    others = _others(state_dir, database)
    if others:
        diagnosis.wrong(
            f"{state_dir} holds more than kiwoom-etl's files ({', '.join(others[:SHOWN])}"
            f"{' ...' if len(others) > SHOWN else ''}): give it a folder of its own (state_dir, KIWOOM_ETL_STATE_DIR)"
        )
    judged = own if others else [state_dir, *own]  # a shared folder's own mode is not kiwoom-etl's to change
    for path in [*judged, *(inner for folder in own if folder.is_dir() for inner in _under(folder))]:
        try:
            # The folder itself is followed (a link to another disk is fine); a link's own mode means nothing.
            info = path.stat() if path == state_dir else path.lstat()
        except OSError:
            continue
        if info.st_uid != os.geteuid():
            foreign.append(str(path))
        if stat.S_IMODE(info.st_mode) & 0o077 and not stat.S_ISLNK(info.st_mode):
            wide.append(f"{path} ({stat.S_IMODE(info.st_mode):04o})")
    if wide:
        diagnosis.wrong(
            f"{len(wide)} path(s) others can read or write — it holds tokens and account data: "
            f"{_chmod(judged)}: " + ", ".join(wide[:SHOWN]) + (" ..." if len(wide) > SHOWN else "")
        )
    if foreign:
        diagnosis.wrong(
            f"{len(foreign)} path(s) owned by another user: "
            + ", ".join(foreign[:SHOWN])
            + (" ..." if len(foreign) > SHOWN else "")
        )
    room = os.statvfs(state_dir)
    if not wide and not foreign and not others:
        diagnosis.say(f"ok: 0700, owned by this user; {room.f_bavail * room.f_frsize / 2**20:,.0f} MiB free")


def _under(directory: Path) -> list[Path]:
    """Every path under `directory`, sorted; one that vanishes or cannot be listed meanwhile is passed over."""
    found = []
    for folder, dirs, names in os.walk(directory):  # rglob stops at the first folder it cannot list
        found += [Path(folder) / name for name in (*dirs, *names)]
    return sorted(found)


def _chmod(judged: list[Path]) -> str:
    """The command that makes the state directory and kiwoom-etl's files in it private, and nothing else."""
    folders = [shlex.quote(str(path)) for path in judged if path.name in OWN]
    command = " && ".join(f"chmod go-rwx {shlex.quote(str(path))}" for path in judged if path.name not in OWN)
    return " && ".join(part for part in (command, f"chmod -R go-rwx {' '.join(folders)}" if folders else "") if part)


def _others(state_dir: Path, database: Path | None) -> list[str]:
    """What the state directory holds besides kiwoom-etl's files (and their temporary names while written) and the
    database's."""
    ours = set(OWN)
    if database is not None and database.resolve().parent == state_dir.resolve():
        ours |= {database.name + suffix for suffix, _what in SQLITE_FILES}
    try:
        names = sorted(path.name for path in state_dir.iterdir())
    except OSError:
        return []
    return [name for name in names if name not in ours and not name.startswith(tuple(f"{own}." for own in OWN))]
