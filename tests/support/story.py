"""The returns story's account: its snapshot times, its ledger lines and how both are loaded."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import Engine

from etl.clock import KST
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.ledger import Classifier, page_lines
from etl.store.engine import transaction
from etl.store.ledger import store_lines
from etl.store.runs import start_run
from tests.support.books import Book, import_books

ACCOUNT = "5000001111"


def at(day: date) -> datetime:
    return datetime.combine(day, time(15, 40), tzinfo=KST)


def ledger_line(day: date, number: int, remark: str, amount: int, **extra: str) -> dict[str, str]:
    return {
        "trde_dt": f"{day:%Y%m%d}",
        "trde_no": str(number),
        "rmrk_nm": remark,
        "trde_amt": str(amount).zfill(15),
        **extra,
    }


def load(
    engine: Engine, tmp_path: Path, books: list[Book], lines: list[dict[str, str]], account: str = ACCOUNT
) -> None:
    """The books through the import path, then `lines` as one kt00015 page of `account`'s."""
    import_books(engine, books, tmp_path / "books")
    load_ledger(engine, lines, account=account)


def load_ledger(
    engine: Engine,
    lines: list[dict[str, str]],
    now: datetime = datetime(2026, 11, 9, 12, tzinfo=UTC),
    account: str = ACCOUNT,
) -> None:
    """`lines` (kt00015 fields) as one ledger run of `account` received at `now`, through the ledger's load."""
    run = start_run(engine, trigger="manual", started_at=now, account_no=account, exchange=None, api_id="kt00015")
    text = json.dumps({"trst_ovrl_trde_prps_array": lines, "return_code": 0, "return_msg": "OK"}, ensure_ascii=False)
    page = Page("kt00015", 0, now, 200, text, parse_json_object(text))
    with transaction(engine, "test") as connection:
        store_lines(
            connection,
            page_lines(page, Classifier()).lines,
            run_id=run.id,
            account_no=account,
            received_at=now,
            loaded_at=now,
        )
