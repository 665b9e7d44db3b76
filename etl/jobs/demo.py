"""The demo: a few weeks of made-up history, built the way the daemon builds the real one, then three questions
answered from the analyst views.

The simulator serves a seeded market (etl.kiwoom.market) on a free loopback port; each past slot is snapshotted by
`Snapshotter.take` with a clock set to that slot, so captured_at, trade_date and scheduled_for are the past's; a
closed weekday gets the `skipped` runs a daemon writes. It never touches the real API.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextualSelect, delete, inspect, select, text

from etl.clock import KST, krx_calendar, local_text, utc_now
from etl.console import table
from etl.errors import EtlError
from etl.jobs.report import Selection, read_report
from etl.jobs.report_html import write_page
from etl.jobs.snapshot import Snapshotter
from etl.kiwoom.market import SLOTS, Calendar, DemoMarket, demo_calendar, slot_times
from etl.kiwoom.simulator import Simulator, serve
from etl.settings import Account, Secret, Settings, mask_database_url
from etl.store.engine import storage_errors, transaction
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse, Reason, RunStatus
from etl.store.runs import record_unrun
from etl.store.schema import connected, migrate, sqlite_file
from etl.store.views import ACCOUNT_DAILY, LATEST_POSITIONS, POSITION_CHANGES, View

DEMO_PREFIX = "demo-"
EXCHANGES = ("KRX", "NXT")
SCHEDULED, END_OF_DAY = "scheduled", "end_of_day"  # the daemon's triggers: the demo's rows read like its own


class _SlotClock:
    """The time the snapshotter sees: the slot being replayed, not the wall clock."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


def run_demo(
    database_url: str,
    *,
    days: int,
    seed: int,
    zone: str,
    echo: Callable[[str], None],
    now: Callable[[], datetime] = utc_now,
    report: Path | None = None,
) -> bool:
    """Build `days` trading days of demo history ending at `now`, print answers from the views and write the HTML
    `report` of it; True when every snapshot loaded. Times are printed in `zone`."""
    moment = now()
    calendar = demo_calendar(moment, days, krx_calendar())
    market = DemoMarket(calendar.trading, seed)
    simulator = Simulator(accounts=market.accounts(0, 0), page_size=5, rate_per_second=1000, burst=100, moves=False)
    with connected(database_url, migrated=False) as engine:
        _refuse_foreign_data(engine, database_url)  # before anything is migrated or written
        before, after = migrate(engine)
        replaced = _forget_earlier_demo(engine)
        with serve(simulator) as base_url, tempfile.TemporaryDirectory(prefix="kiwoom-etl-demo-") as state:
            settings = Settings(
                base_url=base_url,
                database_url=database_url,
                state_dir=Path(state),
                accounts=tuple(
                    Account(Secret(a.appkey), Secret(a.secretkey), name=f"{DEMO_PREFIX}{i}", exchanges=EXCHANGES)
                    for i, a in enumerate(simulator.accounts, start=1)
                ),
                rate_per_second=1000.0,  # the simulator allows it; the real API's pace would make this take hours
                rate_burst=100,
                timezone=zone,
            )
            echo(f"Simulator: {base_url} (2 made-up accounts on KRX and NXT, {simulator.page_size} lines per page)")
            echo(f"Database:  {mask_database_url(database_url)} (schema {before or 'new'} → {after})")
            if replaced:
                echo(f"           (the {replaced} snapshot(s) of an earlier demo run were replaced)")
            slots = ", ".join(f"{at:%H:%M}" for at in SLOTS)
            echo(
                f"History:   {len(calendar.trading)} trading days, {calendar.trading[0]} to {calendar.trading[-1]}, "
                f"snapshots at {slots} KST (the last is the day's close), seed {seed}\n"
            )
            started = time.monotonic()
            snapshotter = Snapshotter(settings, engine, clock=(clock := _SlotClock()))
            try:
                loaded, total = _build(engine, snapshotter, simulator, market, calendar, moment, clock, echo)
            finally:
                snapshotter.close()
        echo(f"\n{loaded} of {total} snapshot(s) loaded in {time.monotonic() - started:.1f} s.\n")
        _answer(engine, calendar, zone, echo)
        if report is not None:
            _write_report(engine, report, zone, moment, mask_database_url(database_url), echo)
    return loaded == total


