"""The analyst views on a large history, each query beside the floor: the same rows read straight by their ids.

    .venv/bin/python benchmarks/bench_views.py [--backend postgresql,sqlite] [--postgres URL] [--cache DIR]
                                               [--accounts N] [--days N] [--snapshots N] [--lines N] [--ledger N]
                                               [--explain] [--json]

The data set: accounts × 2 exchanges × days × snapshots a day × lines a snapshot (PostgreSQL: 10 × 2 × 250 × 8 ×
250 = 10 M position rows; SQLite: 2 accounts, 2 M), built once into a migrated database and kept between runs,
keyed by the schema revision and the parameters (rebuilt when either changes): on PostgreSQL a schema of its own in
the database `kiwoom_bench` (created if missing; --postgres names another), written by COPY; on SQLite a file under
--cache (default kiwoom-etl-bench-views under the temporary directory), written by executemany. Each account has
--ledger share lines (buys, sales and now and then a transfer in without an amount) spread over the days after its
first. daily_closes, daily_returns and realized_sales are then filled by etl.store.closes.rebuild,
etl.store.returns.rebuild and etl.store.realized.rebuild, as migrations 0007, 0016 and 0018 fill them. Its size on
disk is printed.

Each query is an analyst's: the view filtered on account_no, exchange and trade_date. Its time is the median of 5
runs after one warm-up, from execute to the last row fetched through the driver; the floor is the same for a plain
read of the rows the answer is made of, by ids looked up beforehand (the close's lines, the closes' summaries),
which no view can beat. Targets: on PostgreSQL account_daily for a year ≤ 100 ms, position_daily and
position_changes for a day ≤ 50 ms, latest_positions ≤ 20 ms; on SQLite each ≤ 200 ms; account_returns_daily for a
year ≤ 50 ms on both, its floor the year's closes read by id, and realized_pnl and position_pnl of one account ≤ 50 ms
on both, their floor the account's ledger lines read by id, at the scale of many accounts and years:

    .venv/bin/python benchmarks/bench_views.py --backend postgresql --accounts 1000 --days 1250 --snapshots 1 --lines 1
    .venv/bin/python benchmarks/bench_views.py --backend sqlite --accounts 100 --days 1250 --snapshots 1 --lines 1

Exit status 1 when one is missed. Not part of the test suite (never run by .ci/run).
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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from etl.read.views import create_views, drop_views
from etl.settings import normalize_database_url
from etl.store import closes, realized, returns
from etl.store.engine import make_engine
from etl.store.schema import head_revision, migrate

EXCHANGES = ("KRX", "NXT")
FIRST_DAY = date(2026, 1, 5)  # a Monday; the days are the weekdays from it on
RUNS = 5
FOUR = Decimal("0.0001")
TARGETS_MS = {
    "postgresql": {
        "account_daily": 100.0,
        "position_daily": 50.0,
        "position_changes": 50.0,
        "account_returns_daily": 50.0,
        "latest_positions": 20.0,
        "realized_pnl": 50.0,
        "position_pnl": 50.0,
    },
    "sqlite": {
        "account_daily": 200.0,
        "position_daily": 200.0,
        "position_changes": 200.0,
        "account_returns_daily": 50.0,
        "latest_positions": 200.0,
        "realized_pnl": 50.0,
        "position_pnl": 50.0,
    },
}
DEFAULT_ACCOUNTS = {"postgresql": 10, "sqlite": 2}
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/kiwoom_bench"


@dataclass(frozen=True)
class Shape:
    """The data set's parameters."""

    accounts: int
    days: int
    snapshots: int
    lines: int
    ledger: int  # share lines an account

    @property
    def key(self) -> str:
        sizes = (self.accounts, len(EXCHANGES), self.days, self.snapshots, self.lines)
        return f"{head_revision()}_{'x'.join(map(str, sizes))}_{self.ledger}"

    @property
    def position_rows(self) -> int:
        return self.accounts * len(EXCHANGES) * self.days * self.snapshots * self.lines

    def account(self, n: int) -> str:
        return f"{5000000000 + n}"

    def day(self, n: int) -> date:
        weeks, weekday = divmod(n, 5)
        return FIRST_DAY + timedelta(weeks=weeks, days=weekday)

    def moment(self, day: int, snapshot: int) -> datetime:
        """09:00 KST (00:00 UTC) and every 55 minutes after: the same Seoul date."""
        start = datetime(self.day(day).year, self.day(day).month, self.day(day).day, tzinfo=UTC)
        return start + timedelta(minutes=55 * snapshot)


