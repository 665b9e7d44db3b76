"""Bulk rows/s of `kiwoom-etl import FILE.jsonl` and of `replay`, against the raw driver's bulk rate, in one run.

    .venv/bin/python benchmarks/bench_bulk.py [--snapshots 1000] [--positions 250] [--repeat 3] [--postgres URL]
                                              [--json]

Writes a JSON Lines file of SNAPSHOTS snapshots, one kt00005 page of POSITIONS lines each, then, per backend and per
repeat, each side on a freshly migrated database (a scratch SQLite file; a schema of its own in PostgreSQL, from
--postgres or KIWOOM_ETL_TEST_POSTGRES_URL, dropped afterwards):

- ours: `import_lines` (what `kiwoom-etl import FILE.jsonl` calls, with its default batch), then, the snapshot tables
  emptied, `replay` of every run (what `kiwoom-etl replay` calls);
- the floor: the same file read by the raw driver (stdlib sqlite3; psycopg 3), the same work per snapshot — its
  run row, its raw page, its summary, its positions, parsed with plain int()/Decimal()/date() — in transactions of
  the same batch size, with the same schema, indexes, constraints and pragmas: one INSERT each for the run, the
  summary and the page, the positions by one `executemany` per snapshot (sqlite3), and on PostgreSQL the faster of
  one `COPY` per batch and one `executemany` per batch (both measured).

Rows are those each side writes: per snapshot its run, its pages, its summary and its positions (replay rewrites the
same number: the summary and positions anew, the run and its pages updated). Reports the median rows/s of the
repeats and ratio = ours ÷ floor (the median of the per-repeat ratios); the target is ≥ 0.8. Ratios, not times:
the machine is shared. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, text
from sqlalchemy.engine import make_url

from etl.jobs.replay import BATCH_SIZE, import_lines, replay, runs_to_replay
from etl.settings import normalize_database_url
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, PositionSnapshot
from etl.store.schema import migrate

TARGET = 0.8
START = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)
KST = timedelta(hours=9)
QUANTUM = Decimal("0.0001")

# The floor's own reading of kt00005 (docs/data-dictionary.md): field, column, kind.
ACCOUNT = [
    ("entr", "deposit"),
    ("entr_d1", "deposit_d1"),
    ("entr_d2", "deposit_d2"),
    ("pymn_alow_amt", "withdrawable_amount"),
    ("uncl_stk_amt", "unsettled_secured_amount"),
    ("repl_amt", "substitute_amount"),
    ("rght_repl_amt", "rights_substitute_amount"),
    ("ord_alowa", "orderable_cash"),
    ("ch_uncla", "cash_outstanding"),
    ("crd_int_npay_gold", "unpaid_credit_interest"),
    ("etc_loana", "other_loan_amount"),
    ("nrpy_loan", "unrepaid_loan_amount"),
    ("profa_ch", "margin_cash"),
    ("repl_profa", "margin_substitute"),
    ("stk_buy_tot_amt", "total_purchase_amount"),
    ("evlt_amt_tot", "total_evaluation_amount"),
    ("tot_pl_tot", "total_profit_loss"),
    ("tot_pl_rt", "total_profit_loss_rate"),
    ("tot_re_buy_alowa", "total_rebuy_available"),
    ("20ord_alow_amt", "orderable_amount_20pct"),
    ("30ord_alow_amt", "orderable_amount_30pct"),
    ("40ord_alow_amt", "orderable_amount_40pct"),
    ("50ord_alow_amt", "orderable_amount_50pct"),
    ("60ord_alow_amt", "orderable_amount_60pct"),
    ("100ord_alow_amt", "orderable_amount_100pct"),
    ("crd_loan_tot", "credit_loan_total"),
    ("crd_loan_ls_tot", "credit_loan_short_total"),
    ("crd_grnt_rt", "credit_collateral_ratio"),
    ("dpst_grnt_use_amt_amt", "deposit_collateral_loan_amount"),
    ("grnt_loan_amt", "sale_collateral_loan_amount"),
]
RATES = {"tot_pl_rt", "crd_grnt_rt"}
POSITION_COLUMNS = [
    "snapshot_id",
    "line_no",
    "account_no",
    "exchange",
    "captured_at",
    "trade_date",
    "credit_type",
    "loan_date",
    "expiry_date",
    "stock_code",
    "stock_name",
    "settlement_quantity",
    "quantity",
    "current_price",
    "purchase_price",
    "purchase_amount",
    "evaluation_amount",
    "profit_loss",
    "profit_loss_rate",
]
ACCOUNT_COLUMNS = [
    "run_id",
    "account_no",
    "exchange",
    "captured_at",
    "scheduled_for",
    "trade_date",
    *(c for _, c in ACCOUNT),
    "position_count",
]
RUN_COLUMNS = ["trigger", "status", "account_no", "exchange", "started_at", "finished_at", "page_count",
               "position_count", "duration_ms", "spool_id"]  # fmt: skip
PAGE_COLUMNS = ["run_id", "snapshot_id", "api_id", "account_no", "exchange", "page_no", "http_status", "cont_yn",
                "next_key", "received_at", "payload", "body_text"]  # fmt: skip


def write_file(path: Path, snapshots: int, positions: int) -> None:
    """SNAPSHOTS lines: 10 accounts × KRX/NXT, one page of POSITIONS lines each, values varying line by line."""
    with path.open("w", encoding="utf-8") as out:
        for s in range(snapshots):
            body: dict[str, Any] = {
                field: f"{(s * 7919 + i * 104729) % 10**9:012d}" for i, (field, _) in enumerate(ACCOUNT)
            }
            body["tot_pl_rt"], body["crd_grnt_rt"] = f"{(s % 200) - 100}.{s % 10000:04d}", "0.00"
            body["stk_cntr_remn"] = [
                {
                    "crd_tp": "00" if n % 5 else "33",
                    "loan_dt": "" if n % 5 else "20260105",
                    "expr_dt": "" if n % 5 else "20260705",
                    "stk_cd": f"A{(n * 37) % 1000000:06d}",
                    "stk_nm": f"종목{n}",
                    "setl_remn": f"{n + s:012d}",
                    "cur_qty": f"{n + s:012d}",
                    "cur_prc": f"{'-' if n % 3 == 0 else ''}{70000 + n:012d}",
                    "buy_uv": f"{60000 + s:012d}",
                    "pur_amt": f"{(60000 + s) * (n + s):012d}",
                    "evlt_amt": f"{(70000 + n) * (n + s):012d}",
                    "evltv_prft": f"-{n * 997:011d}",
                    "pl_rt": f"-{n % 100}.{(n * 31) % 10000:04d}",
                }
                for n in range(positions)
            ]
            body["return_code"], body["return_msg"] = 0, "조회가 완료되었습니다."
            line = {
                "account_no": f"50123456{(s // 2) % 10:02d}",
                "exchange": "KRX" if s % 2 == 0 else "NXT",
                "captured_at": (START + timedelta(minutes=s // 20 * 5)).isoformat().replace("+00:00", "Z"),
                "pages": [body],
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _amount(value: str) -> int | None:
    return int(value) if value.strip() else None


def _rate(value: str) -> Decimal | None:
    return Decimal(value).quantize(QUANTUM) if value.strip() else None


def _date(value: str) -> date | None:
    return None if value in ("", "00000000") else date(int(value[:4]), int(value[4:6]), int(value[6:]))


def parsed(raw: bytes) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[str], dict[str, Any]]:
    """The floor's reading of one line: summary columns, position rows (without snapshot_id), page texts, envelope."""
    line = json.loads(raw, parse_float=Decimal)
    captured = datetime.fromisoformat(line["captured_at"]).astimezone(UTC)
    trade_date = (captured + KST).date()
    pages = line["pages"]
    account_no, exchange = line["account_no"], line["exchange"]
    summary: dict[str, Any] = {
        "account_no": account_no,
        "exchange": exchange,
        "captured_at": captured,
        "scheduled_for": None,
        "trade_date": trade_date,
    }
    first = pages[0]
    for field, column in ACCOUNT:
        summary[column] = _rate(first[field]) if field in RATES else _amount(first[field])
    positions: list[tuple[Any, ...]] = []
    for page in pages:
        for p in page["stk_cntr_remn"]:
            code = p["stk_cd"]
            price = _amount(p["cur_prc"])
            positions.append(
                (
                    len(positions),
                    account_no,
                    exchange,
                    captured,
                    trade_date,
                    p["crd_tp"],
                    _date(p["loan_dt"]),
                    _date(p["expr_dt"]),
                    code[1:] if len(code) == 7 and code[0] == "A" else code,
                    p["stk_nm"],
                    _amount(p["setl_remn"]),
                    _amount(p["cur_qty"]),
                    None if price is None else abs(price),
                    _amount(p["buy_uv"]),
                    _amount(p["pur_amt"]),
                    _amount(p["evlt_amt"]),
                    _amount(p["evltv_prft"]),
                    _rate(p["pl_rt"]),
                )
            )
    summary["position_count"] = len(positions)
    return summary, positions, [json.dumps(page, ensure_ascii=False) for page in pages], line


