"""Bytes on disk per snapshot, raw pages included, on SQLite and on PostgreSQL (pglz and lz4 TOAST compression).

    .venv/bin/python benchmarks/bench_disk.py [--snapshots N] [--positions P] [--postgres URL] [--json]

Each snapshot is a kt00005 answer of P positions served by the project's simulator (prices move between answers,
as they do), loaded through the production import path (`etl.jobs.replay.import_pages`: a run, the raw page, the
summary, the positions, one commit). What is measured is what a database holds afterwards, less what the freshly
migrated database held before, divided by N:

- SQLite: the database file plus its WAL after `PRAGMA wal_checkpoint(TRUNCATE)` (SQLite compresses nothing);
- PostgreSQL: `pg_total_relation_size` of each table (heap, TOAST and indexes), after `VACUUM`, once with
  `raw_responses.payload`/`body_text` compressed by pglz and once by lz4 (when the server is built with lz4;
  otherwise the lz4 line says so and is left out). The floor beside them is the raw pages' own text size.

Works in a scratch directory and, on PostgreSQL, in a schema of its own that it drops. Sizes do not depend on the
machine's load; the seconds printed beside them do (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from etl.jobs.replay import import_pages
from etl.sim.accounts import make_account
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.schema import migrate

TABLES = ("etl_runs", "raw_responses", "account_snapshots", "position_snapshots")
FIRST = datetime(2026, 11, 16, 0, 0, tzinfo=UTC)  # 09:00 KST, a Monday


@dataclass
class Result:
    """One backend's bytes per snapshot, table by table."""

    backend: str
    compression: str
    snapshots: int
    positions: int
    bytes_per_snapshot: int
    tables: dict[str, int] = field(default_factory=dict)  # bytes per snapshot per table, its indexes included
    raw_text_per_snapshot: int = 0  # the pages' own UTF-8 size: the floor no store goes under uncompressed
    seconds: float = 0.0


def answers(snapshots: int, positions: int) -> Iterator[list[str]]:
    """Each snapshot's kt00005 pages, as the simulator serves them (one page of every line)."""
    simulator = Simulator(accounts=[make_account(1, positions)], page_size=positions, rate_per_second=1e9, burst=10**9)
    account = simulator.accounts[0]
    _, _, issued = simulator.handle(
        "/oauth2/token",
        {"api-id": "au10001"},
        {"grant_type": "client_credentials", "appkey": account.appkey, "secretkey": account.secretkey},
    )
    token = json.loads(issued or "{}")["token"]
    headers = {"api-id": "kt00005", "authorization": f"Bearer {token}"}
    for _ in range(snapshots):
        pages: list[str] = []
        more: dict[str, str] = {}
        while True:
            status, answer_headers, body = simulator.handle("/api/dostk/acnt", headers | more, {"dmst_stex_tp": "KRX"})
            assert status == 200 and body is not None, body
            pages.append(body)
            if answer_headers.get("cont-yn") != "Y":
                break
            more = {"cont-yn": "Y", "next-key": answer_headers["next-key"]}
        yield pages


def load_history(engine: Engine, scratch: Path, snapshots: int, positions: int) -> tuple[int, float]:
    """Import `snapshots` answers, each its own run, 30 minutes apart; return the pages' text size and the seconds."""
    raw = 0
    started = time.perf_counter()
    for n, pages in enumerate(answers(snapshots, positions)):
        files = []
        for p, page in enumerate(pages):
            path = scratch / f"page{p}.json"
            path.write_text(page, encoding="utf-8")
            files.append(path)
            raw += len(page.encode())
        at = FIRST + timedelta(minutes=30 * n)
        import_pages(engine, files, account_no="5000001111", exchange="KRX", captured_at=at, scheduled_for=at)
    return raw, time.perf_counter() - started


def sqlite_bytes(path: Path, engine: Engine) -> int:
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def sqlite_tables(engine: Engine) -> dict[str, int]:
    """Each table's pages with its indexes' (SQLite's dbstat), in bytes."""
    query = (
        "SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat AS s JOIN sqlite_master AS m ON m.name = s.name "
        f"WHERE m.tbl_name IN ({', '.join(repr(t) for t in TABLES)}) GROUP BY m.tbl_name"
    )
    with engine.connect() as connection:
        sizes = {str(name): int(size) for name, size in connection.exec_driver_sql(query)}
    return {table: sizes.get(table, 0) for table in TABLES}


def bench_sqlite(snapshots: int, positions: int) -> Result:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "disk.db"
        engine = make_engine(f"sqlite:///{path}")
        try:
            migrate(engine)
            before, tables_before = sqlite_bytes(path, engine), sqlite_tables(engine)
            raw, seconds = load_history(engine, Path(scratch), snapshots, positions)
            after, tables_after = sqlite_bytes(path, engine), sqlite_tables(engine)
        finally:
            engine.dispose()
    per = round((after - before) / snapshots)
    tables = {table: round((tables_after[table] - tables_before[table]) / snapshots) for table in TABLES}
    return Result("sqlite", "none", snapshots, positions, per, tables, round(raw / snapshots), seconds)


