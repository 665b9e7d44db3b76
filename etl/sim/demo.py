"""The demo: a few weeks of made-up history, built the way the daemon builds the real one, then questions answered
from the analyst views and the returns.

The simulator serves a seeded market (etl.sim.market) for two accounts, and a third account whose whole ledger
is a seeded history (etl.sim.history: deposits, a withdrawal, trades with their fees and taxes, a dividend, a credit
line, a transfer in and a remark no mapping knows), on a free loopback port. Each past slot is snapshotted by
`Snapshotter.take` with a clock set to that slot, so captured_at, trade_date and scheduled_for are the past's; each
trading day's evening takes the third account's totals (kt00017); a closed weekday gets the `skipped` runs a daemon
writes. Then the daily estimates (kt00002) of the third account's weeks before its first snapshot, its ledger
(kt00015) and its realised profit (ka10074) are loaded, as `kiwoom-etl backfill` loads them, and the instrument
master and the daily bars of the indexes and the stocks, as the daemon takes them. The two market accounts have
neither ledger nor day totals: the simulator keeps no ledger of their trades. It never touches the real API.
"""

from __future__ import annotations

import tempfile
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, TextualSelect, delete, func, inspect, select, text

from etl.apis import APIS, SNAPSHOT, Base
from etl.apis.instruments import Instrument
from etl.app.collect import DayJobs, backfill, day_totals, take_snapshots
from etl.app.market import MarketJobs, daily_bars, refresh_instruments
from etl.app.outputs import returns, write_report
from etl.app.realtime import Realtime
from etl.clock import KST, CalendarCorrections, KrxCalendar, krx_calendar, local_text, utc_now
from etl.console import table
from etl.errors import EtlError
from etl.files import Protected, check_output
from etl.read.report_html import is_report
from etl.read.views import ACCOUNT_DAILY, LATEST_POSITIONS, POSITION_CHANGES, REALIZED_PNL, View
from etl.redact import mask_urls
from etl.schedule import Due, Schedule
from etl.settings import Account, Secret, Settings
from etl.sim.accounts import SimAccount, make_account
from etl.sim.feed import serve_feed
from etl.sim.history import MIN_WEEKDAYS, History, make_history
from etl.sim.market import SLOTS, Calendar, DemoMarket, demo_calendar, slot_times
from etl.sim.simulator import Simulator, serve
from etl.sim.stocks import STOCKS
from etl.store.engine import storage_errors, transaction
from etl.store.models import (
    AccountSnapshot,
    EtlRun,
    Execution,
    ExecutionConflict,
    PositionSnapshot,
    RawResponse,
    Reason,
    RunStatus,
)
from etl.store.runs import record_unrun, unrun_rows
from etl.store.schema import connected, migrate, sqlite_file

