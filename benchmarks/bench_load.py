"""Per-snapshot load, HTTP excluded: kiwoom-etl's load path against a raw driver doing the same work, as a ratio.

    .venv/bin/python benchmarks/bench_load.py [--rounds 200] [--positions 250] [--postgres URL] [--json]

Both sides start from the same raw page text, a kt00005 answer of 250 positions built with the simulator, and do
the same work per snapshot in one transaction on a freshly migrated database (same pragmas, indexes,
constraints): claim a run (look its spool id up, insert the `running` row), keep the raw page, insert the
summary and the positions, finish the run, commit.

- ours: the production path exactly as `kiwoom-etl import` and `flush` call it: the pages built from their text
  (`parse_json_object`), a `Capture`, then `etl.jobs.flush.flush_item(engine, capture, clock)` — the claim
  (`adopt`) and `etl.store.load.load` inside one `transaction`.
- floor: stdlib `sqlite3`, or psycopg, on one open connection: `json.loads`, plain `int()`/`Decimal()` per field
  (no validation), one `executemany` per table; on PostgreSQL the positions go by `executemany` and by `COPY`,
  both measured, and the faster is the floor.

Rounds alternate the sides, after a warm-up on the day before (the measured snapshots are a later day's than the
account's first, as a running daemon's are); each side writes to its own database, and at the end the two SQLite
files are checked to hold the same values. The figures are medians. The target: ours ≤ 1.2× the floor on each
backend (exit status 1 when missed). Each side's CPU time in this process is reported beside (on PostgreSQL the
server's work is not in it): on a busy machine it tells where the time goes. PostgreSQL runs when `--postgres` or
KIWOOM_ETL_TEST_POSTGRES_URL names a server (a schema per side, dropped afterwards). The machine may be shared:
read the ratios, not the times.
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
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import make_url

from etl.clock import KST
from etl.jobs.flush import LOADED, flush_item
from etl.kiwoom.pages import Page, parse_json_object
from etl.sim.accounts import make_account
from etl.sim.render_kt00005 import summary
from etl.store.capture import Capture
from etl.store.engine import SQLITE_BUSY_TIMEOUT_SECONDS, make_engine
from etl.store.schema import migrate

TARGET = 1.2
START = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)

# kt00005 field → column, as the contract maps them; the floor's own copy, so that it shares no code with ours.
AMOUNTS = {
    "entr": "deposit",
    "entr_d1": "deposit_d1",
    "entr_d2": "deposit_d2",
    "pymn_alow_amt": "withdrawable_amount",
    "uncl_stk_amt": "unsettled_secured_amount",
    "repl_amt": "substitute_amount",
    "rght_repl_amt": "rights_substitute_amount",
    "ord_alowa": "orderable_cash",
    "ch_uncla": "cash_outstanding",
    "crd_int_npay_gold": "unpaid_credit_interest",
    "etc_loana": "other_loan_amount",
    "nrpy_loan": "unrepaid_loan_amount",
    "profa_ch": "margin_cash",
    "repl_profa": "margin_substitute",
    "stk_buy_tot_amt": "total_purchase_amount",
    "evlt_amt_tot": "total_evaluation_amount",
    "tot_pl_tot": "total_profit_loss",
    "tot_re_buy_alowa": "total_rebuy_available",
    "20ord_alow_amt": "orderable_amount_20pct",
    "30ord_alow_amt": "orderable_amount_30pct",
    "40ord_alow_amt": "orderable_amount_40pct",
    "50ord_alow_amt": "orderable_amount_50pct",
    "60ord_alow_amt": "orderable_amount_60pct",
    "100ord_alow_amt": "orderable_amount_100pct",
    "crd_loan_tot": "credit_loan_total",
    "crd_loan_ls_tot": "credit_loan_short_total",
    "dpst_grnt_use_amt_amt": "deposit_collateral_loan_amount",
    "grnt_loan_amt": "sale_collateral_loan_amount",
}
RATES = {"tot_pl_rt": "total_profit_loss_rate", "crd_grnt_rt": "credit_collateral_ratio"}
ACCOUNT_COLUMNS = [
    "run_id",
    "account_no",
    "exchange",
    "captured_at",
    "scheduled_for",
    "trade_date",
    *AMOUNTS.values(),
    *RATES.values(),
    "position_count",
]
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
PAGE_COLUMNS = [
    "run_id",
    "snapshot_id",
    "api_id",
    "account_no",
    "exchange",
    "page_no",
    "http_status",
    "cont_yn",
    "next_key",
    "received_at",
    "payload",
]


def page_text(positions: int) -> str:
    """One kt00005 answer with `positions` lines, as the simulator serves it."""
    account = make_account(1, positions, exchanges=("KRX",))
    lines = [holding.line() for holding in account.holdings["KRX"]]
    payload = summary(account.cash(date(2026, 11, 20)), lines, 0, 0)
    payload["stk_cntr_remn"] = lines
    return json.dumps(payload | {"return_code": 0, "return_msg": "조회가 완료되었습니다."}, ensure_ascii=False)


def _int(value: str) -> int | None:
    return int(value) if value else None


def _decimal(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def _date(value: str) -> date | None:
    return date(int(value[:4]), int(value[4:6]), int(value[6:])) if value and value != "00000000" else None


def floor_rows(
    body: dict[str, Any],
    captured_at: datetime,
    moment: Callable[[datetime], Any],
    day: Callable[[date | None], Any],
    rate: Callable[[Decimal | None], Any],
) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """The summary's values (run_id and snapshot_id left to fill) and the positions' rows, parsed plainly; `moment`,
    `day` and `rate` give a timestamp, date and rate the form the driver takes."""
    trade_date = day(captured_at.astimezone(KST).date())
    at = moment(captured_at)
    lines = body["stk_cntr_remn"]
    account = [None, "5011111", "KRX", at, None, trade_date]
    account += [_int(body[field]) for field in AMOUNTS]
    account += [rate(_decimal(body[field])) for field in RATES]
    account.append(len(lines))
    positions = [
        (
            None,
            n,
            "5011111",
            "KRX",
            at,
            trade_date,
            line["crd_tp"].strip(),
            day(_date(line["loan_dt"])),
            day(_date(line["expr_dt"])),
            line["stk_cd"][1:],
            line["stk_nm"].strip(),
            _int(line["setl_remn"]),
            _int(line["cur_qty"]),
            abs(int(line["cur_prc"])),
            _int(line["buy_uv"]),
            _int(line["pur_amt"]),
            _int(line["evlt_amt"]),
            _int(line["evltv_prft"]),
            rate(_decimal(line["pl_rt"])),
        )
        for n, line in enumerate(lines)
    ]
    return account, positions


def _insert(table: str, columns: list[str], marker: str, cast: dict[str, str] | None = None) -> str:
    values = ", ".join(marker + (cast or {}).get(column, "") for column in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"


class SqliteFloor:
    """stdlib sqlite3 with the pragmas `etl.store.engine` sets, values in the forms SQLAlchemy stores them."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
        self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.account_sql = _insert("account_snapshots", ACCOUNT_COLUMNS, "?")
        self.position_sql = _insert("position_snapshots", POSITION_COLUMNS, "?")
        self.page_sql = _insert("raw_responses", PAGE_COLUMNS, "?")

    def load(self, texts: list[str], captured_at: datetime, spool_id: str) -> None:
        bodies = [json.loads(t) for t in texts]
        moment = _sqlite_moment(captured_at)
        account, positions = floor_rows(bodies[0], captured_at, lambda _: moment, _sqlite_day, _sqlite_rate)
        cursor = self.connection.cursor()
        cursor.execute("SELECT id FROM etl_runs WHERE spool_id = ?", (spool_id,)).fetchone()
        run_id = cursor.execute(
            "INSERT INTO etl_runs (trigger, status, account_no, exchange, started_at, spool_id) "
            "VALUES ('import', 'running', '5011111', 'KRX', ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (moment, spool_id),
        ).fetchone()[0]
        account[0] = run_id
        snapshot_id = cursor.execute(self.account_sql + " RETURNING id", account).fetchone()[0]
        cursor.executemany(self.position_sql, [(snapshot_id, *row[1:]) for row in positions])
        cursor.executemany(
            self.page_sql,
            [
                (run_id, snapshot_id, "kt00005", "5011111", "KRX", n, 200, "N", None, moment, t)
                for n, t in enumerate(texts)
            ],
        )
        finished = _sqlite_moment(datetime.now(UTC))
        cursor.execute(
            "UPDATE etl_runs SET status = 'success', page_count = ?, position_count = ?, error = NULL, "
            "reason = NULL, detail = NULL, finished_at = ?, duration_ms = ? WHERE id = ?",
            (len(texts), len(positions), finished, 0, run_id),
        )
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def _sqlite_moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_rate(rate: Decimal | None) -> str | None:
    return None if rate is None else str(rate)


