"""The fills' load on both backends: each natural key once, a differing repeat kept as a conflict once, exact types
and the push kept as received."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text

from etl.normalize.executions import Execution, execution_of
from etl.store.engine import transaction
from etl.store.executions import ExecutionLoad, store_executions
from etl.store.models import Execution as ExecutionRow
from etl.store.models import ExecutionConflict
from tests.support.answers import FILL_DAY as DAY
from tests.support.answers import FILL_RECEIVED as RECEIVED
from tests.support.answers import fill_push as push


def fill(received_at: datetime = RECEIVED, day: date = DAY, **fids: str) -> Execution:
    found = execution_of(push(**fids), trade_date=day, received_at=received_at)
    assert found is not None
    return found


def load(engine: Engine, *fills: Execution) -> ExecutionLoad:
    with transaction(engine, "test") as connection:
        return store_executions(connection, fills)


def rows(engine: Engine, model: Any = ExecutionRow) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(model.__table__).order_by(model.id)).mappings()]


def loaded(result: ExecutionLoad) -> tuple[int, int, int]:
    return result.added, result.unchanged, result.conflicts


def test_each_fill_lands_once_exactly_and_a_repeat_adds_nothing(engine: Engine) -> None:
    first, second = fill(), fill(**{"909": "45679", "911": "7", "907": "1", "2134": "2", "938": "900"})
    assert loaded(load(engine, first, second)) == (2, 0, 0)
    stored = rows(engine)
    assert [{k: v for k, v in row.items() if k not in ("id", "message")} for row in stored] == [
        dict(first.values),
        dict(second.values),
    ]
    assert stored[1]["quantity"] == 7 and isinstance(stored[1]["quantity"], int)
    assert (stored[1]["side"], stored[1]["exchange"], stored[1]["commission"]) == ("sell", "NXT", 900)
    assert stored[0]["executed_at"] == datetime(2026, 12, 7, 0, 31, 4, tzinfo=UTC)
    assert json.loads(stored[0]["message"]) == push()

    # Pushed again, later (a reconnect reads it twice): nothing is added, and the first arrival stands.
    later = RECEIVED + timedelta(minutes=3)
    assert loaded(load(engine, fill(later), fill(later, **{"10": "+61000", "902": "0"}))) == (0, 2, 0)
    assert rows(engine) == stored and rows(engine, ExecutionConflict) == []


def test_a_fill_that_comes_back_different_is_a_conflict_once_and_the_stored_fill_stays(engine: Engine) -> None:
    load(engine, fill())
    before = rows(engine)
    changed = fill(RECEIVED + timedelta(seconds=1), **{"910": "60800", "938": "271"})
    results = [load(engine, changed) for _ in range(2)]  # seen again: still one conflict
    assert [loaded(r) for r in results] == [(0, 0, 1), (0, 0, 0)]
    assert rows(engine) == before
    (conflict,) = rows(engine, ExecutionConflict)
    assert conflict["execution_id"] == before[0]["id"]
    assert conflict["differences"] == "price: 60700 → 60800; commission: 270 → 271"
    assert (conflict["account_no"], conflict["trade_date"], conflict["order_no"], conflict["execution_no"]) == (
        "8000000011",
        DAY,
        "0000123",
        "45678",
    )
    assert conflict["received_at"] == RECEIVED + timedelta(seconds=1)
    with engine.connect() as connection:
        message = connection.execute(
            text("SELECT message FROM execution_conflicts")
            if engine.dialect.name == "sqlite"
            else text("SELECT message::text FROM execution_conflicts")
        ).scalar_one()
    assert json.loads(message)["values"]["910"] == "60800"

    # Another difference of the same fill is a second conflict.
    assert loaded(load(engine, fill(**{"911": "4"}))) == (0, 0, 1)
    assert len(rows(engine, ExecutionConflict)) == 2


def test_a_repeat_within_one_batch_is_compared_with_the_first(engine: Engine) -> None:
    assert loaded(load(engine, fill(), fill(), fill(**{"302": "삼성전자우"}))) == (1, 1, 1)
    assert rows(engine)[0]["stock_name"] == "삼성전자"
    assert rows(engine, ExecutionConflict)[0]["differences"] == "stock_name: 삼성전자 → 삼성전자우"


def test_the_same_numbers_on_another_day_or_account_are_another_fill(engine: Engine) -> None:
    # Order and execution numbers restart every day.
    next_day = fill(RECEIVED + timedelta(days=1), DAY + timedelta(days=1))
    other = fill(**{"9201": "8000000022"})
    assert loaded(load(engine, fill(), next_day, other)) == (3, 0, 0)
    assert loaded(load(engine, fill(), next_day, other)) == (0, 3, 0)


def test_an_empty_batch_does_nothing(engine: Engine) -> None:
    assert loaded(load(engine)) == (0, 0, 0)
    assert rows(engine) == []
