"""Replay and import: rebuild the snapshot tables from raw pages with today's transform.

`replay` reads raw_responses (after a parser fix, or into a freshly migrated database) and rebuilds the runs'
snapshots, many runs per transaction; a snapshot that already reads the same is left as it is, so a second replay
changes nothing. `import` loads kt00005 pages kept elsewhere, once: the content is its identity. Pages come as files
(one answer a file, one snapshot) or as JSON Lines (one snapshot a line, many lines per transaction).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, update

from etl.apis.api import RowsApi
from etl.apis.snapshot import SNAPSHOT
from etl.clock import KST, parse_moment, utc_now
from etl.errors import DatabaseUnavailable, EtlError, StorageError, TransformError
from etl.jobs.flush import flush_item
from etl.kiwoom.pages import Page, parse_json_object
from etl.store.capture import Capture
from etl.store.engine import storage_errors, transaction
from etl.store.load import load
from etl.store.models import EtlRun, RawResponse, Reason, RunStatus
from etl.store.runs import Run, insert_unless_taken, record_unrun

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # snapshots per transaction, for import and replay: a commit costs about as much as 100 rows
EXCHANGES = ("KRX", "NXT")


@dataclass
class ReplayReport:
    """What a replay did, run by run."""

    rebuilt: int = 0
    unchanged: int = 0
    refused: int = 0
    incomplete: int = 0

    def __str__(self) -> str:
        return (
            f"{self.rebuilt} rebuilt, {self.unchanged} unchanged, {self.refused} refused by today's transform, "
            f"{self.incomplete} incomplete (a page missing or broken)"
        )


def runs_to_replay(engine: Engine, *, since: date | None = None, account: str | None = None) -> list[int]:
    """The runs whose kt00005 pages are kept, oldest first, optionally from a Seoul date on and for one account."""
    query = (
        select(RawResponse.run_id).where(RawResponse.api_id == SNAPSHOT.api_id).distinct().order_by(RawResponse.run_id)
    )
    if since is not None:
        query = query.where(RawResponse.received_at >= datetime.combine(since, time(0), tzinfo=KST))
    if account is not None:
        query = query.where(RawResponse.account_no == account)
    with storage_errors(engine, "finding runs to replay"), engine.connect() as connection:
        return [int(run_id) for run_id in connection.execute(query).scalars()]


def replay(
    engine: Engine,
    run_ids: Sequence[int],
    *,
    clock: Callable[[], datetime] = utc_now,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ReplayReport:
    """Rebuild the snapshot of each run from its raw pages, `batch_size` runs a transaction; record the replay
    itself as a run. A batch the database rejects is replayed again run by run."""
    report = ReplayReport()
    started = clock()
    for first in range(0, len(run_ids), batch_size):
        batch = run_ids[first : first + batch_size]
        for outcome in _replay_batch(engine, batch, clock):
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None:
            progress(len(batch))
    finished = clock()
    summary = {
        "trigger": "replay",
        "status": RunStatus.SUCCESS,
        "started_at": started,
        "finished_at": finished,
        "duration_ms": int((finished - started).total_seconds() * 1000),
        "reason": Reason.REPLAYED,
        "detail": str(report),
    }
    record_unrun(engine, [summary])
    return report


def _replay_batch(engine: Engine, run_ids: Sequence[int], clock: Callable[[], datetime]) -> list[str]:
    """Each run's outcome, the batch in one transaction; run by run when the database rejects the batch."""
    doing = f"replaying run {run_ids[0]}" if len(run_ids) == 1 else f"replaying runs {run_ids[0]}-{run_ids[-1]}"
    try:
        with transaction(engine, doing) as connection:
            return _replay_runs(connection, run_ids, clock)
    except DatabaseUnavailable:
        raise
    except StorageError as exc:
        if len(run_ids) == 1:
            raise
        log.warning("%s: the database rejected the batch (%s); replaying it run by run", doing, exc)
        return [outcome for run_id in run_ids for outcome in _replay_batch(engine, [run_id], clock)]


