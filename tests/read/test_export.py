"""kiwoom-etl export: views and tables to CSV and Parquet with exact values, filters on Seoul dates, usage errors."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Boolean, Engine, select

from etl.jobs.replay import import_pages
from etl.read.export import Filters, export, field
from etl.read.views import VIEWS
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse
from tests.support import Clock, kiwoom_etl
from tests.support.answers import summary_page

KST = timezone(timedelta(hours=9))
BIG = 2**53 + 1  # the first integer a float64 cannot hold
DAY1, DAY2 = date(2026, 11, 19), date(2026, 11, 20)
# 08:00 in Seoul on DAY2 is 23:00 UTC on DAY1: it belongs to DAY2.
EARLY = datetime(2026, 11, 20, 8, 0, tzinfo=KST)
HANGUL = '카카오, "우선";\n둘째 줄'
MODELS = {m.__tablename__: m for m in (EtlRun, AccountSnapshot, PositionSnapshot, RawResponse)}
EVERYTHING = Filters()
SOURCES = {**{v.name: v.table() for v in VIEWS}, **{name: m.__table__ for name, m in MODELS.items()}}


# (account, exchange, Seoul time, page): two days of a1 on KRX (an early snapshot and a close on DAY2), a1 on NXT,
# and a2; 000660 is sold out on DAY2 and 035720 bought.
HISTORY = [
    (
        "a1",
        "KRX",
        datetime(2026, 11, 19, 15, 30, tzinfo=KST),
        summary_page(
            BIG, "-43.8977", [("005930", "삼성전자", 3, 209542, "-43.8977"), ("000660", "SK하이닉스", 10, 1, "1.8546")]
        ),
    ),
    ("a1", "KRX", EARLY, summary_page(100, "1.8546", [("005930", "삼성전자", 4, 280000, "0.00")])),
    (
        "a1",
        "KRX",
        datetime(2026, 11, 20, 15, 30, tzinfo=KST),
        summary_page(100, "1.8546", [("005930", "삼성전자", 5, 350000, "12.5"), ("035720", HANGUL, 7, BIG, "-0.0001")]),
    ),
    (
        "a1",
        "NXT",
        datetime(2026, 11, 20, 19, 0, tzinfo=KST),
        summary_page(100, "0", [("005930", "삼성전자", 1, 70000, "0")]),
    ),
    (
        "a2",
        "KRX",
        datetime(2026, 11, 19, 15, 31, tzinfo=KST),
        summary_page(5, "-99.9999", [("000660", "x", 2, 3, "0.5")]),
    ),
]


@pytest.fixture
def history(engine: Engine, tmp_path: Path) -> Engine:
    """HISTORY loaded through the import path, each run started when its page was received."""
    for n, (account, exchange, when, page) in enumerate(HISTORY):
        path = tmp_path / f"page{n}.json"
        path.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
        outcome = import_pages(
            engine, [path], account_no=account, exchange=exchange, captured_at=when, clock=Clock(when.astimezone(UTC))
        )
        assert outcome == "loaded"
    return engine


def from_database(engine: Engine, name: str) -> list[tuple[Any, ...]]:
    """NAME's rows read through its typed selectable (the view's table(), the model's table)."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(SOURCES[name]))]


# How each Arrow type's values must look in the CSV, and how to read them back.
_TEXT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "int64": (r"-?[0-9]+", int),
    "decimal128(12, 4)": (r"-?[0-9]+\.[0-9]{4}", Decimal),
    "float": (r"-?[0-9.e+-]+|nan|inf", float),  # float64's name in Arrow; checked below to be repr's
    "double": (r"-?[0-9.e+-]+|nan|inf", float),
    "date32[day]": (r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date.fromisoformat),
    "timestamp[us, tz=UTC]": (
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z",
        lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
    ),
    "string": (r"(?s).*", str),
}


