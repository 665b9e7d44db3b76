"""docs/scaling.md holds: its partitioning recipe, run as written, keeps every view answering what the books say; and
migration 0008 compresses raw pages with lz4 where the server has it (pglz where not, nothing on SQLite)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from etl.read.views import VIEW_NAMES
from etl.schedule import Schedule
from etl.settings import Settings
from etl.store.engine import make_engine
from etl.store.schema import current_revision, downgrade, migrate
from tests.support.books import EVERY_VIEW, History, assert_view, import_books, week
from tests.support.schema import migrated

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
RECIPE_MARK = "-- kiwoom-etl: partition the snapshot tables by month"
MONTHLY_MARK = "-- kiwoom-etl: the monthly job"


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def sql_block(mark: str) -> str:
    """The doc's ```sql block that starts with `mark`."""
    blocks = [b for b in re.findall(r"```sql\n(.*?)```", doc(), re.S) if b.startswith(mark)]
    assert len(blocks) == 1, mark
    return blocks[0]


def run_as_psql_would(engine: Engine, script: str) -> None:
    """The script as one simple query in autocommit, so that its own BEGIN and COMMIT hold (as `psql -f` runs it)."""
    schema = str(engine.url.query["options"]).split("=", 1)[1]
    assert script.count("SET LOCAL search_path TO public;") <= 1
    script = script.replace("SET LOCAL search_path TO public;", f'SET LOCAL search_path TO "{schema}";')
    conninfo = make_url(engine.url.render_as_string(hide_password=False)).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(script.encode())


def scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