@contextmanager
def scratch_schema(url: str) -> Iterator[Engine]:
    """An engine whose search_path is a new schema, dropped afterwards."""
    schema = f"bench_disk_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(
        make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def lz4_available(engine: Engine) -> bool:
    """Whether the server was built with lz4 (default_toast_compression then accepts it)."""
    with engine.connect() as connection:
        values = connection.execute(
            text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        ).scalar_one()
    return "lz4" in values


def table_bytes(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in TABLES:
            connection.execute(text(f"VACUUM {table}"))
        return {
            table: int(connection.execute(text("SELECT pg_total_relation_size(:t)"), {"t": table}).scalar_one())
            for table in TABLES
        }


def bench_postgres(url: str, compression: str, snapshots: int, positions: int) -> Result:
    with scratch_schema(url) as engine, tempfile.TemporaryDirectory() as scratch:
        migrate(engine)
        with engine.begin() as connection:
            for column in ("payload", "body_text"):
                alter = f"ALTER TABLE raw_responses ALTER COLUMN {column} SET COMPRESSION {compression}"
                connection.execute(text(alter))
        before = table_bytes(engine)
        raw, seconds = load_history(engine, Path(scratch), snapshots, positions)
        after = table_bytes(engine)
    tables = {table: round((after[table] - before[table]) / snapshots) for table in TABLES}
    per = round((sum(after.values()) - sum(before.values())) / snapshots)
    return Result("postgresql", compression, snapshots, positions, per, tables, round(raw / snapshots), seconds)


@dataclass
class Toast:
    """What one TOAST compression method costs the server per kt00005 page: time to store it, and its size."""

    compression: str
    pages: int
    store_ms_per_page: float  # median of 3: INSERT of every page into a table of one jsonb column
    bytes_per_page: int


def toast_cost(url: str, compression: str, pages: list[str]) -> Toast:
    """The same pages stored into a temporary jsonb column compressed by `compression`, 3 times."""
    times, size = [], 0
    with scratch_schema(url) as engine, engine.connect() as connection:
        for _ in range(3):
            connection.execute(text("DROP TABLE IF EXISTS pg_temp.toast_probe"))
            connection.execute(text(f"CREATE TEMP TABLE toast_probe (payload jsonb COMPRESSION {compression})"))
            started = time.perf_counter()
            connection.execute(
                text("INSERT INTO toast_probe VALUES (CAST(:page AS jsonb))"), [{"page": p} for p in pages]
            )
            connection.commit()
            times.append(time.perf_counter() - started)
            size = int(connection.execute(text("SELECT pg_total_relation_size('pg_temp.toast_probe')")).scalar_one())
    return Toast(compression, len(pages), round(statistics.median(times) / len(pages) * 1000, 3), size // len(pages))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--positions", type=int, default=250)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database to measure in a scratch schema")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = [bench_sqlite(args.snapshots, args.positions)]
    notes, toasts = [], []
    if args.postgres:
        with scratch_schema(args.postgres) as probe:
            lz4 = lz4_available(probe)
        methods = ["pglz", "lz4"] if lz4 else ["pglz"]
        if not lz4:
            notes.append("this PostgreSQL is built without lz4: only pglz was measured")
        results += [bench_postgres(args.postgres, method, args.snapshots, args.positions) for method in methods]
        pages = [page for answer in answers(min(args.snapshots, 200), args.positions) for page in answer]
        toasts = [toast_cost(args.postgres, method, pages) for method in methods]
    if args.json:
        document = {"results": [asdict(r) for r in results], "toast": [asdict(t) for t in toasts], "notes": notes}
        json.dump(document, sys.stdout, indent=2)
        print()
        return
    print(f"{args.snapshots} snapshots of {args.positions} positions, raw pages included; bytes per snapshot:")
    for r in results:
        detail = ", ".join(f"{t} {b:,}" for t, b in r.tables.items())
        print(
            f"  {r.backend:10} {r.compression:5} {r.bytes_per_snapshot:>9,}  "
            f"({r.bytes_per_snapshot / r.raw_text_per_snapshot:.2f}× the pages' {r.raw_text_per_snapshot:,} bytes"
            f" of text; loaded in {r.seconds:.1f} s){'  ' + detail if detail else ''}"
        )
    for t in toasts:
        print(
            f"  {t.compression:5} TOAST: {t.store_ms_per_page:.2f} ms to store a page, "
            f"{t.bytes_per_page:,} bytes a page"
        )
    for note in notes:
        print(f"  note: {note}")


if __name__ == "__main__":
    main()