DEMO_PREFIX = "demo-"
EXCHANGES = ("KRX", "NXT")
LEDGER_ACCOUNT = 3  # the account whose ledger is a history: deposits, a withdrawal, a dividend, …
EVENING = clock_time(20, 15)  # when the daemon takes the day's totals (the [ledger] at default)
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
    corrections: CalendarCorrections | None = None,
    protected: Protected | None = None,
    force: bool = False,
) -> bool:
    """Build `days` trading days of demo history ending at `now`, on the KRX calendar with the config's [calendar]
    `corrections`, print answers from the views and write the HTML `report` of it; True when every snapshot
    loaded. Times are printed in `zone`.

    The report replaces a kiwoom-etl report (an earlier run's) at `report`, any other file only with `force`, and
    never a `protected` one (by default the demo's own database): refused before anything is built.
    """
    if protected is None:
        protected = Protected.of([database_url], None)
    if report is not None:
        force = force or is_report(report)
        check_output(report, protected, force=force, option="--report")
    moment = now()
    krx = krx_calendar(corrections)
    calendar = demo_calendar(moment, days, krx)
    market = DemoMarket(calendar.trading, seed)
    history = _ledger_history(calendar, market, seed)
    ledgered = replace(make_account(LEDGER_ACCOUNT, 0), history=history)
    simulator = Simulator(
        accounts=[*market.accounts(0, 0), ledgered],
        page_size=5,
        rate_per_second=1000,
        burst=100,
        moves=False,
        market=market,  # the charts' bars close where the snapshots do
    )
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
            echo(
                f"Simulator: {base_url} (3 made-up accounts on KRX and NXT, {simulator.page_size} lines per page; "
                f"{DEMO_PREFIX}{LEDGER_ACCOUNT} with a ledger of deposits, a withdrawal, trades and a dividend)"
            )
            echo(f"Database:  {mask_urls(database_url)} (schema {before or 'new'} → {after})")
            if replaced:
                echo(f"           (the {replaced} snapshot(s) of an earlier demo run were replaced)")
            slots = ", ".join(f"{at:%H:%M}" for at in SLOTS)
            echo(
                f"History:   {len(calendar.trading)} trading days, {calendar.trading[0]} to {calendar.trading[-1]}, "
                f"snapshots at {slots} KST (the last is the day's close), seed {seed}\n"
            )
            started = time.monotonic()
            jobs = DayJobs(settings, engine, clock=(clock := _SlotClock()))
            # The ledger, its day totals and Kiwoom's realised profit of the ledger account only: the simulator has
            # no ledger of the market's accounts' trades, and an empty one read would pass for a ledger in which they
            # never traded (each sale's profit 0, a day's totals without its buys).
            books = DayJobs(
                settings.with_overrides(accounts=(settings.accounts[LEDGER_ACCOUNT - 1],)),
                engine,
                jobs.fetcher,
                clock=clock,
            )
            try:
                loaded, total = _build(
                    engine, (jobs, books), simulator, (market, ledgered), (calendar, krx), moment, clock, echo
                )
                _ledger(engine, books, history, calendar, moment, clock, echo)
                _market(engine, jobs, calendar, echo)
            finally:
                jobs.close()
        echo(f"\n{loaded} of {total} snapshot(s) loaded in {time.monotonic() - started:.1f} s.\n")
        _answer(engine, calendar, zone, echo)
        _returns(engine, echo)
        if report is not None:
            # The report `kiwoom-etl report` writes, of the whole demo history.
            written = write_report(
                settings, engine, report, protected, generated_at=moment, force=force, option="--report"
            )
            echo(
                f"The report of this history: {report.resolve()} ({written.size / 1024:,.0f} KiB; it opens offline in "
                "a browser)."
            )
            echo(
                "(No daemon keeps these made-up accounts fresh: inside trading hours `kiwoom-etl status` calls them "
                "STALE, as it would a real account whose daemon stopped.)"
            )
    return loaded == total


def _ledger_history(calendar: Calendar, market: DemoMarket, seed: int) -> History:
    """The ledger account's history: from the weekday before the first trading day (its opening deposit, a day
    kt00002 fills), so that the transfer in of its second weekday lands on a day with a snapshot, whose close
    values it; a short demo starts it earlier, to hold the MIN_WEEKDAYS its story needs. Its prices are the
    market's closes, so that a stock closes at one price in every account: a closed day has the close before it,
    a day before the market's first the first day's opening price."""
    first, last = calendar.trading[0], calendar.trading[-1]
    start = first - timedelta(days=1)
    while start.weekday() >= 5 or _weekdays(start, last) < MIN_WEEKDAYS:
        start -= timedelta(days=1)

    def close(code: str, day: date) -> int:
        if day < first:
            return market.price(code, 0, 0)
        index = bisect_right(calendar.trading, day) - 1
        return market.price(code, index, len(SLOTS) - 1)

    return make_history(start, (last - start).days + 1, seed=seed, price=close)


def _weekdays(first: date, last: date) -> int:
    return sum(1 for n in range((last - first).days + 1) if (first + timedelta(days=n)).weekday() < 5)