@pytest.mark.postgres
def test_the_partitioning_recipe_keeps_every_view_answering_as_the_books_say(postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(postgres_url)
    try:
        migrated(engine)
        books = week()
        before = History([b for b in books.books if b.trade_date < date(2026, 11, 19)])
        after = History([b for b in books.books if b.trade_date >= date(2026, 11, 19)])
        assert before.books and after.books and before.books + after.books == books.books
        import_books(engine, before.books, tmp_path / "before")  # rows the recipe moves into the partitions

        run_as_psql_would(engine, sql_block(RECIPE_MARK))
        migrate(engine)
        assert current_revision(engine) is not None
        import_books(engine, after.books, tmp_path / "after")  # rows the load writes into the partitioned tables

        books.read_ids(engine)
        for name, answer, order in EVERY_VIEW:
            assert_view(engine, name, answer(books), order)
        assert {name for name, _, _ in EVERY_VIEW} == set(VIEW_NAMES)

        for table in ("account_snapshots", "position_snapshots"):
            assert scalar(engine, f"SELECT relkind FROM pg_class WHERE oid = '{table}'::regclass") == "p"
            where = scalar(engine, f"SELECT array_agg(DISTINCT tableoid::regclass::text) FROM {table}")
            assert where == [f"{table}_2026_11"], table  # every row of the week in November's partition
            assert scalar(engine, f"SELECT count(*) FROM {table}_default") == 0
        loaded = len(books.loaded())
        assert scalar(engine, "SELECT count(*) FROM account_snapshots") == loaded
        positions = sum(len(book.lines) for _, book in books.loaded())
        assert scalar(engine, "SELECT count(*) FROM position_snapshots") == positions
        # The keys are what the doc's table says they become.
        with engine.connect() as connection:
            keys = dict(
                connection.execute(
                    text(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid IN ('account_snapshots'::regclass, 'position_snapshots'::regclass, "
                        "'raw_responses'::regclass) AND contype IN ('p', 'u', 'f')"
                    )
                ).all()
            )
        assert keys["pk_account_snapshots"] == "PRIMARY KEY (id, captured_at)"
        assert keys["pk_position_snapshots"] == "PRIMARY KEY (id, captured_at)"
        assert keys["uq_position_snapshots_snapshot_id_line_no"] == "UNIQUE (snapshot_id, line_no, captured_at)"
        assert keys["fk_position_snapshots_snapshot_id_account_snapshots"] == (
            "FOREIGN KEY (snapshot_id, captured_at) REFERENCES account_snapshots(id, captured_at) ON DELETE CASCADE"
        )
        assert "uq_account_snapshots_account_no_exchange_scheduled_for" not in keys
        assert "fk_raw_responses_snapshot_id_account_snapshots" not in keys
        # The comments analysts' tools show survive, on the tables and on the views.
        assert scalar(engine, "SELECT obj_description('account_snapshots'::regclass, 'pg_class')")
        assert scalar(engine, "SELECT col_description('position_snapshots'::regclass, 2)")
        assert scalar(engine, "SELECT obj_description('account_daily'::regclass, 'pg_class')")

        # The composite foreign key still takes a snapshot's positions with it (a replay's rebuild relies on it).
        with engine.connect() as connection:
            snapshot_id = connection.execute(text("SELECT min(id) FROM account_snapshots")).scalar_one()
            connection.execute(text("DELETE FROM account_snapshots WHERE id = :id"), {"id": snapshot_id})
            left = "SELECT count(*) FROM position_snapshots WHERE snapshot_id = :id"
            assert connection.execute(text(left), {"id": snapshot_id}).scalar_one() == 0
            connection.rollback()

        month = scalar(engine, "SELECT to_char(now() AT TIME ZONE 'Asia/Seoul' + interval '3 months', 'YYYY_MM')")
        assert scalar(engine, f"SELECT to_regclass('position_snapshots_{month}') IS NULL") is True
        run_as_psql_would(engine, sql_block(MONTHLY_MARK))
        for table in ("account_snapshots", "position_snapshots"):
            assert scalar(engine, f"SELECT to_regclass('{table}_{month}') IS NOT NULL") is True
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_month_the_job_missed_lands_in_default_and_moves_to_its_own_partition(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = make_engine(postgres_url)
    try:
        migrated(engine)
        run_as_psql_would(engine, sql_block(RECIPE_MARK))
        far = week(date(2031, 3, 3))  # no partition for March 2031 yet: every row goes to DEFAULT
        far.load(engine, tmp_path / "far")
        assert scalar(engine, "SELECT count(*) FROM position_snapshots_default") == sum(
            len(book.lines) for _, book in far.loaded()
        )
        with engine.begin() as connection:
            connection.execute(text("SELECT kiwoom_etl_add_month(DATE '2031-03-15')"))
        for table in ("account_snapshots", "position_snapshots"):
            assert scalar(engine, f"SELECT count(*) FROM {table}_default") == 0
            where = scalar(engine, f"SELECT array_agg(DISTINCT tableoid::regclass::text) FROM {table}")
            assert where == [f"{table}_2031_03"], table
        for name, answer, order in EVERY_VIEW:
            assert_view(engine, name, answer(far), order)
    finally:
        engine.dispose()


def compression(engine: Engine) -> dict[str, str]:
    """raw_responses' columns and their compression method ('' for the server's default)."""
    query = (
        "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'raw_responses'::regclass "
        "AND attname IN ('payload', 'body_text')"
    )
    with engine.connect() as connection:
        return {str(name): str(method) for name, method in connection.execute(text(query))}


@pytest.mark.postgres
def test_0008_compresses_raw_pages_with_lz4_where_the_server_has_it_and_downgrades_to_the_default(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    try:
        migrate(engine)
        lz4 = "lz4" in str(scalar(engine, "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
        method = "l" if lz4 else "p"  # without lz4 on the server: pglz, said so by the column
        assert compression(engine) == {"payload": method, "body_text": method}
        downgrade(engine, "0008-1")
        assert compression(engine) == {"payload": "", "body_text": ""}
    finally:
        engine.dispose()


def test_0008_changes_nothing_on_sqlite(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            schema = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'raw_responses'")
            assert "COMPRESSION" not in schema.scalar_one().upper()
        downgrade(engine, "0008-1")
        assert current_revision(engine) != "0008"
    finally:
        engine.dispose()


def test_the_docs_snapshots_a_day_are_what_the_default_schedule_takes() -> None:
    rows = re.findall(
        r"^\| (1 min|5 min|30 min|1 h)[^|]* \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|", doc(), re.M
    )
    assert [r[0] for r in rows] == ["1 min", "5 min", "30 min", "1 h"]
    defaults = Settings()
    monday = datetime(2026, 11, 16, tzinfo=ZoneInfo("Asia/Seoul"))
    for label, krx, nxt, both, year in rows:
        minutes = {"1 min": 1, "5 min": 5, "30 min": 30, "1 h": 60}[label]
        schedule = Schedule.build(timedelta(minutes=minutes), "Asia/Seoul", defaults.windows, defaults.end_of_day)
        taken = Counter(
            d.exchange for t in schedule.fires_between(monday, monday + timedelta(days=1)) for d in schedule.due(t)
        )
        counts = [int(n.replace(",", "")) for n in (krx, nxt, both, year)]
        assert counts == [taken["KRX"], taken["NXT"], taken["KRX"] + taken["NXT"], 250 * (taken["KRX"] + taken["NXT"])]


def test_the_readme_links_the_scaling_doc() -> None:
    readme = (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "(docs/scaling.md)" in readme
