"""The report's last day inside, on both backends: the snapshots of the newest day (taken from the simulator by the
Snapshotter, the schedule's and the real-time feed's), each with the net assets of its stored figures and its
trigger, the account's fills of that day (stored by the fills' load from `00` pushes) at their KST times; the page's
chart and table of them, the event snapshots and the buys and sells each their own legend entry, a hostile stock
name shown literally; a day without fills or event snapshots still drawn and said to be quiet; no section without a
snapshot."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from etl.clock import KST
from etl.jobs.snapshot import Snapshotter
from etl.normalize.executions import Execution, execution_of
from etl.read.intraday import EVENT_TRIGGERS, read_intraday
from etl.read.report import Report, Selection, read_report
from etl.read.report_html import render_html
from etl.read.report_labels import EN, KO
from etl.sim.accounts import make_account
from etl.sim.simulator import Simulator, serve
from etl.store.engine import transaction
from etl.store.executions import store_executions
from etl.store.models import AccountSnapshot
from tests.read.test_report import plotly_draws, strings, traces
from tests.support import Clock, make_settings, sim_accounts
from tests.support.answers import fill_push
from tests.support.report_page import Page, Section

DAY = date(2026, 12, 7)  # a Monday
EVE = date(2026, 12, 4)  # the Friday before
HOSTILE = "<b>굵게</b><script>alert(1)</script>&amp;"  # a tag plotly obeys, a script, an entity it decodes
OTHER_ACCOUNT = "5000009999"


def kst(day: date, clock: str) -> datetime:
    hour, minute, second = (int(part) for part in clock.split(":"))
    return datetime.combine(day, time(hour, minute, second), KST)


@dataclass(frozen=True)
class Taken:
    """A snapshot the test took: when (KST), with which trigger, of which exchanges."""

    at: datetime
    trigger: str
    exchanges: tuple[str, ...] = ("KRX",)
    slot: bool = False  # a schedule's slot: scheduled_for is `at`


@dataclass(frozen=True)
class Filled:
    """A fill the test pushed: its account, day, numbers, KST clock, stock, side, quantity, price and exchange."""

    account: str
    day: date
    number: int
    clock: str
    code: str
    name: str
    side: str
    quantity: int
    price: int
    exchange: str = "KRX"

    def execution(self) -> Execution:
        fids = {
            "9201": self.account,
            "9203": f"{self.number:07d}",
            "909": str(self.number),
            "908": self.clock.replace(":", ""),
            "9001": f"A{self.code}",
            "302": self.name,
            "907": {"sell": "1", "buy": "2"}[self.side],
            "911": str(self.quantity),
            "910": str(self.price),
            "2134": {"KRX": "1", "NXT": "2"}[self.exchange],
        }
        received = kst(self.day, self.clock) + timedelta(seconds=1)
        found = execution_of(fill_push(**fids), trade_date=self.day, received_at=received)
        assert found is not None
        return found


def busy_day(account: str) -> tuple[list[Taken], list[Filled]]:
    """The Friday's close, then Monday: the schedule's snapshots, a fill followed by an event snapshot, a reconnect's
    catch-up, an NXT event snapshot (not KRX's), a sell of a hostile name and an NXT fill; fills of another day and of
    another account, which the day does not show."""
    taken = [
        Taken(kst(EVE, "15:40:00"), "end_of_day", ("KRX", "NXT"), slot=True),
        Taken(kst(DAY, "09:00:00"), "scheduled", slot=True),
        Taken(kst(DAY, "09:31:08"), "event"),
        Taken(kst(DAY, "10:00:00"), "scheduled", slot=True),
        Taken(kst(DAY, "10:40:02"), "catch_up"),
        Taken(kst(DAY, "10:41:00"), "event", ("NXT",)),
        Taken(kst(DAY, "15:40:00"), "end_of_day", slot=True),
    ]
    fills = [
        Filled(account, EVE, 1, "14:00:00", "005930", "삼성전자", "buy", 1, 61_000),
        Filled(account, DAY, 1, "09:31:04", "005930", "삼성전자", "buy", 3, 60_700),
        Filled(account, DAY, 2, "10:12:30", "000660", HOSTILE, "sell", 2, 150_000),
        Filled(account, DAY, 3, "15:10:45", "005930", "삼성전자", "sell", 1, 60_900, "NXT"),
        Filled(OTHER_ACCOUNT, DAY, 1, "09:45:00", "005930", "삼성전자", "buy", 9, 60_800),
    ]
    return taken, fills


def quiet_day() -> list[Taken]:
    """Monday's schedule alone: no fill, no event snapshot."""
    return [
        Taken(kst(DAY, "09:00:00"), "scheduled", slot=True),
        Taken(kst(DAY, "12:00:00"), "scheduled", slot=True),
        Taken(kst(DAY, "15:40:00"), "end_of_day", slot=True),
    ]


def take(engine: Engine, tmp_path: Path, taken: list[Taken], fills: list[Filled]) -> str:
    """Each snapshot through the Snapshotter against the simulator, at its time, a fill changing the account's
    holdings (so that the snapshot after it differs); the fills through their load. The account number."""
    account = make_account(1, 3, exchanges=("KRX", "NXT"))
    days = [EVE]
    simulator = Simulator(accounts=[account], today=lambda: days[0], rate_per_second=1000, burst=100, moves=False)
    clock = Clock(taken[0].at)
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        snapshots = Snapshotter(settings, engine, clock=clock)
        for snapshot in taken:
            days[0], clock.now = snapshot.at.date(), snapshot.at.astimezone(UTC)
            # What the day's fills did by now: each fill before this snapshot moved the first holding's quantity.
            moved = sum(
                (f.quantity if f.side == "buy" else -f.quantity)
                for f in fills
                if f.account == account.acct_no and kst(f.day, f.clock) < snapshot.at
            )
            account.holdings["KRX"][0].quantity = 100 + moved
            results = snapshots.take(
                trigger=snapshot.trigger,
                scheduled_for=snapshot.at if snapshot.slot else None,
                exchanges=snapshot.exchanges,
            )
            assert [r.ok for r in results] == [True] * len(snapshot.exchanges), results
        snapshots.close()
    with transaction(engine, "test") as connection:
        store_executions(connection, [f.execution() for f in fills])
    return account.acct_no


def net_assets(engine: Engine, account: str, exchange: str) -> dict[datetime, int]:
    """Each stored snapshot's net assets by its capture time, computed here from its stored figures (the contract's
    formula, a NULL counting as 0), never by the view."""
    s = AccountSnapshot
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                s.captured_at,
                s.deposit_d2,
                s.total_evaluation_amount,
                s.credit_loan_total,
                s.unpaid_credit_interest,
            ).where(s.account_no == account, s.exchange == exchange)
        )
        return {at: (d2 or 0) + (ev or 0) - (loan or 0) - (unpaid or 0) for at, d2, ev, loan, unpaid in rows}