def _build(
    engine: Engine,
    day_jobs: tuple[DayJobs, DayJobs],
    simulator: Simulator,
    accounts: tuple[DemoMarket, SimAccount],
    calendars: tuple[Calendar, KrxCalendar],
    now: datetime,
    clock: _SlotClock,
    echo: Callable[[str], None],
) -> tuple[int, int]:
    """Every slot of every trading day through the real path, each evening's totals of the ledger account (the
    second of `day_jobs`), and the skipped runs of closed days; one line a day."""
    jobs, books = day_jobs
    market, ledgered = accounts
    calendar, krx = calendars
    settings = jobs.settings
    loaded = total = 0
    names = [account.name or "" for account in settings.accounts]
    for day in calendar.all_days():
        if day in calendar.closed:
            first = datetime.combine(day, SLOTS[0], tzinfo=KST).astimezone(UTC)  # where a daemon records a closed day
            closed = [Due(exchange, SCHEDULED, calendar.closed[day]) for exchange in EXCHANGES]
            skipped = unrun_rows(
                first, closed, RunStatus.SKIPPED, Reason.MARKET_CLOSED, [(n, EXCHANGES) for n in names], first
            )
            written = record_unrun(engine, skipped)
            booked = _booked(ledgered, names[LEDGER_ACCOUNT - 1], day)
            echo(
                f"{day:%Y-%m-%d %a}  closed    {calendar.closed[day]} ({written} skipped runs recorded)"
                + (f"; {booked} (joins the next day's flows)" if booked else "")
            )
            continue
        index = calendar.trading.index(day)
        delay = calendar.delays.get(day, timedelta(0))
        slots = slot_times(day, now, delay=delay)
        simulator.today = lambda day=day: day  # the ledger account answers as of this day
        day_loaded = 0
        live = ""
        for number, slot in enumerate(slots):
            simulator.set_accounts([*market.accounts(index, number), ledgered])
            clock.now = slot
            trigger = END_OF_DAY if number == len(SLOTS) - 1 else SCHEDULED
            taken = take_snapshots(
                settings, engine, fetcher=jobs.fetcher, clock=clock, trigger=trigger, scheduled_for=slot
            )
            day_loaded += taken.loaded
            total += len(taken.results)
            if day == calendar.trading[-1] and number == 0:
                # The last day's morning, between its first two slots: the daemon listening to the feed.
                until = slots[1] if len(slots) > 1 else now
                live = _live(engine, jobs, simulator, ledgered, clock, slot, until)
        evening = datetime.combine(day, EVENING, tzinfo=KST)
        if evening <= now:
            clock.now = evening
            # Forced: the evening is the past's, in Seoul, whatever zone the settings print times in.
            day_totals(books, krx, force=True, trigger=SCHEDULED, slot=evening)
        loaded += day_loaded
        trades = "; ".join(f"{names[account - 1]} {done.words()}" for account, done in market.trades(index))
        booked = _booked(ledgered, names[LEDGER_ACCOUNT - 1], day)
        close = datetime.combine(day, SLOTS[-1]) + delay
        late = f"a [calendar] session: the close's snapshot at {close:%H:%M} KST" if delay else ""
        echo(f"{day:%Y-%m-%d %a}  {day_loaded:>2} loaded  {'; '.join(x for x in (late, trades, booked) if x)}".rstrip())
        if live:
            echo(live)
    return loaded, total


# The ledger account's orders of the last morning, minutes after its first slot: more of its largest holding in two
# fills, a stock it did not hold, and a buy it cancels (an order event, no fill). Buys only: a sale would be in
# Kiwoom's realised profit at once and in the ledger two days later, and the demo's checks would show the wait.
LIVE_ORDERS = (timedelta(minutes=17), timedelta(minutes=52), timedelta(minutes=83))
LIVE_WAIT = 60.0  # seconds the demo waits for the feed before it gives up: a guard against hanging


