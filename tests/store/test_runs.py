"""etl.store.runs: the rows of a slot that did not run."""

from __future__ import annotations

from datetime import datetime

from etl.clock import KST
from etl.schedule import Due
from etl.store.models import Reason, RunStatus
from etl.store.runs import unrun_rows


def test_a_slot_that_did_not_run_is_a_row_per_account_and_exchange_it_offers() -> None:
    slot = datetime(2026, 11, 19, 0, 30, tzinfo=KST)
    due = [Due("KRX", skip="수능"), Due("NXT", skip="수능")]
    accounts = [("a", ("KRX", "NXT")), ("b", ("KRX",))]
    rows = unrun_rows(slot, due, RunStatus.SKIPPED, Reason.MARKET_CLOSED, accounts, slot)
    assert [(r["account_no"], r["exchange"]) for r in rows] == [("a", "KRX"), ("a", "NXT"), ("b", "KRX")]
    assert {(r["status"], r["reason"], r["detail"], r["scheduled_for"], r["started_at"]) for r in rows} == {
        (RunStatus.SKIPPED, Reason.MARKET_CLOSED, "수능", slot, slot)
    }