def _same(value: Any) -> Any:
    return value


def _sqlite_day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


class PostgresFloor:
    """psycopg on one connection; positions by executemany (`copy=False`) or COPY (`copy=True`)."""

    def __init__(self, url: str, copy: bool) -> None:
        import psycopg

        self.connection = psycopg.connect(url)
        self.copy = copy
        self.account_sql = _insert("account_snapshots", ACCOUNT_COLUMNS, "%s")
        self.position_sql = _insert("position_snapshots", POSITION_COLUMNS, "%s")
        self.page_sql = _insert("raw_responses", PAGE_COLUMNS, "%s", {"payload": "::jsonb"})
        self.copy_sql = f"COPY position_snapshots ({', '.join(POSITION_COLUMNS)}) FROM STDIN"

    def load(self, texts: list[str], captured_at: datetime, spool_id: str) -> None:
        bodies = [json.loads(t) for t in texts]
        account, positions = floor_rows(bodies[0], captured_at, _same, _same, _same)
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute("SELECT id FROM etl_runs WHERE spool_id = %s", (spool_id,))
            cursor.fetchone()
            cursor.execute(
                "INSERT INTO etl_runs (trigger, status, account_no, exchange, started_at, spool_id) "
                "VALUES ('import', 'running', '5011111', 'KRX', %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                (captured_at, spool_id),
            )
            run_id = cursor.fetchone()[0]  # type: ignore[index]
            account[0] = run_id
            cursor.execute(self.account_sql + " RETURNING id", account)
            snapshot_id = cursor.fetchone()[0]  # type: ignore[index]
            rows = [(snapshot_id, *row[1:]) for row in positions]
            if self.copy:
                with cursor.copy(self.copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.position_sql, rows)
            cursor.executemany(
                self.page_sql,
                [
                    (run_id, snapshot_id, "kt00005", "5011111", "KRX", n, 200, "N", None, captured_at, t)
                    for n, t in enumerate(texts)
                ],
            )
            cursor.execute(
                "UPDATE etl_runs SET status = 'success', page_count = %s, position_count = %s, error = NULL, "
                "reason = NULL, detail = NULL, finished_at = %s, duration_ms = %s WHERE id = %s",
                (len(texts), len(positions), datetime.now(UTC), 0, run_id),
            )

    def close(self) -> None:
        self.connection.close()