def _replay_runs(connection: Connection, run_ids: Sequence[int], clock: Callable[[], datetime]) -> list[str]:
    pages: dict[int, list[Row[Any]]] = {run_id: [] for run_id in run_ids}
    for row in connection.execute(
        select(RawResponse.__table__)
        .where(RawResponse.run_id.in_(run_ids), RawResponse.api_id == SNAPSHOT.api_id)
        .order_by(RawResponse.run_id, RawResponse.page_no, RawResponse.id)
    ):
        pages[row.run_id].append(row)
    runs = {run.id: run for run in connection.execute(select(EtlRun.__table__).where(EtlRun.id.in_(run_ids)))}
    outcomes: dict[int, str] = {}
    items: list[tuple[Run, Capture]] = []
    replayed_at = clock()
    for run_id in run_ids:
        rows, run = pages[run_id], runs[run_id]
        if not rows or any(r.payload is None for r in rows) or rows[-1].cont_yn == "Y":
            outcomes[run_id] = "incomplete"
            continue
        was = f"; it had failed: {run.error}" if run.status != RunStatus.SUCCESS else ""
        capture = Capture(
            account_no=str(rows[0].account_no),
            exchange=str(rows[0].exchange),
            trigger=run.trigger,
            captured_at=rows[0].received_at,
            pages=tuple(stored_page(row) for row in rows),
            scheduled_for=run.scheduled_for,
            run_id=run_id,
            reason=Reason.REPLAYED,
            detail=f"replayed {replayed_at:%Y-%m-%d %H:%M}Z{was}",
        )
        items.append((Run(run_id, run.started_at), capture))
    for loaded in load(connection, items, finished_at=clock(), replace_snapshot=True):
        if loaded.written:
            outcomes[loaded.run_id] = "rebuilt"
        elif loaded.error is not None:
            log.warning(
                "run %d: today's transform refuses its pages (%s); its tables are left as they are",
                loaded.run_id,
                loaded.error,
            )
            outcomes[loaded.run_id] = "refused"
        else:
            outcomes[loaded.run_id] = "unchanged"
    return [outcomes[run_id] for run_id in run_ids]


def kept_pages(api_id: str, *, since: date | None = None, account: str | None = None) -> Any:
    """The SELECT of the raw pages of `api_id` received from 00:00 KST of `since` on, of `account` (None: all)."""
    query = select(RawResponse.__table__).where(RawResponse.api_id == api_id)
    if since is not None:
        query = query.where(RawResponse.received_at >= datetime.combine(since, time(0), tzinfo=KST))
    if account is not None:
        query = query.where(RawResponse.account_no == account)
    return query


