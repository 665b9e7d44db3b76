"""The ledger's load on both backends: each natural key once, differing repeats kept as conflicts, exact types."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, text

from etl.normalize.ledger import Classifier, LedgerLine, page_lines
from etl.store.engine import transaction
from etl.store.ledger import LedgerLoad, conflict_count, kind_counts, reclassify, store_lines
from etl.store.models import AccountTransaction, AccountTransactionConflict
from etl.store.runs import start_run
from tests.support.answers import SAMPLE_LINE, page

DEFAULT = Classifier()
NOW = datetime(2026, 12, 2, 11, 30, tzinfo=UTC)
ACCOUNT = "5000001111"


def lines(*changes: dict[str, str], classifier: Classifier = DEFAULT) -> list[LedgerLine]:
    return list(page_lines(page([SAMPLE_LINE | change for change in changes]), classifier).lines)


def load(engine: Engine, batch: list[LedgerLine]) -> LedgerLoad:
    run = start_run(engine, trigger="manual", started_at=NOW, account_no=ACCOUNT, exchange=None, api_id="kt00015")
    with transaction(engine, "test") as connection:
        return store_lines(connection, batch, run_id=run.id, account_no=ACCOUNT, received_at=NOW, loaded_at=NOW)


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        query = select(AccountTransaction.__table__).order_by(AccountTransaction.id)
        return [dict(row) for row in connection.execute(query).mappings()]


DAY = [
    {"trde_no": "000000001", "rmrk_nm": "이체입금", "io_tp_nm": "입금", "trde_amt": "000000010000000"},
    {"trde_no": "000000002", "rmrk_nm": "장내매수", "io_tp_nm": "매수", "trde_qty_jwa_cnt": "12.5"},
    {"trde_no": "000000003", "rmrk_nm": "기타정산금", "io_tp_nm": ""},
]


def test_each_line_lands_once_with_its_exact_types_and_a_rerun_adds_nothing(engine: Engine) -> None:
    first = load(engine, lines(*DAY))
    assert first.added == {"deposit": 1, "buy": 1, "other": 1} and first.unchanged == first.conflicts == 0
    rows = stored(engine)
    assert [r["kind"] for r in rows] == ["deposit", "buy", "other"]
    assert rows[0]["trade_amount"] == 10_000_000 and isinstance(rows[0]["trade_amount"], int)
    assert rows[1]["quantity"] == Decimal("12.5") and isinstance(rows[1]["quantity"], Decimal)
    assert rows[0]["unit_price"] == Decimal(56900) and rows[0]["processed_time"] == time(8, 12, 35)
    assert rows[0]["settlement_date"] == date(2024, 11, 21) and rows[0]["loaded_at"] == NOW

    again = load(engine, lines(*DAY[1:], {"trde_no": "000000004", "rmrk_nm": "이체출금", "io_tp_nm": "출금"}))
    assert again.added == {"withdrawal": 1} and again.unchanged == 2 and again.conflicts == 0
    assert len(stored(engine)) == 4
    with engine.connect() as connection:
        assert kind_counts(connection)["other"] == 1 and conflict_count(connection) == 0


def test_a_key_that_comes_back_different_is_a_conflict_once_and_the_stored_line_stays(engine: Engine) -> None:
    load(engine, lines(*DAY))
    before = stored(engine)
    changed = {**DAY[0], "trde_amt": "000000010000500", "entra_remn": "000000000000001"}
    results = [load(engine, lines(changed)) for _ in range(2)]  # seen again on the next re-read: one conflict
    assert [(r.conflicts, r.unchanged, sum(r.added.values())) for r in results] == [(1, 0, 0), (0, 0, 0)]
    assert stored(engine) == before
    with engine.connect() as connection:
        (conflict,) = connection.execute(select(AccountTransactionConflict.__table__)).mappings()
        line = connection.execute(
            text("SELECT line FROM account_transaction_conflicts")
            if engine.dialect.name == "sqlite"
            else text("SELECT line::text FROM account_transaction_conflicts")
        ).scalar_one()
    assert conflict["transaction_id"] == before[0]["id"]
    assert conflict["differences"] == "cash_balance: 994658290 → 1; trade_amount: 10000000 → 10000500"  # API order
    assert (conflict["settlement_date"], conflict["transaction_no"]) == (date(2024, 11, 21), "000000001")
    assert '"trde_amt": "000000010000500"' in line


def test_the_same_key_twice_in_one_answer_keeps_the_first(engine: Engine) -> None:
    result = load(engine, lines(DAY[0], {**DAY[0], "trde_amt": "000000000000001"}))
    assert result.added == {"deposit": 1} and result.conflicts == 1
    assert stored(engine)[0]["trade_amount"] == 10_000_000


def test_the_same_number_on_another_day_or_correcting_another_line_is_another_line(engine: Engine) -> None:
    result = load(engine, lines(DAY[0], {**DAY[0], "trde_dt": "20241122"}, {**DAY[0], "orig_deal_no": "000000001"}))
    assert sum(result.added.values()) == 3


def test_reclassify_applies_an_edited_mapping_to_stored_lines(engine: Engine) -> None:
    load(engine, lines(*DAY))
    with transaction(engine, "test") as connection:
        moved = reclassify(connection, Classifier.with_rules([("기타정산", "fee")]))
        assert moved == {("other", "fee"): 1}
        assert kind_counts(connection)["other"] == 0
        assert reclassify(connection, Classifier.with_rules([("기타정산", "fee")])) == {}
    assert [r["kind"] for r in stored(engine)] == ["deposit", "buy", "fee"]


def test_an_empty_text_and_an_absent_field_are_the_same_line(engine: Engine) -> None:
    load(engine, lines({**DAY[0], "rcpmnyer": ""}))
    line = {k: v for k, v in (SAMPLE_LINE | DAY[0]).items() if k != "rcpmnyer"}
    result = load(engine, list(page_lines(page([line]), DEFAULT).lines))
    assert (result.unchanged, result.conflicts) == (1, 0)


def test_a_ledger_day_claim_is_not_the_newest_snapshot_slot(engine: Engine) -> None:
    from etl.store.runs import close_abandoned

    slot = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    start_run(engine, trigger="scheduled", started_at=slot, account_no=ACCOUNT, exchange="KRX", scheduled_for=slot)
    ledger_day = datetime(2026, 12, 2, 11, 15, tzinfo=UTC)
    start_run(
        engine,
        trigger="scheduled",
        started_at=ledger_day,
        account_no=ACCOUNT,
        exchange=None,
        scheduled_for=ledger_day,
        api_id="kt00015",
    )
    assert close_abandoned(engine, ledger_day)[1] == slot