def summaries(shape: Shape) -> Iterator[tuple[Any, ...]]:
    """account_snapshots rows: id, run_id, account_no, exchange, captured_at, scheduled_for, trade_date, figures."""
    snapshot_id = 0
    for a in range(shape.accounts):
        for e, exchange in enumerate(EXCHANGES):
            run_id = a * len(EXCHANGES) + e + 1
            for d in range(shape.days):
                for s in range(shape.snapshots):
                    snapshot_id += 1
                    at = shape.moment(d, s)
                    evaluation = 2_500_000_000 + d * 1_000_000 + s * 1_000 + a
                    yield (
                        snapshot_id,
                        run_id,
                        shape.account(a),
                        exchange,
                        at,
                        at,
                        shape.day(d),
                        50_000_000 + d,
                        2_300_000_000,
                        evaluation,
                        evaluation - 2_300_000_000,
                        (Decimal(evaluation - 2_300_000_000) * 100 / 2_300_000_000).quantize(FOUR, ROUND_DOWN),
                        (d % 3) * 1_000_000 or None,
                        0,
                        shape.lines,
                    )


def positions(shape: Shape) -> Iterator[tuple[Any, ...]]:
    """position_snapshots rows, in snapshot order: a few stocks have a cash and a credit line; quantities move from
    day to day (so that position_changes has rows), prices from snapshot to snapshot."""
    snapshot_id = 0
    for a in range(shape.accounts):
        for exchange in EXCHANGES:
            for d in range(shape.days):
                day = shape.day(d)
                for s in range(shape.snapshots):
                    snapshot_id += 1
                    at = shape.moment(d, s)
                    for line in range(shape.lines):
                        stock = line % (shape.lines - 10) if shape.lines > 20 else line
                        quantity = 10 + stock % 13 + (d // (stock % 20 + 1)) % 3
                        price = 10_000 + stock * 10 + d + s
                        yield (
                            snapshot_id,
                            line,
                            shape.account(a),
                            exchange,
                            at,
                            day,
                            "00" if line == stock else "03",
                            f"{100000 + stock:06d}",
                            f"종목{stock}",
                            quantity,
                            quantity,
                            price,
                            9_000,
                            9_000 * quantity,
                            price * quantity,
                            (price - 9_000) * quantity,
                            (Decimal((price - 9_000) * 100) / 9_000).quantize(FOUR, ROUND_DOWN),
                        )


def ledger(shape: Shape) -> Iterator[tuple[Any, ...]]:
    """account_transactions rows: each account's share lines over its days after the first, in five stocks (the
    first of them in its snapshots), two buys of ten shares for each sale of ten, a transfer in without an amount
    every 50th line."""
    loaded = shape.moment(0, 0)
    for a in range(shape.accounts):
        for n in range(shape.ledger):
            day = shape.day(1 + n * (shape.days - 1) // shape.ledger)
            stock = n % 5
            kind = "securities_in" if n % 50 == 49 else ("buy", "buy", "sell")[(n // 5) % 3]
            price = 10_000 + stock * 10 + n
            amount = 0 if kind == "securities_in" else 10 * price
            yield (
                a * len(EXCHANGES) + 1,
                shape.account(a),
                day,
                f"{n + 1:09d}",
                "000000000",
                kind,
                None if kind == "securities_in" else day,
                f"{100000 + stock:06d}",
                f"종목{stock}",
                10,
                amount,
                amount // 10_000,
                loaded,
            )


LEDGER_COLUMNS = (
    "run_id, account_no, settlement_date, transaction_no, original_transaction_no, kind, contract_date, stock_code, "
    "stock_name, quantity, trade_amount, commission, loaded_at"
)
SUMMARY_COLUMNS = (
    "id, run_id, account_no, exchange, captured_at, scheduled_for, trade_date, deposit_d2, total_purchase_amount, "
    "total_evaluation_amount, total_profit_loss, total_profit_loss_rate, credit_loan_total, unpaid_credit_interest, "
    "position_count"
)
POSITION_COLUMNS = (
    "snapshot_id, line_no, account_no, exchange, captured_at, trade_date, credit_type, stock_code, stock_name, "
    "settlement_quantity, quantity, current_price, purchase_price, purchase_amount, evaluation_amount, profit_loss, "
    "profit_loss_rate"
)
RUN_COLUMNS = "id, trigger, status, account_no, exchange, started_at"


def runs(shape: Shape) -> list[tuple[Any, ...]]:
    return [
        (a * len(EXCHANGES) + e + 1, "import", "success", shape.account(a), exchange, shape.moment(0, 0))
        for a in range(shape.accounts)
        for e, exchange in enumerate(EXCHANGES)
    ]


# PostgreSQL


def postgres_database(url: str) -> None:
    """Create the database `url` names when it is missing."""
    import psycopg

    target = make_url(url)
    admin = target.set(database="postgres", drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)).fetchone() is None:
            try:
                connection.execute(f'CREATE DATABASE "{target.database}"')
            except psycopg.errors.DuplicateDatabase:  # another benchmark created it meanwhile
                pass


def postgres_build(url: str, shape: Shape) -> tuple[str, float | None]:
    """The schema holding the data set (built when missing), and the seconds its build took (None when cached)."""
    import psycopg

    postgres_database(url)
    schema = f"bench_views_{shape.key}"
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        built = connection.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'bench_built'", (schema,)
        ).fetchone()
        if built:
            return schema, None
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{schema}"')
    started = time.perf_counter()
    engine = _engine(url, schema)
    migrate(engine)
    with psycopg.connect(plain, options=f"-csearch_path={schema}") as connection:
        connection.execute("SET maintenance_work_mem = '512MB'")
        deferred = _drop_position_indexes(connection)
        with connection.cursor() as cursor:
            for table, columns, rows in (
                ("etl_runs", RUN_COLUMNS, iter(runs(shape))),
                ("account_snapshots", SUMMARY_COLUMNS, summaries(shape)),
                ("position_snapshots", POSITION_COLUMNS, positions(shape)),
                ("account_transactions", LEDGER_COLUMNS, ledger(shape)),
            ):
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for statement in deferred:
                cursor.execute(statement)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('account_snapshots', 'id'), max(id)) FROM account_snapshots"
            )
            cursor.execute("SELECT setval(pg_get_serial_sequence('etl_runs', 'id'), max(id)) FROM etl_runs")
        connection.commit()
    with engine.begin() as sa_connection:
        closes.rebuild(sa_connection)
        returns.rebuild(sa_connection)
        realized.rebuild(sa_connection)
    engine.dispose()
    with psycopg.connect(plain, options=f"-csearch_path={schema}", autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        connection.execute("CREATE TABLE bench_built (built_at timestamptz DEFAULT now())")
    return schema, time.perf_counter() - started


def _drop_position_indexes(connection: Any) -> list[str]:
    """Drop position_snapshots' secondary indexes and constraints before the COPY; the statements that restore them
    (an index built once over 10 M rows is much faster than 10 M insertions into it)."""
    constraints = connection.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'position_snapshots'::regclass AND contype IN ('u', 'f')"
    ).fetchall()
    indexes = connection.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = 'position_snapshots'::regclass AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
    ).fetchall()
    for name, _ in constraints:
        connection.execute(f'ALTER TABLE position_snapshots DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE position_snapshots ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints
    ]