def replay_rows(
    engine: Engine,
    api: RowsApi,
    *,
    since: date | None = None,
    account: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> tuple[int, int]:
    """Store the kept pages of `api` again with today's transform, oldest first (its load decides whether a later
    answer stands); a run refused for a page, whose pages all read now, becomes a success (reason replayed). A
    market API's page is read as what its request asked (raw_responses.asked).
    Returns (pages read, pages refused)."""
    query = kept_pages(api.api_id, since=since, account=account)
    now = clock()
    read, refused, healed, failed = 0, 0, set(), set()
    with transaction(engine, f"replaying the {api.what}") as connection:
        for row in connection.execute(query.order_by(RawResponse.id)).all():
            read += 1
            try:
                whose = row.account_no if api.per_account else row.asked
                page = stored_page(row)
                rows = api.read(page, str(whose), 0).rows
                api.hold_to_asked(rows, row.asked, page, 0)  # as the job held it
            except TransformError as exc:
                log.warning("run %d: today's transform refuses a %s page (%s)", row.run_id, api.api_id, exc)
                refused += 1
                failed.add(row.run_id)
                continue
            api.load(connection, rows, row.run_id)
            healed.add(row.run_id)
        heal_runs(connection, healed - failed, now)
    return read, refused


def heal_runs(connection: Connection, run_ids: set[int], now: datetime) -> None:
    """The runs of `run_ids` that failed because a page was refused, and whose pages all read now: successes."""
    if run_ids:
        connection.execute(
            update(EtlRun)
            .where(EtlRun.id.in_(run_ids), EtlRun.reason == Reason.PAYLOAD_REFUSED)
            .values(status=RunStatus.SUCCESS, reason=Reason.REPLAYED, detail=f"replayed {now:%Y-%m-%d %H:%M}Z")
        )


def stored_page(row: Row[Any]) -> Page:
    """A stored raw page as the Page it was received as."""
    return Page(
        api_id=row.api_id,
        page_no=row.page_no,
        received_at=row.received_at,
        http_status=row.http_status,
        text=row.payload or "",
        data=parse_json_object(row.payload or ""),
        cont_yn=row.cont_yn,
        next_key=row.next_key,
    )


def import_pages(
    engine: Engine,
    files: Sequence[Path],
    *,
    account_no: str,
    exchange: str,
    captured_at: datetime,
    scheduled_for: datetime | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> str:
    """Load kt00005 pages kept elsewhere (one JSON answer a file, in order) as one snapshot, once."""
    texts = []
    for path in files:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise EtlError(f"{path}: cannot be read: {exc}") from None
    bodies = [parse_json_object(text) for text in texts]
    broken = [str(path) for path, body in zip(files, bodies, strict=True) if body is None]
    error = f"not a JSON object: {', '.join(broken)}" if broken else None
    item = _imported(account_no, exchange, captured_at, texts, bodies, error=error, scheduled_for=scheduled_for)
    return flush_item(engine, item, clock)


def _imported(
    account_no: str,
    exchange: str,
    captured_at: datetime,
    texts: Sequence[str],
    bodies: Sequence[Mapping[str, Any] | None],
    *,
    error: str | None,
    scheduled_for: datetime | None = None,
    detail: str | None = None,
) -> Capture:
    """The snapshot kt00005 answers kept elsewhere make (their `texts` and parsed `bodies`, in chain order), refused
    with `error` when one is not a JSON object; its content is its identity, so that it is imported once."""
    identity = hashlib.sha256("\n".join([account_no, exchange, captured_at.isoformat(), *texts]).encode()).hexdigest()
    pages = tuple(
        Page(
            api_id=SNAPSHOT.api_id,
            page_no=n,
            received_at=captured_at,
            http_status=200,
            text=text,
            data=body,
            cont_yn="Y" if n < len(texts) - 1 else "N",
            next_key=None,
        )
        for n, (text, body) in enumerate(zip(texts, bodies, strict=True))
    )
    return Capture(
        account_no=account_no,
        exchange=exchange,
        trigger="import",
        captured_at=captured_at,
        pages=pages,
        scheduled_for=scheduled_for,
        error=error,
        reason=Reason.PAYLOAD_REFUSED if error else None,
        detail=detail,
        spool_id=f"import:{identity[:40]}",
    )


@dataclass
class ImportReport:
    """What an import of JSON Lines did: how many lines loaded, and each refused line with why."""

    lines: int = 0
    loaded: int = 0
    already: int = 0
    refused: list[str] = field(default_factory=list)  # "line N: why", in file order

    def __str__(self) -> str:
        return f"{self.lines} line(s): {self.loaded} loaded, {self.already} already loaded, {len(self.refused)} refused"


@dataclass(frozen=True)
class _Line:
    """One line of a JSON Lines file: its snapshot, or why it cannot be one (then `capture` is None)."""

    number: int
    identity: str
    capture: Capture | None
    refusal: str | None = None  # why, without the line number (etl_runs.detail names the line)
    detail: str | None = None
    account_no: str | None = None
    exchange: str | None = None


def count_lines(path: Path) -> int:
    """How many lines `path` holds (the progress bar's length)."""
    try:
        with path.open("rb") as stream:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    except OSError as exc:
        raise EtlError(f"{path}: cannot be read: {exc}") from None


def import_lines(
    engine: Engine,
    path: Path,
    *,
    clock: Callable[[], datetime] = utc_now,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Load a JSON Lines file, one snapshot a line, `batch_size` lines a transaction, each line its own run, once.

    A line is `{"account_no": …, "exchange": "KRX", "captured_at": ISO 8601, "pages": [kt00005 answer, …]}`. A
    line that is not that, or whose pages the transform refuses, is recorded as a failed run (with its pages when
    they could be read) and named in the report; the other lines load. A batch the database rejects is loaded
    again line by line. Blank lines are skipped.
    """
    report = ImportReport()
    batch: list[_Line] = []
    read = 0
    for number, raw in _numbered_lines(path):
        read += 1
        if raw.strip():
            batch.append(_read_line(raw, number, path.name))
        if len(batch) >= batch_size:
            _import_batch(engine, batch, report, clock)
            batch = []
            if progress is not None:
                progress(read)
            read = 0
    if batch:
        _import_batch(engine, batch, report, clock)
    if progress is not None and read:
        progress(read)
    return report


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, 1):
                # Editors on Windows start a UTF-8 file with a byte order mark: it is no part of the first line.
                yield number, raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
    except OSError as exc:
        raise EtlError(f"{path}: cannot be read: {exc}") from None


def _read_line(raw: bytes, number: int, source: str) -> _Line:
    """A line as the snapshot it holds, or as the refusal naming its field."""
    fallback = "import:" + hashlib.sha256(raw.rstrip(b"\r\n")).hexdigest()[:40]
    where = f"{source} line {number}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        return _Line(number, fallback, None, why, where)
    envelope = parse_json_object(text)
    if envelope is None:
        return _Line(number, fallback, None, "not a JSON object", where)
    account_no, exchange = envelope.get("account_no"), envelope.get("exchange")
    known = {
        "account_no": account_no if isinstance(account_no, str) and account_no else None,
        "exchange": exchange if exchange in EXCHANGES else None,
    }
    try:
        captured_at, pages = _envelope(envelope, source)
    except EtlError as exc:
        return _Line(number, fallback, None, str(exc), where, **known)
    account_no, exchange = str(account_no), str(exchange)
    texts = [_page_text(page) for page in pages]
    bodies = [page if isinstance(page, dict) else None for page in pages]
    broken = [f"pages[{n}]" for n, body in enumerate(bodies) if body is None]
    error = f"{', '.join(broken)}: not a JSON object" if broken else None
    capture = _imported(account_no, exchange, captured_at, texts, bodies, error=error, detail=where)
    return _Line(number, capture.spool_id or "", capture)


def _envelope(envelope: Mapping[str, Any], source: str) -> tuple[datetime, list[Any]]:
    """The capture time and pages of a line; EtlError naming the field that is missing or wrong."""
    for key in ("account_no", "exchange", "captured_at", "pages"):
        if key not in envelope:
            raise EtlError(f"{key}: missing")
    if not isinstance(envelope["account_no"], str) or not envelope["account_no"]:
        raise EtlError(f"account_no: expected a non-empty string, got {envelope['account_no']!r}")
    if envelope["exchange"] not in EXCHANGES:
        raise EtlError(f"exchange: expected KRX or NXT, got {envelope['exchange']!r}")
    if not isinstance(envelope["captured_at"], str):
        raise EtlError(f"captured_at: expected an ISO 8601 string, got {envelope['captured_at']!r}")
    captured_at = parse_moment(envelope["captured_at"], "captured_at")
    pages = envelope["pages"]
    if not isinstance(pages, list) or not pages:
        raise EtlError(f"pages: expected a non-empty list of kt00005 answers, got {_short(pages)}")
    return captured_at, pages


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _page_text(page: Any) -> str:
    """A page as JSON text, numbers exactly as they were written (json gives them as int and Decimal)."""
    try:
        return json.dumps(page, ensure_ascii=False)
    except TypeError:  # a Decimal: written out by hand, digit for digit
        return _exact_json(page)


def _exact_json(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_exact_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_exact_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _import_batch(engine: Engine, batch: list[_Line], report: ImportReport, clock: Callable[[], datetime]) -> None:
    """Load a batch in one transaction and count it once committed; line by line when the database rejects it."""
    doing = f"importing line {batch[0].number}" + (f"-{batch[-1].number}" if len(batch) > 1 else "")
    try:
        with transaction(engine, doing) as connection:
            outcomes = _write_lines(connection, batch, clock)
    except DatabaseUnavailable:
        raise
    except StorageError as exc:
        if len(batch) > 1:
            log.warning("%s: the database rejected the batch (%s); importing it line by line", doing, exc)
            for line in batch:
                _import_batch(engine, [line], report, clock)
            return
        outcomes = _record_rejected(engine, batch[0], exc, clock)
    for outcome, refusal in outcomes:  # each line counted once: loaded + already + refused = lines
        report.lines += 1
        report.loaded += outcome == "loaded"
        report.already += outcome == "already"
        if refusal is not None:  # set for a refused line only
            report.refused.append(refusal)


def _write_lines(
    connection: Connection, batch: list[_Line], clock: Callable[[], datetime]
) -> list[tuple[str, str | None]]:
    """Each line's outcome ("loaded", "already", "refused") and refusal, written in the caller's transaction."""
    done = {
        row.spool_id: row
        for row in connection.execute(
            select(EtlRun.spool_id, EtlRun.status, EtlRun.error).where(
                EtlRun.spool_id.in_([line.identity for line in batch])
            )
        )
    }
    outcomes: dict[int, tuple[str, str | None]] = {}
    items: list[tuple[Run, Capture]] = []
    numbers: dict[int, int] = {}
    now = clock()
    for line in batch:
        before = done.get(line.identity)
        if before is not None and before.status == RunStatus.SUCCESS:
            outcomes[line.number] = ("already", None)
        elif before is not None:  # imported before: refused then, refused now (counted once, as refused)
            outcomes[line.number] = ("refused", f"line {line.number}: {before.error}")
        elif line.capture is None:
            connection.execute(
                insert_unless_taken(connection),
                {
                    "trigger": "import",
                    "status": RunStatus.FAILED,
                    "account_no": line.account_no,
                    "exchange": line.exchange,
                    "started_at": now,
                    "finished_at": now,
                    "duration_ms": 0,
                    "error": line.refusal,
                    "reason": Reason.PAYLOAD_REFUSED,
                    "detail": line.detail,
                    "spool_id": line.identity,
                },
            )
            outcomes[line.number] = ("refused", f"line {line.number}: {line.refusal}")
        else:
            run = _begin(connection, line.capture, now)
            if run is not None:
                items.append((run, line.capture))
                numbers[run.id] = line.number
            else:  # the same snapshot twice in this batch
                outcomes[line.number] = ("already", None)
    for loaded in load(connection, items, finished_at=clock()):
        number = numbers[loaded.run_id]
        if loaded.status == RunStatus.SUCCESS:
            outcomes[number] = ("loaded", None)
        else:
            outcomes[number] = ("refused", f"line {number}: {loaded.error}")
    return [outcomes[line.number] for line in batch]


def _begin(connection: Connection, capture: Capture, now: datetime) -> Run | None:
    """The run of an imported line, begun now (not when it was captured, which may be years ago); None when the
    same content already has one."""
    run_id = connection.execute(
        insert_unless_taken(connection).returning(EtlRun.id),
        {
            "trigger": capture.trigger,
            "status": RunStatus.RUNNING,
            "account_no": capture.account_no,
            "exchange": capture.exchange,
            "started_at": now,
            "spool_id": capture.spool_id,
        },
    ).scalar()
    return None if run_id is None else Run(int(run_id), now)


def _record_rejected(
    engine: Engine, line: _Line, exc: StorageError, clock: Callable[[], datetime]
) -> list[tuple[str, str | None]]:
    """A line the database rejects on its own: a failed run (database_error) without its pages, which it refused."""
    if line.capture is None:
        raise exc
    capture = line.capture.failed(f"the database rejected it: {exc}", Reason.DATABASE_ERROR, keep_pages=False)
    with transaction(engine, f"recording line {line.number} as refused") as connection:
        run = _begin(connection, capture, clock())
        if run is not None:
            load(connection, [(run, capture)], finished_at=clock())
    return [("refused", f"line {line.number}: {capture.error}")]
