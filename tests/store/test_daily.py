"""store_daily, the load of the per-day tables: within one load (a request's pages), a day listed again by a later
page is the later page's, whether the day was stored before or not; an older page leaves a stored day alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from etl.apis.charts import INDEX_DAILY, IndexDaily
from etl.store.engine import transaction
from etl.store.runs import start_run

DAY = date(2026, 11, 20)
EARLY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LATE = EARLY + timedelta(seconds=1)


def bar(close: str, captured_at: datetime, day: date = DAY) -> dict[str, object]:
    return {"index_code": "001", "trade_date": day, "captured_at": captured_at, "close": Decimal(close)}


def load(engine: Engine, rows: list[dict[str, object]]) -> int:
    run = start_run(engine, trigger="manual", started_at=LATE, account_no=None, exchange=None, api_id="ka20006")
    with transaction(engine, "test") as connection:
        return INDEX_DAILY.load(connection, rows, run.id)


def closes(engine: Engine) -> dict[date, Decimal]:
    with engine.connect() as connection:
        return dict(connection.execute(select(IndexDaily.trade_date, IndexDaily.close)).all())


@pytest.mark.parametrize("stored_before", [False, True])
@pytest.mark.parametrize("order", ["early first", "late first"])
def test_a_day_two_pages_of_one_load_list_is_the_later_page_s(engine: Engine, stored_before: bool, order: str) -> None:
    if stored_before:
        load(engine, [bar("1.00", EARLY - timedelta(days=1))])
    rows = [bar("2.00", EARLY), bar("3.00", LATE), bar("4.00", EARLY, DAY - timedelta(days=1))]
    if order == "late first":
        rows[:2] = rows[1::-1]
    assert load(engine, rows) in (2, 3)  # the day once (or twice, when both pages replaced a stored row), the other
    assert closes(engine) == {DAY: Decimal("3.00"), DAY - timedelta(days=1): Decimal("4.00")}