class Ours:
    """The production path, as `kiwoom-etl import` calls it."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def load(self, texts: list[str], captured_at: datetime, spool_id: str) -> None:
        pages = tuple(
            Page(
                api_id="kt00005",
                page_no=n,
                received_at=captured_at,
                http_status=200,
                text=t,
                data=parse_json_object(t),
                cont_yn="N",
                next_key=None,
            )
            for n, t in enumerate(texts)
        )
        capture = Capture(
            account_no="5011111",
            exchange="KRX",
            trigger="import",
            captured_at=captured_at,
            pages=pages,
            spool_id=spool_id,
        )
        outcome = flush_item(self.engine, capture, lambda: datetime.now(UTC))
        assert outcome == LOADED, outcome

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A URL of `base` whose search_path is a new, migrated schema; the schema is dropped afterwards."""
    admin = sqlalchemy.create_engine(base)
    schema = f"bench_load_{uuid.uuid4().hex[:10]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    try:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def measure(
    sides: dict[str, Any], texts: list[str], rounds: int, warmup: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Median seconds per snapshot of each side, wall clock and this process's CPU, the sides taking turns."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for n in range(warmup + rounds):
        # The warm-up is the day before: the measured snapshots are a later day's, as a running daemon's are (an
        # account's first day computes more: every snapshot of it moves the start of the returns and of the walk).
        captured_at = START + timedelta(seconds=n) - (timedelta(days=1) if n < warmup else timedelta())
        for name, side in sides.items():
            spool_id = f"bench:{name}:{n}"
            started, started_cpu = time.perf_counter(), time.process_time()
            side.load(texts, captured_at, spool_id)
            elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
            if n >= warmup:
                times[name].append(elapsed)
                cpu[name].append(elapsed_cpu)
    median = statistics.median
    return {k: median(v) for k, v in times.items()}, {k: median(v) for k, v in cpu.items()}