def _write_report(
    engine: Engine, path: Path, zone: str, moment: datetime, database: str, echo: Callable[[str], None]
) -> None:
    """The report `kiwoom-etl report` writes, of the whole demo history."""
    try:
        size = write_page(read_report(engine, Selection(), timezone=zone, generated_at=moment, database=database), path)
    except OSError as exc:
        raise EtlError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    echo(f"The report of this history: {path.resolve()} ({size / 1024:,.0f} KiB; it opens offline in a browser).")
    echo(
        "(No daemon keeps these made-up accounts fresh: inside trading hours `kiwoom-etl status` calls them STALE, "
        "as it would a real account whose daemon stopped.)"
    )


def _build(
    engine: Engine,
    snapshotter: Snapshotter,
    simulator: Simulator,
    market: DemoMarket,
    calendar: Calendar,
    now: datetime,
    clock: _SlotClock,
    echo: Callable[[str], None],
) -> tuple[int, int]:
    """Every slot of every trading day through the real path, and the skipped runs of closed days; one line a day."""
    loaded = total = 0
    names = [account.name or "" for account in snapshotter.settings.accounts]
    for day in calendar.all_days():
        if day in calendar.closed:
            written = record_unrun(engine, _skipped_rows(day, calendar.closed[day], names))
            echo(f"{day:%Y-%m-%d %a}  closed    {calendar.closed[day]} ({written} skipped runs recorded)")
            continue
        index = calendar.trading.index(day)
        slots = slot_times(day, now)
        day_loaded = 0
        for number, slot in enumerate(slots):
            simulator.set_accounts(market.accounts(index, number))
            clock.now = slot
            trigger = END_OF_DAY if number == len(SLOTS) - 1 else SCHEDULED
            results = snapshotter.take(trigger=trigger, scheduled_for=slot)
            day_loaded += sum(r.ok for r in results)
            total += len(results)
        loaded += day_loaded
        trades = "; ".join(f"{names[account - 1]} {done.words()}" for account, done in market.trades(index))
        echo(f"{day:%Y-%m-%d %a}  {day_loaded:>2} loaded  {trades}".rstrip())
    return loaded, total


def _skipped_rows(day: date, why: str, names: Sequence[str]) -> list[dict[str, Any]]:
    """The rows a daemon writes for a closed day: one per account × exchange, at the first slot, skipped."""
    first = datetime.combine(day, SLOTS[0], tzinfo=KST).astimezone(UTC)
    return [
        {
            "trigger": SCHEDULED,
            "status": RunStatus.SKIPPED,
            "account_no": name,
            "exchange": exchange,
            "scheduled_for": first,
            "started_at": first,
            "finished_at": first,
            "reason": Reason.MARKET_CLOSED,
            "detail": why,
        }
        for name in names
        for exchange in EXCHANGES
    ]


@dataclass(frozen=True)
class Question:
    """A question an analyst asks, as a query of one view."""

    title: str
    view: View
    columns: tuple[str, ...]
    rest: str  # WHERE … ORDER BY …

    @property
    def sql(self) -> str:
        return f"SELECT {', '.join(self.columns)}\nFROM {self.view.name}\n{self.rest}"

    def query(self) -> TextualSelect:
        """The SQL, its columns read with the view's types (exact rates, aware times) on either backend."""
        types = self.view.table().c
        return text(self.sql).columns(**{name: types[name].type for name in self.columns})