def _engine(url: str, schema: str) -> Engine:
    scoped = make_url(normalize_database_url(url, "--postgres")).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    return make_engine(scoped.render_as_string(hide_password=False))


def postgres_size(url: str, schema: str) -> int:
    import psycopg

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as connection:
        row = connection.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
    return int(row[0])


# SQLite


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how UtcDateTime stores a time on SQLite
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def sqlite_build(cache: Path, shape: Shape) -> tuple[Path, float | None]:
    path = cache / f"views-{shape.key}.db"
    if path.exists():
        return path, None
    cache.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{building}")
    migrate(engine)
    engine.dispose()
    connection = sqlite3.connect(building)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    with connection:
        for table, columns, rows in (
            ("etl_runs", RUN_COLUMNS, iter(runs(shape))),
            ("account_snapshots", SUMMARY_COLUMNS, summaries(shape)),
            ("position_snapshots", POSITION_COLUMNS, positions(shape)),
            ("account_transactions", LEDGER_COLUMNS, ledger(shape)),
        ):
            marks = ", ".join("?" * len(columns.split(", ")))
            while batch := [tuple(map(_sqlite_value, row)) for _, row in zip(range(100_000), rows, strict=False)]:
                connection.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
    connection.close()
    engine = make_engine(f"sqlite:///{building}")
    with engine.begin() as sa_connection:
        closes.rebuild(sa_connection)
        returns.rebuild(sa_connection)
        realized.rebuild(sa_connection)
    engine.dispose()
    connection = sqlite3.connect(building)
    connection.execute("ANALYZE")
    connection.close()
    building.rename(path)
    return path, time.perf_counter() - started