def batches(path: Path, size: int) -> Iterator[list[bytes]]:
    with path.open("rb") as stream:
        batch: list[bytes] = []
        for raw in stream:
            batch.append(raw)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DateTime storage format


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _sqlite_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _insert(table: str, columns: list[str], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def floor_sqlite(database: Path, path: Path, batch_size: int) -> int:
    """The raw sqlite3 load of the file; returns the rows written."""
    connection = sqlite3.connect(database, timeout=30, isolation_level=None)
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA journal_mode=WAL")
    run_sql = _insert("etl_runs", RUN_COLUMNS, "?")
    account_sql = _insert("account_snapshots", ACCOUNT_COLUMNS, "?")
    position_sql = _insert("position_snapshots", POSITION_COLUMNS, "?")
    page_sql = _insert("raw_responses", PAGE_COLUMNS, "?")
    rows = 0
    cursor = connection.cursor()
    for batch in batches(path, batch_size):
        cursor.execute("BEGIN")
        for raw in batch:
            summary, positions, pages, line = parsed(raw)
            now = _sqlite_time(datetime.now(UTC))
            cursor.execute(
                run_sql,
                ("import", "success", line["account_no"], line["exchange"], now, now, len(pages),
                 len(positions), 0, f"import:{uuid.uuid4().hex}"),
            )  # fmt: skip
            run_id = cursor.lastrowid
            cursor.execute(account_sql, [run_id, *(_sqlite_value(summary[c]) for c in ACCOUNT_COLUMNS[1:])])
            snapshot_id = cursor.lastrowid
            cursor.executemany(
                position_sql, [(snapshot_id, *(_sqlite_value(v) for v in position)) for position in positions]
            )
            received = _sqlite_time(summary["captured_at"])
            cursor.executemany(
                page_sql,
                [
                    (run_id, snapshot_id, "kt00005", line["account_no"], line["exchange"], n, 200,
                     "Y" if n < len(pages) - 1 else "N", None, received, page, None)
                    for n, page in enumerate(pages)
                ],
            )  # fmt: skip
            rows += 2 + len(pages) + len(positions)
        cursor.execute("COMMIT")
    connection.close()
    return rows


def floor_postgres(url: str, path: Path, batch_size: int, copy: bool) -> int:
    """The raw psycopg load of the file, positions by COPY or executemany per batch; returns the rows written."""
    import psycopg

    rows = 0
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection:
        run_sql = _insert("etl_runs", RUN_COLUMNS, "%s") + " RETURNING id"
        account_sql = _insert("account_snapshots", ACCOUNT_COLUMNS, "%s") + " RETURNING id"
        position_sql = _insert("position_snapshots", POSITION_COLUMNS, "%s")
        page_sql = _insert("raw_responses", PAGE_COLUMNS, "%s").replace("%s, %s)", "%s::jsonb, %s)")
        for batch in batches(path, batch_size):
            with connection.transaction(), connection.cursor() as cursor:
                position_rows: list[tuple[Any, ...]] = []
                for raw in batch:
                    summary, positions, pages, line = parsed(raw)
                    now = datetime.now(UTC)
                    cursor.execute(
                        run_sql,
                        ("import", "success", line["account_no"], line["exchange"], now, now, len(pages),
                         len(positions), 0, f"import:{uuid.uuid4().hex}"),
                    )  # fmt: skip
                    run_id = cursor.fetchone()[0]  # type: ignore[index]
                    cursor.execute(account_sql, [run_id, *(summary[c] for c in ACCOUNT_COLUMNS[1:])])
                    snapshot_id = cursor.fetchone()[0]  # type: ignore[index]
                    position_rows.extend((snapshot_id, *position) for position in positions)
                    cursor.executemany(
                        page_sql,
                        [
                            (run_id, snapshot_id, "kt00005", line["account_no"], line["exchange"], n, 200,
                             "Y" if n < len(pages) - 1 else "N", None, summary["captured_at"], page, None)
                            for n, page in enumerate(pages)
                        ],
                    )  # fmt: skip
                    rows += 2 + len(pages) + len(positions)
                if copy:
                    with cursor.copy(f"COPY position_snapshots ({', '.join(POSITION_COLUMNS)}) FROM STDIN") as out:
                        for row in position_rows:
                            out.write_row(row)
                else:
                    cursor.executemany(position_sql, position_rows)
    return rows


class Backend:
    """A fresh migrated database per side and repeat: a SQLite file, or a PostgreSQL schema dropped afterwards."""

    def __init__(self, name: str, base: str | None, scratch: Path) -> None:
        self.name, self.base, self.scratch = name, base, scratch
        self.made: list[str] = []

    def fresh(self) -> tuple[str, Engine]:
        tag = uuid.uuid4().hex[:10]
        if self.base is None:
            url = f"sqlite:///{self.scratch / f'bulk-{tag}.db'}"
        else:
            schema = f"bench_bulk_{tag}"
            admin = make_engine(self.base)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            self.made.append(schema)
            scoped = make_url(self.base).update_query_dict({"options": f"-csearch_path={schema}"})
            url = scoped.render_as_string(hide_password=False)
        engine = make_engine(url)
        migrate(engine)
        return url, engine

    def drop(self) -> None:
        if self.base is None or not self.made:
            return
        admin = make_engine(self.base)
        with admin.begin() as connection:
            for schema in self.made:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        self.made.clear()


def timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    rows = work()
    return rows, time.perf_counter() - started


def ours_import(engine: Engine, path: Path, snapshots: int, rows: int) -> int:
    report = import_lines(engine, path)
    assert report.loaded == snapshots and not report.refused, report
    return rows


def ours_replay(engine: Engine, snapshots: int, rows: int) -> int:
    report = replay(engine, runs_to_replay(engine))
    assert report.rebuilt == snapshots, report
    return rows


def bench(backend: Backend, path: Path, snapshots: int, positions: int, repeat: int) -> dict[str, Any]:
    expected = snapshots * (3 + positions)
    samples: dict[str, list[float]] = {k: [] for k in ("import", "replay", "floor", "floor_copy", "floor_executemany")}
    ratios: dict[str, list[float]] = {"import": [], "replay": []}
    for _ in range(repeat):
        url, engine = backend.fresh()
        try:
            rows, seconds = timed(partial(ours_import, engine, path, snapshots, expected))
            samples["import"].append(rows / seconds)
            with engine.begin() as connection:
                connection.execute(delete(PositionSnapshot))
                connection.execute(delete(AccountSnapshot))
            rows, seconds = timed(partial(ours_replay, engine, snapshots, expected))
            samples["replay"].append(rows / seconds)
        finally:
            engine.dispose()
        floors = []
        for variant in ["sqlite3"] if backend.base is None else ["copy", "executemany"]:
            url, engine = backend.fresh()
            engine.dispose()
            if variant == "sqlite3":
                work = partial(floor_sqlite, Path(make_url(url).database or ""), path, BATCH_SIZE)
            else:
                work = partial(floor_postgres, url, path, BATCH_SIZE, variant == "copy")
            rows, seconds = timed(work)
            assert rows == expected, (rows, expected)
            floors.append(rows / seconds)
            if variant != "sqlite3":
                samples[f"floor_{variant}"].append(rows / seconds)
        floor = max(floors)  # the faster of COPY and executemany counts
        samples["floor"].append(floor)
        ratios["import"].append(samples["import"][-1] / floor)
        ratios["replay"].append(samples["replay"][-1] / floor)
        backend.drop()
    result: dict[str, Any] = {
        "backend": backend.name,
        "snapshots": snapshots,
        "positions": positions,
        "rows": expected,
        "batch": BATCH_SIZE,
        "repeat": repeat,
        "rows_per_second": {k: round(statistics.median(v)) for k, v in samples.items() if v},
        "ratio": {k: round(statistics.median(v), 3) for k, v in ratios.items()},
        "samples": {k: [round(x) for x in v] for k, v in samples.items() if v},
    }
    result["target_met"] = all(r >= TARGET for r in result["ratio"].values())
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=1000)
    parser.add_argument("--positions", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; medians are reported")
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("KIWOOM_ETL_TEST_POSTGRES_URL"))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="kiwoom-etl-bench-bulk-") as scratch:
        path = Path(scratch) / "history.jsonl"
        write_file(path, args.snapshots, args.positions)
        backends = [] if args.no_sqlite else [Backend("sqlite", None, Path(scratch))]
        if args.postgres:
            backends.append(Backend("postgresql", normalize_database_url(args.postgres, "--postgres"), Path(scratch)))
        for backend in backends:
            try:
                results.append(bench(backend, path, args.snapshots, args.positions, args.repeat))
            finally:
                backend.drop()
            if not args.json:
                r = results[-1]
                rates, ratio = r["rows_per_second"], r["ratio"]
                print(
                    f"{r['backend']:10} {r['rows']} rows ({args.snapshots} snapshots × {args.positions} positions, "
                    f"batch {BATCH_SIZE}, median of {args.repeat}): import {rates['import']} rows/s, replay "
                    f"{rates['replay']} rows/s, floor {rates['floor']} rows/s → import {ratio['import']}×, replay "
                    f"{ratio['replay']}× (target ≥ {TARGET}: {'met' if r['target_met'] else 'missed'})"
                )
        machine = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
                   "sqlite": sqlite3.sqlite_version, "file_mb": round(path.stat().st_size / 1e6, 1)}  # fmt: skip
    if args.json:
        print(json.dumps({"target": TARGET, **machine, "results": results}, indent=2))
    return 0 if all(r["target_met"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