def questions(calendar: Calendar) -> list[Question]:
    """What the demo asks the views at the end."""
    week = calendar.trading[max(0, len(calendar.trading) - 5)]
    return [
        Question(
            "Net assets at each day's close, the last 5 trading days",
            ACCOUNT_DAILY,
            ("account_no", "trade_date", "time", "snapshots", "deposit_d2", "total_evaluation_amount")
            + ("credit_loan_total", "net_assets", "net_assets_change"),
            f"WHERE exchange = 'KRX' AND trade_date >= '{week:%Y-%m-%d}'\nORDER BY account_no, trade_date",
        ),
        Question(
            "Every change in the holdings from one close to the next",
            POSITION_CHANGES,
            ("trade_date", "account_no", "stock_code", "stock_name", "previous_quantity", "quantity", "change"),
            "WHERE exchange = 'KRX'\nORDER BY trade_date, account_no, stock_code",
        ),
        Question(
            "The newest holdings",
            LATEST_POSITIONS,
            ("account_no", "time", "stock_code", "stock_name", "credit_type", "quantity", "current_price")
            + ("evaluation_amount", "profit_loss", "profit_loss_rate", "weight_pct"),
            "WHERE exchange = 'KRX'\nORDER BY account_no, line_no",
        ),
    ]


def _answer(engine: Engine, calendar: Calendar, zone: str, echo: Callable[[str], None]) -> None:
    """Ask the views the questions and print the answers, times in `zone` with the zone named."""
    echo(
        "Three questions answered from the analyst views (KRX only: the NXT rows describe the same account, so a "
        f"view never adds them up). The views keep UTC; times below are in {zone}.\n"
    )
    with storage_errors(engine, "reading the views"), engine.connect() as connection:
        for question in questions(calendar):
            result = connection.execute(question.query())
            rows = [tuple(_shown(value, zone) for value in row) for row in result]
            echo(f"-- {question.title} ({question.view.name})\n{question.sql};\n\n{table(question.columns, rows)}\n")


def _shown(value: object, zone: str) -> object:
    if isinstance(value, datetime):
        return local_text(value, zone)
    if isinstance(value, float):
        return f"{value:.2f}"  # a weight in percent
    return value


def _forget_earlier_demo(engine: Engine) -> int:
    """Delete what an earlier demo run wrote (only demo accounts are there: _refuse_foreign_data saw to it);
    return how many snapshots that was."""
    demo = f"{DEMO_PREFIX}%"
    runs = select(EtlRun.id).where(EtlRun.account_no.like(demo))
    snapshots = select(AccountSnapshot.id).where(AccountSnapshot.account_no.like(demo))
    with transaction(engine, "replacing an earlier demo") as connection:
        connection.execute(delete(PositionSnapshot).where(PositionSnapshot.snapshot_id.in_(snapshots)))
        connection.execute(delete(RawResponse).where(RawResponse.run_id.in_(runs)))
        removed = connection.execute(delete(AccountSnapshot).where(AccountSnapshot.account_no.like(demo))).rowcount
        connection.execute(delete(EtlRun).where(EtlRun.account_no.like(demo)))
    return int(removed or 0)


def _refuse_foreign_data(engine: Engine, database_url: str) -> None:
    """EtlError when the database holds a non-demo account; reads only, and never creates a SQLite file."""
    # The demo writes made-up accounts; never mix them into a database that holds real history.
    path = sqlite_file(engine)
    if path is not None and not path.exists():
        return  # nothing there yet: connecting would create the file, and migrating will
    with storage_errors(engine, "checking for real accounts"), engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        for table_name, what in (("account_snapshots", "snapshots"), ("etl_runs", "runs")):
            if table_name not in present:
                continue
            foreign = connection.execute(
                text(f"SELECT account_no FROM {table_name} WHERE account_no NOT LIKE :demo LIMIT 1"),  # noqa: S608
                {"demo": f"{DEMO_PREFIX}%"},
            ).scalar()
            if foreign is not None:
                raise EtlError(
                    f"{mask_database_url(database_url)} already holds real {what} (account {foreign}); "
                    "the demo will not mix made-up data into it: pass --database-url sqlite:///demo.db"
                )