def report(engine: Engine, **selection: Any) -> Report:
    return read_report(
        engine,
        Selection(**selection),
        timezone="Asia/Seoul",
        generated_at=datetime(2026, 12, 7, 12, tzinfo=UTC),
        database="test",
    )


def test_the_last_day_holds_its_snapshots_with_their_triggers_and_the_account_s_fills(
    engine: Engine, tmp_path: Path
) -> None:
    taken, fills = busy_day(make_account(1, 3).acct_no)
    account = take(engine, tmp_path, taken, fills)
    values = net_assets(engine, account, "KRX")
    with engine.connect() as connection:
        day = read_intraday(connection, account, "KRX", DAY)

    krx = [t for t in taken if t.at.date() == DAY and "KRX" in t.exchanges]  # not the NXT event, not the Friday
    assert [m.kst for m in day.moments] == [t.at for t in krx]
    assert [m.kst.strftime("%H:%M:%S %Z") for m in day.moments] == [
        "09:00:00 KST",
        "09:31:08 KST",
        "10:00:00 KST",
        "10:40:02 KST",
        "15:40:00 KST",
    ]
    assert [m.trigger for m in day.moments] == ["scheduled", "event", "scheduled", "catch_up", "end_of_day"]
    assert [m.event for m in day.moments] == [False, True, False, True, False]
    assert [m.kst for m in day.events] == [t.at for t in krx if t.trigger in EVENT_TRIGGERS]
    assert [m.net_assets for m in day.moments] == [values[m.captured_at] for m in day.moments]
    # The fills moved the holdings: the snapshot after each differs from the one before.
    assert day.moments[0].net_assets != day.moments[1].net_assets != day.moments[3].net_assets

    # The account's fills of the day, oldest first, both exchanges; not the Friday's, not another account's.
    mine = [f for f in fills if f.account == account and f.day == DAY]
    assert [(f.kst.strftime("%H:%M:%S"), f.exchange, f.stock_code, f.stock_name, f.side) for f in day.fills] == [
        (f.clock, f.exchange, f.code, f.name, f.side) for f in mine
    ]
    assert [(f.quantity, f.price) for f in day.fills] == [(f.quantity, f.price) for f in mine]
    assert all(f.executed_at.tzinfo is not None and f.executed_at.utcoffset() == timedelta(0) for f in day.fills)
    # Each fill sits on the line at the value last seen before it: the snapshot before its time.
    assert [day.value_at(f.executed_at) for f in day.fills] == [
        day.moments[0].net_assets,  # 09:31:04, after 09:00 and before the event snapshot at 09:31:08
        day.moments[2].net_assets,  # 10:12:30, after 10:00
        day.moments[3].net_assets,  # 15:10:45, after the catch-up at 10:40:02
    ]

    # The report reads the newest day of its range: Monday, or the Friday when the range ends there.
    (section,) = report(engine).accounts
    assert section.intraday == day
    (friday,) = report(engine, until=EVE).accounts
    assert friday.intraday is not None and friday.intraday.trade_date == EVE
    assert [m.trigger for m in friday.intraday.moments] == ["end_of_day"]
    assert [f.side for f in friday.intraday.fills] == ["buy"]
    (nxt,) = report(engine, exchange="NXT").accounts
    assert nxt.intraday is not None and [(m.kst.time(), m.trigger) for m in nxt.intraday.moments] == [
        (time(10, 41), "event")
    ]
    assert nxt.intraday.fills == day.fills  # the account's fills, whichever exchange's section