def read_csv(text: str, schema: pa.Schema) -> list[tuple[Any, ...]]:
    """The CSV's rows typed by the Parquet schema, after checking each value's text is the format's."""
    reader = csv.reader(io.StringIO(text, newline=""))
    assert next(reader) == schema.names
    rows = []
    for record in reader:
        row = []
        for value, column in zip(record, schema, strict=True):
            pattern, parse = _TEXT[str(column.type)]
            if value == "":
                row.append(None)
                continue
            assert re.fullmatch(pattern, value), (column.name, value)
            typed = parse(value)
            if isinstance(typed, float):
                assert repr(typed) == value, (column.name, value)
            row.append(typed)
        rows.append(tuple(row))
    return rows


def read_parquet(path: Path) -> list[tuple[Any, ...]]:
    table = pq.read_table(path)
    return [tuple(row.values()) for row in table.to_pylist()]


def _aware_utc(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    # Arrow reads UTC back with a zoneinfo; compare the instants, and check they are UTC at all.
    def one(value: Any) -> Any:
        if isinstance(value, datetime):
            assert value.utcoffset() == timedelta(0)
            return value.astimezone(UTC)
        return value

    return [tuple(one(v) for v in row) for row in rows]


def both_formats(engine: Engine, name: str, tmp_path: Path, filters: Filters = EVERYTHING, **kw: Any) -> Any:
    """Export NAME to CSV and Parquet; return (csv rows, parquet rows, parquet schema, CSV text)."""
    csv_path, parquet_path = tmp_path / f"{name}.csv", tmp_path / f"{name}.parquet"
    counted = export(engine, name, filters, fmt="csv", out=csv_path, force=True, **kw)  # a test exports NAME again
    assert export(engine, name, filters, fmt="parquet", out=parquet_path, force=True, **kw) == counted
    schema = pq.read_schema(parquet_path)
    text = csv_path.read_text(encoding="utf-8")
    from_csv, from_parquet = read_csv(text, schema), _aware_utc(read_parquet(parquet_path))
    assert len(from_csv) == counted
    return from_csv, from_parquet, schema, text


def _sorted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


@pytest.mark.parametrize(
    "name",
    ["account_daily", "latest_positions", "position_changes", "position_daily", "account_history", "etl_freshness"],
)
def test_a_view_round_trips_to_csv_and_parquet_with_the_same_values(history: Engine, tmp_path: Path, name: str) -> None:
    from_csv, from_parquet, _, _ = both_formats(history, name, tmp_path)
    expected = from_database(history, name)
    assert expected and _sorted(from_csv) == _sorted(from_parquet) == _sorted(expected)


@pytest.mark.parametrize("name", list(MODELS))
def test_a_table_round_trips_in_id_order_with_types_from_its_model(history: Engine, tmp_path: Path, name: str) -> None:
    from_csv, from_parquet, schema, _ = both_formats(history, name, tmp_path)
    expected = from_database(history, name)
    assert expected and from_csv == from_parquet == sorted(expected, key=lambda row: row[0])
    arrow = {
        int: pa.int64(),
        Decimal: pa.decimal128(12, 4),
        datetime: pa.timestamp("us", tz="UTC"),
        date: pa.date32(),
        str: pa.string(),
    }
    # The model's annotations (ColumnClause[datetime], …) say what each column holds in Python.
    hints = {key: get_args(get_args(hint)[0]) or get_args(hint) for key, hint in get_type_hints(MODELS[name]).items()}
    columns = MODELS[name].__table__.columns
    assert schema == pa.schema([(c.name, arrow[hints[c.key][0]]) for c in columns])


def test_parquet_types_of_the_computed_view_columns(history: Engine, tmp_path: Path) -> None:
    _, _, schema, _ = both_formats(history, "latest_positions", tmp_path)
    assert schema.field("weight_pct").type == pa.float64()
    assert schema.field("time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("profit_loss_rate").type == pa.decimal128(12, 4)
    assert schema.field("trade_date").type == pa.date32()
    _, _, schema, _ = both_formats(history, "position_changes", tmp_path)
    assert schema.field("change").type == pa.string() and schema.field("quantity_change").type == pa.int64()


def test_exact_values_big_integers_negative_rates_hangul_and_utc_times(history: Engine, tmp_path: Path) -> None:
    from_csv, from_parquet, _, text = both_formats(history, "position_snapshots", tmp_path)
    record = next(csv.DictReader(io.StringIO(text, newline="")))
    assert record["profit_loss_rate"] == "-43.8977" and record["quantity"] == "3"
    assert record["captured_at"] == "2026-11-19T06:30:00.000000Z" and record["trade_date"] == "2026-11-19"
    hangul = [r for r in csv.DictReader(io.StringIO(text, newline="")) if r["stock_code"] == "035720"]
    assert [(r["stock_name"], r["evaluation_amount"], r["profit_loss_rate"]) for r in hangul] == [
        (HANGUL, str(BIG), "-0.0001")
    ]
    assert {row[17] for row in from_parquet} >= {BIG} and {row[19] for row in from_parquet} >= {Decimal("12.5000")}
    _, _, _, daily = both_formats(history, "account_daily", tmp_path)
    first = next(csv.DictReader(io.StringIO(daily, newline="")))
    assert (first["deposit_d2"], first["total_profit_loss_rate"], first["time"]) == (
        str(BIG),
        "-43.8977",
        "2026-11-19T06:30:00.000000Z",
    )
    assert ".0," not in daily  # no integer written as a float anywhere


def test_since_and_until_are_inclusive_seoul_dates(history: Engine, tmp_path: Path) -> None:
    day2 = Filters(since=DAY2, until=DAY2)
    positions, _, _, _ = both_formats(history, "position_snapshots", tmp_path, day2)
    # The 08:00 KST snapshot was captured on DAY1 in UTC, and is DAY2's.
    assert {row[5] for row in positions} == {
        EARLY.astimezone(UTC),
        datetime(2026, 11, 20, 6, 30, tzinfo=UTC),
        datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
    }
    for name, column in (("etl_runs", "started_at"), ("raw_responses", "received_at")):
        rows, _, schema, _ = both_formats(history, name, tmp_path, day2)
        index = schema.names.index(column)
        assert sorted(row[index] for row in rows)[0] == EARLY.astimezone(UTC)
        assert len(rows) == 3
        rows, _, _, _ = both_formats(history, name, tmp_path, Filters(until=DAY1))
        assert len(rows) == 2
    daily, _, _, _ = both_formats(history, "account_daily", tmp_path, Filters(since=DAY1, until=DAY1))
    assert {row[2] for row in daily} == {DAY1} and len(daily) == 2
    changes, _, _, _ = both_formats(history, "position_changes", tmp_path, Filters(since=DAY2))
    assert sorted((row[4], row[9]) for row in changes) == [
        ("000660", "closed"),
        ("005930", "increased"),
        ("035720", "opened"),
    ]
    assert export(history, "account_daily", Filters(since=DAY2 + timedelta(days=1)), out=tmp_path / "none.csv") == 0


def test_account_and_exchange_filters(history: Engine, tmp_path: Path) -> None:
    nxt, _, _, _ = both_formats(history, "position_snapshots", tmp_path, Filters(account="a1", exchange="NXT"))
    assert [(row[3], row[4], row[13]) for row in nxt] == [("a1", "NXT", 1)]
    krx, _, _, _ = both_formats(history, "account_daily", tmp_path, Filters(exchange="KRX"))
    assert sorted((row[0], row[2]) for row in krx) == [("a1", DAY1), ("a1", DAY2), ("a2", DAY1)]
    fresh, _, _, _ = both_formats(history, "etl_freshness", tmp_path, Filters(account="a2"))
    assert [(row[0], row[1]) for row in fresh] == [("a2", "KRX")]


def test_parquet_has_a_row_group_per_chunk_and_csv_does_not_depend_on_the_chunk(
    history: Engine, tmp_path: Path
) -> None:
    export(history, "position_snapshots", Filters(), fmt="parquet", out=tmp_path / "p.parquet", chunk_rows=2)
    rows = len(from_database(history, "position_snapshots"))
    assert rows == 7 and pq.ParquetFile(tmp_path / "p.parquet").metadata.num_row_groups == 4
    export(history, "position_snapshots", Filters(), out=tmp_path / "small.csv", chunk_rows=1)
    export(history, "position_snapshots", Filters(), out=tmp_path / "big.csv")
    assert (tmp_path / "small.csv").read_bytes() == (tmp_path / "big.csv").read_bytes()


def test_a_type_without_an_export_mapping_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="flag"):
        field("flag", Boolean())


def test_the_export_command_writes_csv_to_stdout_and_parquet_to_a_file(
    history: Engine, db_url: str, tmp_path: Path
) -> None:
    env = {"KIWOOM_ETL_DATABASE_URL": db_url}
    to_stdout = kiwoom_etl("export", "position_changes", "--since", "2026-11-20", env=env)
    assert to_stdout.returncode == 0, to_stdout.stderr
    out = tmp_path / "changes.csv"
    to_file = kiwoom_etl("export", "position_changes", "--since", "2026-11-20", "--out", str(out), env=env)
    assert to_file.returncode == 0 and "3 row(s) of position_changes written to" in to_file.stdout
    assert to_stdout.stdout == out.read_text(encoding="utf-8")
    assert HANGUL in [record[5] for record in csv.reader(io.StringIO(to_stdout.stdout, newline=""))]
    parquet = tmp_path / "changes.parquet"
    made = kiwoom_etl("export", "position_changes", "--format", "parquet", "--out", str(parquet), env=env)
    assert made.returncode == 0 and pq.read_table(parquet).num_rows == 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["etl_freshness", "--since", "2026-11-20"], ["--since", "etl_freshness"]),
        (["etl_freshness", "--until", "2026-11-20"], ["--until", "etl_freshness"]),
        (["account_daily", "--format", "parquet"], ["--format parquet", "--out"]),
        (["account_daily", "--since", "2026-11-21", "--until", "2026-11-20"], ["--since", "--until"]),
        (["account_daily", "--exchange", "KOSPI"], ["--exchange", "KRX", "NXT"]),
        (["positions"], ["NAME", "'positions'", "account_daily", "etl_freshness", "raw_responses", "etl_runs"]),
    ],
)
def test_usage_errors_exit_2_and_name_what_is_wrong(sqlite_url: str, args: list[str], words: list[str]) -> None:
    refused = kiwoom_etl("export", *args, env={"KIWOOM_ETL_DATABASE_URL": sqlite_url})
    assert refused.returncode == 2 and refused.stdout == ""
    for word in words:
        assert word in refused.stderr


