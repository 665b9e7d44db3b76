"""daily_closes is kept exact by every load: what the loads leave is what `rebuild` computes from account_snapshots,
and the views read from it answer as the books say, whatever order the snapshots came in, after a replay that
rebuilds them, and with two snapshots at one moment. On both backends, through the real import and replay paths."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, inspect, select, text
from sqlalchemy.engine import make_url

from etl.jobs.replay import import_pages, replay, runs_to_replay
from etl.normalize.transform import trade_date_of
from etl.read.views import VIEW_NAMES, VIEWS
from etl.sim.simulator import Simulator
from etl.store.closes import day_statements, rebuild
from etl.store.engine import make_engine
from etl.store.models import DailyClose
from etl.store.schema import downgrade, migrate
from tests.support import Clock, take_snapshots
from tests.support.books import EVERY_VIEW, Book, History, Line, assert_view, edges, import_books, week
from tests.support.schema import migrated

CLOSES = select(DailyClose.__table__).order_by(DailyClose.account_no, DailyClose.exchange, DailyClose.trade_date)


def rows(engine: Engine, sql: str | Select[Any]) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text(sql) if isinstance(sql, str) else sql)]


def every_view(engine: Engine, names: tuple[str, ...] = VIEW_NAMES) -> dict[str, list[tuple[Any, ...]]]:
    """Every view's rows (of `names`), in a stable order (NULLs made sortable)."""
    with engine.connect() as connection:
        return {
            name: sorted(
                (tuple(row) for row in connection.execute(text(f"SELECT * FROM {name}"))),
                key=lambda row: tuple((value is None, str(value)) for value in row),
            )
            for name in names
        }


def assert_closes_are_the_rebuilt_ones(engine: Engine) -> None:
    """What the loads left in daily_closes is what rebuild computes from account_snapshots (rolled back after)."""
    kept = rows(engine, CLOSES)
    with engine.connect() as connection, connection.begin() as transaction:
        rebuild(connection)
        rebuilt = [dict(row._mapping) for row in connection.execute(CLOSES)]
        transaction.rollback()
    assert kept and kept == rebuilt


def assert_views_answer_the_books(engine: Engine, books: History) -> None:
    for name, answer, order in EVERY_VIEW:
        expected = answer(books)
        if expected:
            assert_view(engine, name, expected, order)
        else:
            assert rows(engine, f"SELECT * FROM {name}") == [], name


def test_every_view_is_the_same_after_daily_closes_is_emptied_and_rebuilt(engine: Engine, tmp_path: Path) -> None:
    History(week().books + edges().books).load(engine, tmp_path / "books")
    before = every_view(engine)
    assert all(before[name] for name in ("account_daily", "position_daily", "position_changes", "latest_positions"))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM daily_closes"))
    emptied = every_view(engine)
    assert emptied["account_daily"] == [] and emptied["latest_accounts"] == []  # the views do read the table
    with engine.begin() as connection:
        rebuild(connection)
    assert every_view(engine) == before
    assert_closes_are_the_rebuilt_ones(engine)


def test_snapshots_loaded_in_any_order_give_the_books_answers(engine: Engine, tmp_path: Path) -> None:
    """Older days imported after newer ones: each changes its own close and the next day's previous day."""
    books = week().books + edges().books
    random.Random(20261202).shuffle(books)
    history = History(books)
    history.load(engine, tmp_path / "shuffled")
    assert_views_answer_the_books(engine, history)
    assert_closes_are_the_rebuilt_ones(engine)


def test_newest_first_then_a_day_between_two_days(engine: Engine, tmp_path: Path) -> None:
    books = list(reversed(week().books))
    history = History(books)
    history.load(engine, tmp_path / "reversed")
    assert_views_answer_the_books(engine, history)
    assert_closes_are_the_rebuilt_ones(engine)

    # A day between two loaded days of NXT (16th and 19th): the 19th's change is now against it.
    between = Book(
        "5000001111", "NXT", datetime(2026, 11, 18, 10, 50, tzinfo=UTC), (Line("005930", "삼성전자", 1, 1, 1),)
    )
    days = {b.trade_date for b in books if (b.account_no, b.exchange) == ("5000001111", "NXT")}
    assert min(days) < between.trade_date < max(days) and between.trade_date not in days
    later = History([*books, between])
    import_books(engine, [between], tmp_path / "between")
    later.read_ids(engine)
    assert_views_answer_the_books(engine, later)
    assert_closes_are_the_rebuilt_ones(engine)


def test_a_replay_that_rebuilds_every_snapshot_moves_the_closes_to_the_new_rows(engine: Engine, tmp_path: Path) -> None:
    history = week()
    history.load(engine, tmp_path / "week")
    old = {row["snapshot_id"] for row in rows(engine, CLOSES)}
    with engine.begin() as connection:  # stored rows that no longer read as their pages say: replay rebuilds them
        connection.execute(text("UPDATE account_snapshots SET deposit = COALESCE(deposit, 0) + 1"))
    report = replay(engine, runs_to_replay(engine))
    assert report.rebuilt == len(history.loaded())
    history.read_ids(engine)  # replay rebuilds oldest run first: new ids keep the load order
    assert not old & {row["snapshot_id"] for row in rows(engine, CLOSES)}
    assert_views_answer_the_books(engine, history)
    assert_closes_are_the_rebuilt_ones(engine)