def current_views(engine: Engine) -> None:
    """The views as this code defines them, whatever the cached database was built with."""
    with engine.begin() as connection:
        drop_views(connection)
        create_views(connection)
    engine.dispose()


# The queries


@dataclass
class Measured:
    view: str
    sql: str
    rows: int
    median_ms: float
    floor_sql: str
    floor_rows: int
    floor_median_ms: float
    ratio: float
    target_ms: float
    met: bool


def queries(shape: Shape, one: Callable[[str], list[tuple[Any, ...]]]) -> list[tuple[str, str, str]]:
    """(view, the analyst's query, the floor's query) for one account (the middle one) on KRX."""
    account = shape.account(shape.accounts // 2)
    day = shape.day(shape.days // 2)
    where = f"account_no = '{account}' AND exchange = 'KRX'"
    closes = one(
        f"SELECT s.trade_date, s.id FROM account_snapshots s WHERE {where} AND s.id = (SELECT n.id FROM "
        f"account_snapshots n WHERE n.{where.replace(' AND ', ' AND n.')} AND n.trade_date = s.trade_date "
        "ORDER BY n.captured_at DESC, n.id DESC LIMIT 1) ORDER BY s.trade_date"
    )
    by_day = {str(trade_date): int(snapshot_id) for trade_date, snapshot_id in closes}
    days = sorted(by_day)
    index = days.index(day.isoformat())
    close, previous, newest = by_day[days[index]], by_day[days[index - 1]], by_day[days[-1]]
    year = [snapshot_id for trade_date, snapshot_id in by_day.items() if trade_date.startswith(str(day.year))]
    owner = f"account_no = '{account}'"
    lines = {int(id_): kind for id_, kind in one(f"SELECT id, kind FROM account_transactions WHERE {owner}")}
    sales = [id_ for id_, kind in lines.items() if kind == "sell"] or [0]
    return [
        (
            "account_daily",
            f"SELECT * FROM account_daily WHERE {where} "
            f"AND trade_date >= '{day.year}-01-01' AND trade_date < '{day.year + 1}-01-01' ORDER BY trade_date",
            f"SELECT * FROM account_snapshots WHERE id IN ({', '.join(map(str, year))}) ORDER BY id",
        ),
        (
            "position_daily",
            f"SELECT * FROM position_daily WHERE {where} AND trade_date = '{day}' ORDER BY stock_code",
            f"SELECT * FROM position_snapshots WHERE snapshot_id = {close} ORDER BY line_no",
        ),
        (
            "position_changes",
            f"SELECT * FROM position_changes WHERE {where} AND trade_date = '{day}' ORDER BY stock_code",
            f"SELECT * FROM position_snapshots WHERE snapshot_id IN ({previous}, {close}) "
            "ORDER BY snapshot_id, line_no",
        ),
        (
            "account_returns_daily",
            f"SELECT * FROM account_returns_daily WHERE {where} "
            f"AND trade_date >= '{day.year}-01-01' AND trade_date < '{day.year + 1}-01-01' ORDER BY trade_date",
            f"SELECT * FROM account_snapshots WHERE id IN ({', '.join(map(str, year))}) ORDER BY id",
        ),
        (
            "latest_positions",
            f"SELECT * FROM latest_positions WHERE {where} ORDER BY line_no",
            f"SELECT * FROM position_snapshots WHERE snapshot_id = {newest} ORDER BY line_no",
        ),
        (
            "realized_pnl",
            f"SELECT * FROM realized_pnl WHERE {owner} ORDER BY trade_date, transaction_id",
            f"SELECT * FROM account_transactions WHERE id IN ({', '.join(map(str, sales))}) ORDER BY id",
        ),
        (
            "position_pnl",
            f"SELECT * FROM position_pnl WHERE {owner} ORDER BY stock_code",
            f"SELECT * FROM account_transactions WHERE id IN ({', '.join(map(str, lines or [0]))}) ORDER BY id",
        ),
    ]


def timed(run: Callable[[str], list[tuple[Any, ...]]], sql: str) -> tuple[int, float]:
    """Rows, and the median milliseconds of RUNS runs after one warm-up."""
    rows = len(run(sql))
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run(sql)
        times.append((time.perf_counter() - started) * 1000)
    return rows, statistics.median(times)


def measure(backend: str, shape: Shape, run: Callable[[str], list[tuple[Any, ...]]]) -> list[Measured]:
    out = []
    for view, sql, floor in queries(shape, run):
        rows, ms = timed(run, sql)
        floor_rows, floor_ms = timed(run, floor)
        target = TARGETS_MS[backend][view]
        out.append(
            Measured(
                view,
                sql,
                rows,
                round(ms, 2),
                floor,
                floor_rows,
                round(floor_ms, 2),
                round(ms / floor_ms, 1),
                target,
                ms <= target,
            )
        )
    return out


def bench_postgres(url: str, shape: Shape, explain: bool) -> dict[str, Any]:
    import psycopg

    schema, seconds = postgres_build(url, shape)
    current_views(_engine(url, schema))
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, options=f"-csearch_path={schema}", autocommit=True) as connection:
        run = lambda sql: connection.execute(sql).fetchall()  # noqa: E731
        results = measure("postgresql", shape, run)
        if explain:
            for result in results:
                plan = run(f"EXPLAIN (ANALYZE, BUFFERS) {result.sql}")
                print(f"-- {result.view}\n" + "\n".join(row[0] for row in plan) + "\n", file=sys.stderr)
        version = run("SHOW server_version")[0][0]
    return {
        "backend": "postgresql",
        "server": f"PostgreSQL {version}",
        "where": f"{make_url(url).render_as_string()} schema {schema}",
        "build_seconds": None if seconds is None else round(seconds, 1),
        "bytes_on_disk": postgres_size(url, schema),
        **_shape(shape),
        "queries": [asdict(result) for result in results],
    }


def bench_sqlite(cache: Path, shape: Shape, explain: bool) -> dict[str, Any]:
    path, seconds = sqlite_build(cache, shape)
    current_views(make_engine(f"sqlite:///{path}"))
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        run = lambda sql: connection.execute(sql).fetchall()  # noqa: E731
        results = measure("sqlite", shape, run)
        if explain:
            for result in results:
                plan = run(f"EXPLAIN QUERY PLAN {result.sql}")
                print(f"-- {result.view}\n" + "\n".join(str(row[-1]) for row in plan) + "\n", file=sys.stderr)
    finally:
        connection.close()
    return {
        "backend": "sqlite",
        "server": f"SQLite {sqlite3.sqlite_version}",
        "where": str(path),
        "build_seconds": None if seconds is None else round(seconds, 1),
        "bytes_on_disk": path.stat().st_size,
        **_shape(shape),
        "queries": [asdict(result) for result in results],
    }


def _shape(shape: Shape) -> dict[str, Any]:
    return {**asdict(shape), "exchanges": len(EXCHANGES), "position_rows": shape.position_rows}


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['server']}: {result['position_rows']:,} position rows ({result['accounts']} accounts × "
        f"{result['exchanges']} exchanges × {result['days']} days × {result['snapshots']} snapshots × "
        f"{result['lines']} lines), {result['bytes_on_disk'] / 2**30:.2f} GiB on disk, in {result['where']}"
        + ("" if result["build_seconds"] is None else f", built in {result['build_seconds']} s"),
        "",
        f"{'view':<21} {'rows':>5} {'median ms':>10} {'floor ms':>9} {'ratio':>6} {'target ms':>10}  met",
    ]
    for q in result["queries"]:
        lines.append(
            f"{q['view']:<21} {q['rows']:>5} {q['median_ms']:>10.2f} {q['floor_median_ms']:>9.2f} {q['ratio']:>6.1f} "
            f"{q['target_ms']:>10.0f}  {'yes' if q['met'] else 'NO'}"
        )
    lines.append("")
    for q in result["queries"]:
        lines.append(f"  {q['view']} ({q['rows']} rows): {q['sql']}")
        floor = q["floor_sql"] if len(q["floor_sql"]) <= 160 else q["floor_sql"][:100] + " … " + q["floor_sql"][-40:]
        lines.append(f"    floor ({q['floor_rows']} rows): {floor}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql,sqlite", help="comma-separated: postgresql, sqlite")
    parser.add_argument("--postgres", default=os.environ.get("KIWOOM_ETL_BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kiwoom-etl-bench-views")
    parser.add_argument("--accounts", type=int, help="default: 10 on PostgreSQL, 2 on SQLite")
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--snapshots", type=int, default=8, help="snapshots a day")
    parser.add_argument("--lines", type=int, default=250, help="lines a snapshot")
    parser.add_argument("--ledger", type=int, default=200, help="share lines an account")
    parser.add_argument("--explain", action="store_true", help="print each view query's plan to stderr")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    results = []
    for backend in args.backend.split(","):
        shape = Shape(args.accounts or DEFAULT_ACCOUNTS[backend], args.days, args.snapshots, args.lines, args.ledger)
        if backend == "postgresql":
            results.append(bench_postgres(args.postgres, shape, args.explain))
        elif backend == "sqlite":
            results.append(bench_sqlite(args.cache, shape, args.explain))
        else:
            parser.error(f"unknown backend {backend!r}")
    machine = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if args.json:
        print(json.dumps({**machine, "results": results}, indent=2))
    else:
        print(f"{machine['machine']}, {machine['cpus']} CPUs, Python {machine['python']}, {machine['measured_at']}\n")
        print("\n\n".join(report(result) for result in results))
    return 0 if all(q["met"] for result in results for q in result["queries"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