def _live(
    engine: Engine,
    jobs: DayJobs,
    simulator: Simulator,
    account: SimAccount,
    clock: _SlotClock,
    first: datetime,
    until: datetime,
) -> str:
    """The ledger account's last morning with the listener on (etl.app.realtime, as `run` listens with [realtime]
    enabled): orders placed in the simulator are pushed on its feed, their fills kept in `executions` and each
    change followed by an event snapshot; returns a line that says what happened."""
    assert account.history is not None
    positions = account.history.positions(first.astimezone(KST).date())
    held = max(positions, key=lambda p: p.quantity, default=None)
    new = next((stock for stock in STOCKS if stock[0] not in {p.code for p in positions}), None)
    if held is None or new is None:
        return ""
    orders = ((held.code, 10, 2, "filled"), (new[0], 5, 1, "filled"), (held.code, 5, 1, "cancelled"))  # all buys
    configured = jobs.settings.accounts[LEDGER_ACCOUNT - 1]
    with serve_feed(simulator.feed) as feed:
        settings = replace(
            jobs.settings,
            accounts=(configured,),
            realtime_enabled=True,
            realtime_url=feed,
            realtime_settle=timedelta(seconds=1),
            realtime_min_gap=timedelta(seconds=1),
        )
        clock.now = first + timedelta(minutes=1)
        simulator.now = clock
        # At all hours: the demo's calendar is made up (its closed weekday), and the morning is inside the windows.
        schedule = Schedule.build(
            timedelta(minutes=5), settings.timezone, settings.windows, settings.end_of_day, all_hours=True
        )
        realtime = Realtime(settings, engine, jobs.fetcher, schedule, clock=clock)
        realtime.start()
        try:
            _await(lambda: _runs(engine, configured, "catch_up") == len(EXCHANGES), "the catch-up snapshots")
            fills = events = 0
            for after, (code, quantity, parts, outcome) in zip(LIVE_ORDERS, orders, strict=True):
                if first + after >= until:
                    break
                clock.now = first + after
                done = simulator.order(account.acct_no, code, quantity, "buy", fills=parts, outcome=outcome)
                if not done.fills:
                    continue
                fills += len(done.fills)
                events += len(EXCHANGES)
                _await(partial(_settled, engine, configured, realtime, fills, events), "the fills and their snapshots")
        finally:
            realtime.stop()
            simulator.now = None
    return (
        f"{'':16}{configured.name} listened to the feed in the morning: {fills} fill(s) of {held.name} and {new[1]} "
        f"kept in `executions`, each order followed by an event snapshot of KRX and NXT ({events}); a cancelled "
        "order was pushed and not kept"
    )