def test_two_snapshots_at_one_moment_close_on_the_greater_id_whenever_either_comes(
    engine: Engine, tmp_path: Path
) -> None:
    day = datetime(2026, 11, 18, 6, 45, 0, 123456, tzinfo=UTC)
    account, exchange = "5000009999", "KRX"

    def book(at: datetime, quantity: int) -> Book:
        return Book(account, exchange, at, (Line("005930", "삼성전자", quantity, 70000, 65000),))

    books = [
        book(day + timedelta(days=1), 5),  # the next day first: its previous day changes twice below
        book(day, 2),
        book(day - timedelta(hours=1), 9),  # earlier the same day: not the close
        book(day, 3),  # the same moment as the close, a greater id: the close now
    ]
    history = History([])
    for index, one in enumerate(books):
        history.books.append(one)
        import_books(engine, [one], tmp_path / f"b{index}")
        history.read_ids(engine)
        assert_views_answer_the_books(engine, history)
        assert_closes_are_the_rebuilt_ones(engine)
    (first, second) = rows(engine, CLOSES)
    assert (first["snapshot_id"], first["snapshots"]) == (history.ids[3], 3)
    assert (second["previous_trade_date"], second["previous_snapshot_id"]) == (date(2026, 11, 18), history.ids[3])
    changes = rows(engine, "SELECT previous_quantity, quantity FROM position_changes")
    assert changes == [{"previous_quantity": 3, "quantity": 5}]


def test_snapshots_taken_from_the_api_keep_the_closes(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    take_snapshots(sim_url, simulator, engine, tmp_path, rounds=3)
    assert {row["snapshots"] for row in rows(engine, CLOSES)} == {3}
    assert_closes_are_the_rebuilt_ones(engine)


def test_migration_0007_fills_the_table_and_its_downgrade_gives_the_views_their_own_closes_back(
    engine: Engine, tmp_path: Path
) -> None:
    books = week()
    books.load(engine, tmp_path / "week")
    older = tuple(view.name for view in VIEWS if not view.requires)  # those revision 0006 has
    before = every_view(engine)
    downgrade(engine, "0006")
    assert "daily_closes" not in inspect(engine).get_table_names()
    assert set(inspect(engine).get_view_names()) == set(older)
    assert every_view(engine, older) == {name: before[name] for name in older}  # they compute the closes again
    migrate(engine)  # fills the table from the snapshots there are
    assert_closes_are_the_rebuilt_ones(engine)
    assert every_view(engine) == before
    assert_views_answer_the_books(engine, books)


def test_keeping_a_day_reads_only_its_pair_and_day(sqlite_url: str) -> None:
    """The statements a load runs to keep a day's close read the pair's index over that day alone: their work (SQLite
    VM steps, counted, not timed) does not grow with the pair's other days nor with other accounts' snapshots of the
    same day, so a load stays as cheap after years of history and beside a thousand accounts."""
    engine = make_engine(sqlite_url)
    migrated(engine)
    day = date(2026, 11, 20)

    def add(account_no: str, first: datetime, count: int, step: timedelta) -> None:
        with engine.begin() as connection:
            for n in range(count):
                moment = first + n * step
                run_id = connection.execute(
                    text("INSERT INTO etl_runs (trigger, status, started_at) VALUES ('import', 'success', :at)"),
                    {"at": f"{moment:%Y-%m-%d %H:%M:%S.%f}"},
                ).lastrowid
                connection.execute(
                    text(
                        "INSERT INTO account_snapshots (run_id, account_no, exchange, captured_at, trade_date, "
                        "position_count) VALUES (:run, :account, 'KRX', :at, :day, 0)"
                    ),
                    {
                        "run": run_id,
                        "account": account_no,
                        "at": f"{moment:%Y-%m-%d %H:%M:%S.%f}",
                        "day": trade_date_of(moment.replace(tzinfo=UTC)).isoformat(),
                    },
                )
            rebuild(connection)

    def steps() -> int:
        """VM steps of keeping `day` of account A, rolled back."""
        counted = 0

        def count() -> int:
            nonlocal counted
            counted += 1
            return 0

        connection = sqlite3.connect(make_url(sqlite_url).database or "")
        connection.set_progress_handler(count, 1)
        for statement, values in day_statements(engine.dialect, [("A", "KRX", day)]):
            connection.execute(statement, values)
        connection.set_progress_handler(None, 1)
        connection.rollback()
        connection.close()
        return counted

    add("A", datetime(2026, 11, 20, 0, 30), 5, timedelta(hours=1))  # 09:30 KST on
    alone = steps()
    add("A", datetime(2025, 11, 20, 0, 30), 400, timedelta(days=1))  # a year of the pair's other days, after too
    add("B", datetime(2026, 11, 20, 0, 0), 400, timedelta(seconds=30))  # another account's snapshots of the day
    beside = steps()
    assert 0 < alone and beside < alone * 1.5, (alone, beside)


def test_the_first_and_last_days_of_the_calendar_load(engine: Engine, tmp_path: Path) -> None:
    """A snapshot on 9999-12-31 in Seoul has no next day, one on 0001-01-01 began before 0001-01-01 in UTC: both
    keep their close."""
    page = {"entr": "000000017534", "stk_cntr_remn": [], "return_code": 0, "return_msg": "OK"}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    for moment in (datetime(9999, 12, 31, 14, 0, tzinfo=UTC), datetime(1, 1, 1, 0, 30, tzinfo=UTC)):
        now = Clock(moment)  # loaded as it is taken: a capture ahead of the clock is refused
        assert import_pages(engine, [path], account_no="A", exchange="KRX", captured_at=moment, clock=now) == "loaded"
    assert [row["trade_date"] for row in rows(engine, CLOSES)] == [date(1, 1, 1), date(9999, 12, 31)]
    assert_closes_are_the_rebuilt_ones(engine)