def intraday_of(section: Section) -> dict[str, dict[str, Any]]:
    return traces(section.figures["intraday"])


def hovers(trace: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """What plotly draws on hovering each point of `trace`: its template with the point's data put in (the tags it
    obeys, the characters it draws)."""
    out = []
    for index, data in enumerate(trace["customdata"]):
        text = trace["hovertemplate"].replace("<extra></extra>", "").replace("%{y:,}", f"{trace['y'][index]:,}")
        for number, value in enumerate(data):
            text = text.replace(f"%{{customdata[{number}]}}", value)
        out.append(plotly_draws(text))
    return out


def test_the_page_draws_the_last_day_with_its_event_snapshots_and_fills_and_a_hostile_name_as_text(
    engine: Engine, tmp_path: Path
) -> None:
    taken, fills = busy_day(make_account(1, 3).acct_no)
    take(engine, tmp_path, taken, fills)
    model = report(engine)
    day = model.accounts[0].intraday
    assert day is not None
    html = render_html(model, "en")
    (section,) = Page(html).sections

    assert f"The last day · {DAY}" in section.words
    assert EN.intraday_quiet not in section.words and " ".join(EN.intraday_marks.split()) in section.words
    drawn = intraday_of(section)
    assert set(drawn) == {EN.net_assets_line, EN.snapshot, EN.event_snapshot, "Buy", "Sell"}
    assert drawn[EN.net_assets_line]["showlegend"] is False  # the points carry the legend
    # x is Seoul's clock; every point a snapshot, the event ones apart.
    assert drawn[EN.net_assets_line]["x"] == [m.kst.strftime("%Y-%m-%d %H:%M:%S") for m in day.moments]
    assert drawn[EN.net_assets_line]["y"] == [m.net_assets for m in day.moments]
    assert drawn[EN.net_assets_line]["line"]["shape"] == "hv"
    assert drawn[EN.snapshot]["x"] == ["2026-12-07 09:00:00", "2026-12-07 10:00:00", "2026-12-07 15:40:00"]
    assert drawn[EN.event_snapshot]["x"] == ["2026-12-07 09:31:08", "2026-12-07 10:40:02"]
    assert drawn[EN.event_snapshot]["y"] == [m.net_assets for m in day.events]
    assert drawn[EN.event_snapshot]["marker"]["symbol"] != drawn[EN.snapshot]["marker"]["symbol"]
    assert hovers(drawn[EN.event_snapshot]) == [
        (("br",), f"09:31:08 KST · after a fill{EN.net_assets_line} {EN.won(day.events[0].net_assets)}"),
        (("br",), f"10:40:02 KST · after a reconnect{EN.net_assets_line} {EN.won(day.events[1].net_assets)}"),
    ]
    buys, sells = drawn["Buy"], drawn["Sell"]
    assert buys["x"] == ["2026-12-07 09:31:04"] and sells["x"] == ["2026-12-07 10:12:30", "2026-12-07 15:10:45"]
    assert buys["y"] == [day.moments[0].net_assets]
    assert sells["y"] == [day.moments[2].net_assets, day.moments[3].net_assets]
    assert buys["marker"]["symbol"] != sells["marker"]["symbol"]
    # The hover: time (KST), exchange, stock name and code, side, quantity and price; the name exactly as stored.
    assert hovers(buys) == [(("br", "br"), "09:31:04 KST · KRX삼성전자 (005930)Buy 3 × 60,700 KRW")]
    assert hovers(sells) == [
        (("br", "br"), f"10:12:30 KST · KRX{HOSTILE} (000660)Sell 2 × 150,000 KRW"),
        (("br", "br"), "15:10:45 KST · NXT삼성전자 (005930)Sell 1 × 60,900 KRW"),
    ]
    for key, trace in drawn.items():  # the data's strings hold no tag: the markup is the templates' alone
        for text in strings({k: v for k, v in trace.items() if not k.endswith("template")}):
            assert plotly_draws(text)[0] == (), (key, text)

    # The table of the day's fills: literal names, the hostile one as text.
    assert section.tables["fills"] == [
        ["09:31:04", "삼성전자 (005930)", "KRX", "Buy", "3", "60,700"],
        ["10:12:30", f"{HOSTILE} (000660)", "KRX", "Sell", "2", "150,000"],
        ["15:10:45", "삼성전자 (005930)", "NXT", "Sell", "1", "60,900"],
    ]
    assert "<bdi>&lt;b&gt;굵게&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;</bdi> (000660)" in html
    page_text = "".join(part for part in html.split("<script>") if "plotly.js" not in part[:2000])
    assert "<script>alert" not in page_text and "<b>굵게" not in page_text
    assert not any(unicodedata.category(ch) == "Cf" for ch in page_text)

    # Korean by default: the same section in the report's Korean words.
    korean = render_html(model)
    (ko,) = Page(korean).sections
    assert f"장중 흐름 · {DAY}" in ko.words
    assert set(intraday_of(ko)) == {KO.net_assets_line, KO.snapshot, KO.event_snapshot, "매수", "매도"}
    assert [row[3] for row in ko.tables["fills"]] == ["매수", "매도", "매도"]
    assert hovers(intraday_of(ko)["매수"]) == [(("br", "br"), "09:31:04 KST · KRX삼성전자 (005930)매수 3주 × 60,700원")]


def test_a_day_without_fills_or_event_snapshots_draws_its_snapshots_and_says_it_was_quiet(
    engine: Engine, tmp_path: Path
) -> None:
    account = take(engine, tmp_path, quiet_day(), [])
    model = report(engine)
    day = model.accounts[0].intraday
    assert day is not None and day.fills == () and day.events == ()
    assert [m.kst.strftime("%H:%M") for m in day.moments] == ["09:00", "12:00", "15:40"]
    assert [m.net_assets for m in day.moments] == [
        net_assets(engine, account, "KRX")[m.captured_at] for m in day.moments
    ]
    (section,) = Page(render_html(model, "en")).sections
    assert EN.intraday_quiet in section.words and " ".join(EN.intraday_marks.split()) not in section.words
    drawn = intraday_of(section)
    assert set(drawn) == {EN.net_assets_line, EN.snapshot}  # no empty legend entry for what the day lacks
    assert len(drawn[EN.snapshot]["x"]) == 3
    assert "fills" not in section.tables


@pytest.mark.parametrize("selection", [{"until": EVE - timedelta(days=1)}, {"since": DAY + timedelta(days=1)}])
def test_a_range_without_a_snapshot_has_no_last_day_section(
    engine: Engine, tmp_path: Path, selection: dict[str, date]
) -> None:
    taken, fills = busy_day(make_account(1, 3).acct_no)
    take(engine, tmp_path, taken, fills)
    model = report(engine, **selection)
    assert model.accounts[0].intraday is None
    html = render_html(model, "en")
    (section,) = Page(html).sections
    assert "intraday" not in section.figures and "fills" not in section.tables
    assert not re.search(r"The last day|class=\"intraday", html)