def _await(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + LIVE_WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise EtlError(f"the demo's feed: gave up waiting for {what}")
        time.sleep(0.05)


def _settled(engine: Engine, account: Account, realtime: Realtime, fills: int, events: int) -> bool:
    """Whether `fills` fills are stored and `events` event snapshots taken, none waiting."""
    return _fills(engine, account) == fills and _runs(engine, account, "event") == events and realtime.events.idle()


def _runs(engine: Engine, account: Account, trigger: str) -> int:
    with storage_errors(engine, "counting the event snapshots"), engine.connect() as connection:
        found = select(func.count()).where(
            EtlRun.account_no == account.name, EtlRun.trigger == trigger, EtlRun.status == RunStatus.SUCCESS
        )
        return int(connection.execute(found).scalar_one())


def _fills(engine: Engine, account: Account) -> int:
    with storage_errors(engine, "counting the fills"), engine.connect() as connection:
        return int(connection.execute(select(func.count()).where(Execution.account_no == account.name)).scalar_one())


def _booked(account: SimAccount, name: str, day: date) -> str:
    """What the ledger account's ledger books on `day`, in words."""
    assert account.history is not None
    words = [
        (f"{e.remark} {e.name} {e.quantity}" if e.code and e.kind != "dividend" else f"{e.remark} {e.amount:,}")
        + (f" (done {e.trade_day:%m-%d})" if e.trade_day != e.day else "")
        for e in account.history.events
        if e.day == day
    ]
    return f"{name} books {', '.join(words)}" if words else ""


def _ledger(
    engine: Engine,
    jobs: DayJobs,
    history: History,
    calendar: Calendar,
    now: datetime,
    clock: _SlotClock,
    echo: Callable[[str], None],
) -> None:
    """The daily estimates of the weeks before the ledger account's first snapshot, its ledger and Kiwoom's realised
    profit, as `kiwoom-etl backfill` loads them (`jobs` are the ledger account's)."""
    clock.now = now
    before = calendar.trading[0] - timedelta(days=1)
    filled = backfill(jobs.settings, engine, history.start, before, fetcher=jobs.fetcher, clock=clock)
    ledger, estimates = filled.ledger, filled.estimates
    lines = sum(sum(r.load.added.values()) for r in ledger)
    other = sum(r.load.added["other"] for r in ledger)
    echo(
        f"\nLedger (kt00015): {lines} line(s) loaded since {history.start}, {other} of them `other` (a remark the "
        "mapping does not know: `kiwoom-etl status` counts it). Daily estimates (kt00002): "
        f"{sum(r.days for r in estimates)} day(s) before the first snapshot, {history.start} to {before}. "
        f"Kiwoom's realised profit (ka10074): {sum(r.days for r in filled.realized)} day(s) with a sale, held "
        "against the ledger in realized_checks."
    )


def _market(engine: Engine, jobs: DayJobs, calendar: Calendar, echo: Callable[[str], None]) -> None:
    """The instrument master and the daily bars of the demo's weeks, as the daemon takes them (etl.app.market)."""
    market = MarketJobs(jobs.settings, engine, jobs.fetcher, clock=jobs.clock)
    listed = refresh_instruments(market)
    bars = daily_bars(market, calendar.trading[0], calendar.trading[-1])
    with storage_errors(engine, "counting the instruments"), engine.connect() as connection:
        counted = connection.execute(select(Instrument.market, func.count()).group_by(Instrument.market))
        markets = {str(row[0]): int(row[1]) for row in counted}
    echo(
        "Market data: instruments (ka10099, ka10100) "
        + ", ".join(f"{name} {markets[name]}" for name in sorted(markets))
        + f"; daily bars of the indexes {', '.join(jobs.settings.benchmark_indexes)} (ka20006) and of "
        f"{len(bars.stocks[0].codes) if bars.stocks else 0} stocks held or traded (ka10081): "
        f"{sum(r.rows for r in bars.results)} bar(s)"
        + ("" if listed.ok and bars.ok else " (some failed: see the log)")
        + "."
    )


def _returns(engine: Engine, echo: Callable[[str], None]) -> None:
    """What `kiwoom-etl returns` prints for the ledger account, against KOSPI: a deposit is not a return."""
    name = f"{DEMO_PREFIX}{LEDGER_ACCOUNT}"
    asked = f"kiwoom-etl returns --account {name} --benchmark 001"
    echo(f"How well {name} was invested, deposits set aside, and against KOSPI (`{asked}`):\n")
    for words in returns(engine, account=name, benchmark="001").texts():
        echo(words + "\n")


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
        Question(
            "What each sale earned, at the moving-average cost (이동평균법): a stock sold out is still here (demo-3's"
            " sales: the account with a ledger)",
            REALIZED_PNL,
            ("account_no", "trade_date", "stock_code", "stock_name", "quantity", "sell_amount", "cost_basis")
            + ("commission", "tax", "realized_pnl", "average_cost"),
            "ORDER BY account_no, trade_date, stock_code",
        ),
    ]


def _answer(engine: Engine, calendar: Calendar, zone: str, echo: Callable[[str], None]) -> None:
    """Ask the views the questions and print the answers, times in `zone` with the zone named."""
    echo(
        "Four questions answered from the analyst views (KRX only: the NXT rows describe the same account, so a "
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
        account_tables = {table for api in APIS if api.per_account and api is not SNAPSHOT for table in api.tables}
        for table in reversed(Base.metadata.sorted_tables):  # each before the tables it refers to
            if table in account_tables:
                connection.execute(delete(table).where(table.c.account_no.like(demo)))
        fills = select(Execution.id).where(Execution.account_no.like(demo))
        connection.execute(delete(ExecutionConflict).where(ExecutionConflict.execution_id.in_(fills)))
        connection.execute(delete(Execution).where(Execution.account_no.like(demo)))
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
                    f"{mask_urls(database_url)} already holds real {what} (account {foreign}); "
                    "the demo will not mix made-up data into it: pass --database-url sqlite:///demo.db"
                )