def same_rows(ours: str, floor: str) -> None:
    """Both sides stored the same values, byte for byte as SQLite holds them: the work compared is the same."""
    query = (
        f"SELECT {', '.join(POSITION_COLUMNS[1:])} FROM position_snapshots WHERE snapshot_id = "
        "(SELECT max(id) FROM account_snapshots) ORDER BY line_no"
    )
    stored = []
    for path in (ours, floor):
        connection = sqlite3.connect(path)
        stored.append(
            (
                connection.execute(query).fetchall(),
                connection.execute(
                    f"SELECT {', '.join(ACCOUNT_COLUMNS[1:])} FROM account_snapshots ORDER BY id DESC LIMIT 1"
                ).fetchall(),
                connection.execute("SELECT payload FROM raw_responses ORDER BY id DESC LIMIT 1").fetchall(),
            )
        )
        connection.close()
    assert stored[0] == stored[1], "ours and the floor stored different values"


def bench_sqlite(texts: list[str], rounds: int, warmup: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        urls = {name: f"sqlite:///{scratch}/{name}.db" for name in ("ours", "floor")}
        for url in urls.values():
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
        sides = {"ours": Ours(urls["ours"]), "floor": SqliteFloor(f"{scratch}/floor.db")}
        try:
            medians, cpu = measure(sides, texts, rounds, warmup)
        finally:
            for side in sides.values():
                side.close()
        same_rows(f"{scratch}/ours.db", f"{scratch}/floor.db")
    return {
        "backend": "sqlite",
        "ours_ms": medians["ours"] * 1000,
        "floor_ms": medians["floor"] * 1000,
        "floor": "sqlite3 executemany",
        "ratio": medians["ours"] / medians["floor"],
        "ours_cpu_ms": cpu["ours"] * 1000,
        "floor_cpu_ms": cpu["floor"] * 1000,
    }


def bench_postgres(base: str, texts: list[str], rounds: int, warmup: int) -> dict[str, Any]:
    with postgres_schema(base) as ours_url, postgres_schema(base) as many_url, postgres_schema(base) as copy_url:
        sides = {
            "ours": Ours(ours_url),
            "executemany": PostgresFloor(_libpq(many_url), copy=False),
            "copy": PostgresFloor(_libpq(copy_url), copy=True),
        }
        try:
            medians, cpu = measure(sides, texts, rounds, warmup)
        finally:
            for side in sides.values():
                side.close()
    floor = min(("executemany", "copy"), key=lambda name: medians[name])
    return {
        "backend": "postgresql",
        "ours_ms": medians["ours"] * 1000,
        "floor_ms": medians[floor] * 1000,
        "floor": f"psycopg {'COPY' if floor == 'copy' else 'executemany'}",
        "executemany_ms": medians["executemany"] * 1000,
        "copy_ms": medians["copy"] * 1000,
        "ratio": medians["ours"] / medians[floor],
        "ours_cpu_ms": cpu["ours"] * 1000,
        "floor_cpu_ms": cpu[floor] * 1000,
    }


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="measured snapshots per side (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="snapshots per side before measuring (default 20)")
    parser.add_argument("--positions", type=int, default=250, help="lines of the kt00005 answer (default 250)")
    parser.add_argument("--postgres", default=os.environ.get("KIWOOM_ETL_TEST_POSTGRES_URL"), help="a server URL")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    texts = [page_text(args.positions)]
    results = [bench_sqlite(texts, args.rounds, args.warmup)]
    if args.postgres:
        results.append(bench_postgres(args.postgres, texts, args.rounds, args.warmup))
    for result in results:
        result["target"] = TARGET
        result["met"] = result["ratio"] <= TARGET
    report = {
        "benchmark": "per-snapshot load",
        "positions": args.positions,
        "pages": len(texts),
        "rounds": args.rounds,
        "warmup": args.warmup,
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.positions} positions, {len(texts)} page(s), median of {args.rounds} rounds a side")
        for r in results:
            print(
                f"{r['backend']:10}  ours {r['ours_ms']:7.2f} ms  floor {r['floor_ms']:7.2f} ms ({r['floor']})  "
                f"ratio {r['ratio']:.2f}×  target ≤ {TARGET}× {'met' if r['met'] else 'MISSED'}"
            )
            print(f"{'':10}  client CPU: ours {r['ours_cpu_ms']:.2f} ms, floor {r['floor_cpu_ms']:.2f} ms")
            if "copy_ms" in r:
                print(
                    f"{'':10}  floor candidates: executemany {r['executemany_ms']:.2f} ms, COPY {r['copy_ms']:.2f} ms"
                )
    return 0 if all(r["met"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