def test_parquet_without_pyarrow_is_one_line_naming_the_extra(sqlite_url: str, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "pyarrow.py").write_text("raise ImportError('pyarrow is not installed here')\n")
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url, "PYTHONPATH": str(blocked)}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    out = tmp_path / "x.parquet"
    refused = kiwoom_etl("export", "account_daily", "--format", "parquet", "--out", str(out), env=env)
    assert refused.returncode == 2 and not out.exists()
    assert refused.stderr.strip().splitlines() == [
        "kiwoom-etl: error: --format parquet needs pyarrow: pip install 'kiwoom-etl[parquet]'"
    ]
    assert kiwoom_etl("export", "account_daily", env=env).returncode == 0  # CSV needs no pyarrow


def test_an_out_file_that_cannot_be_written_is_one_line_and_a_reader_going_away_no_traceback(
    history: Engine, db_url: str, tmp_path: Path
) -> None:
    env = {"KIWOOM_ETL_DATABASE_URL": db_url}
    (tmp_path / "a-file").write_text("")
    missing = tmp_path / "a-file" / "x.csv"  # a folder that is a file: it cannot be made
    refused = kiwoom_etl("export", "account_daily", "--out", str(missing), env=env)
    assert refused.returncode == 1
    why = f"{tmp_path / 'a-file'} is a file, not a folder"
    assert refused.stderr.strip().splitlines() == [f"kiwoom-etl: error: {missing}: cannot be written: {why}"]
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the export writes its first byte
    base = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    gone = subprocess.run(
        [sys.executable, "-m", "etl", "export", "raw_responses"],
        env=base | env,
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    os.close(writer)
    assert gone.returncode == 141 and gone.stderr == ""  # as a process SIGPIPE ended


def test_an_out_file_is_private_and_appears_only_complete(history: Engine, tmp_path: Path) -> None:
    out = tmp_path / "runs.csv"
    export(history, "etl_runs", EVERYTHING, out=out)
    assert out.stat().st_mode & 0o777 == 0o600 and sorted(p.name for p in tmp_path.glob("*runs*")) == ["runs.csv"]
