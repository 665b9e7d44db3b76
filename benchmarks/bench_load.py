"""How loading positions scales: one executemany per snapshot against row-by-row ORM flushes, as a ratio.

    .venv/bin/python benchmarks/bench_load.py [DATABASE_URL ...]

Reports ratios, not absolute times: the machine is shared. Uses a scratch SQLite file, and a PostgreSQL URL when
given (it works in a schema of its own and drops it).
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, delete, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot
from etl.store.schema import migrate

POSITIONS = 500
ROUNDS = 5


def _rows(snapshot_id: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {
            "snapshot_id": snapshot_id,
            "line_no": i,
            "account_no": "5012345678",
            "exchange": "KRX",
            "captured_at": now,
            "trade_date": date.today(),
            "stock_code": "005930",
            "stock_name": "삼성전자",
            "quantity": i,
            "current_price": 70000,
            "evaluation_amount": 70000 * i,
            "profit_loss": -i,
            "profit_loss_rate": Decimal("-43.8977"),
        }
        for i in range(POSITIONS)
    ]


def _timed(
    engine: Engine, load: Callable[[Engine, list[dict[str, object]]], None], rows: list[dict[str, object]]
) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        load(engine, rows)
        best = min(best, time.perf_counter() - started)
        with engine.begin() as connection:
            connection.execute(delete(PositionSnapshot))
    return best


def executemany(engine: Engine, rows: list[dict[str, object]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(PositionSnapshot), rows)


def orm_row_by_row(engine: Engine, rows: list[dict[str, object]]) -> None:
    with Session(engine) as session, session.begin():
        for row in rows:
            session.add(PositionSnapshot(**row))
            session.flush()


def bench(url: str) -> None:
    engine = make_engine(url)
    schema = None
    if url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        engine = make_engine(
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    try:
        migrate(engine)
        now = datetime.now(UTC)
        with engine.begin() as connection:
            run_id = connection.execute(
                insert(EtlRun).returning(EtlRun.id), {"trigger": "bench", "status": "running", "started_at": now}
            ).scalar_one()
            snapshot_id = connection.execute(
                insert(AccountSnapshot).returning(AccountSnapshot.id),
                {
                    "run_id": run_id,
                    "account_no": "5012345678",
                    "exchange": "KRX",
                    "captured_at": now,
                    "trade_date": date.today(),
                    "position_count": POSITIONS,
                },
            ).scalar_one()
        rows = _rows(snapshot_id)
        fast, slow = _timed(engine, executemany, rows), _timed(engine, orm_row_by_row, rows)
        print(
            f"{engine.dialect.name:10}  {POSITIONS} positions: row-by-row ORM flushes take "
            f"{slow / fast:.1f}× as long as one executemany"
        )
    finally:
        engine.dispose()
        if schema:
            admin = make_engine(url)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        for database in [f"sqlite:///{scratch}/bench.db", *sys.argv[1:]]:
            bench(database)
