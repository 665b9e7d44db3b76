"""kiwoom-etl report: every plotted point and every table cell of the page equals what the books say
(tests/support/books.py, computed in Python from the snapshots the test wrote, never from the views), on SQLite and
PostgreSQL; the page is self-contained (no network), names a CJK font stack, and says so when a range has no data."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from etl.cli import cli
from etl.read.report import Holding, choose_exchange
from etl.read.views import ACCOUNT_RETURNS_DAILY
from tests.support import kiwoom_etl
from tests.support.books import BAD_VALUE, NXT_ONLY, Book, History, Line, Stock, hundredths, week, with_nxt_only_account
from tests.support.report_page import Page, Section

SEOUL = ZoneInfo("Asia/Seoul")
A, ISA = "5000001111", "isa"
CJK_FONTS = ('"Noto Sans CJK KR"', '"Noto Sans KR"', '"Apple SD Gothic Neo"', '"Malgun Gothic"', "sans-serif")


def history() -> History:
    return with_nxt_only_account(week())


@pytest.fixture
def loaded(engine: Engine, db_url: str, tmp_path: Path) -> tuple[History, str]:
    """The shared week and an NXT-only account, written through the import path; the database URL."""
    books = history()
    books.load(engine, tmp_path / "pages")
    return books, db_url


def report(db_url: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Page, str]:
    out = tmp_path / "report.html"
    command = ["report", "--database-url", db_url, "--out", str(out), "--force", *args]  # a test reports again
    result = CliRunner().invoke(cli, command, env=env)
    assert result.exit_code == 0, result.output
    assert str(out.resolve()) in result.stdout
    html = out.read_text(encoding="utf-8")
    return Page(html), html


# What the books say, as the page writes it.


def won(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    return "-" if value is None else f"{value:+,}"


def seoul(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M KST")


def label(stock: Stock) -> str:
    return f"{stock.name} ({stock.code})"


def expected_days(books: History, account: str, exchange: str, since: date | None, until: date | None) -> list[Any]:
    """Per close in the range: (date, net assets, change from the previous close, profit or loss, close, count)."""
    every = books.closes()[(account, exchange)]
    out = []
    for day, _, book, count in books.closes_in(account, exchange, since, until):
        index = [d for d, *_ in every].index(day)
        previous = every[index - 1][2] if index else None
        change = None if previous is None else book.net_assets - previous.net_assets
        out.append((day, book.net_assets, change, book.total_profit, book.at, count))
    return out


def check_section(section: Section, books: History, since: date | None = None, until: date | None = None) -> None:
    """Every figure point and table cell of `section` against the books of its account × exchange."""
    account, exchange = section.account, section.exchange
    days = expected_days(books, account, exchange, since, until)
    assert days, "a section checked here has data"
    dates = [d.isoformat() for d, *_ in days]

    net = section.figures["net_assets"]["data"]
    assert (net[0]["x"], net[0]["y"]) == (dates, [n for _, n, *_ in days])
    assert (net[1]["x"], net[1]["y"]) == (dates, [c for _, _, c, *_ in days])
    profit = section.figures["profit_loss"]["data"]
    assert (profit[0]["x"], profit[0]["y"]) == (dates, [p for _, _, _, p, *_ in days])

    assert section.tables["days"] == [
        [d.isoformat(), seoul(at), str(count), won(n), signed(c), signed(p)] for d, n, c, p, at, count in reversed(days)
    ]

    allocation = books.allocation(account, exchange, since, until)
    assert allocation is not None
    day, held = allocation
    assert f"Allocation at the last snapshot of {day}" in section.words
    assert section.tables["holdings"] == [
        [
            label(s),
            f"{s.quantity:,}",
            won(s.evaluation),
            f"{w} %",
            won(s.purchase),
            signed(s.profit),
            "-" if not s.purchase else f"{hundredths(s.profit, s.purchase):+} %",
        ]
        for s, w in held
    ]
    pie = section.figures["allocation"]["data"][0]
    slices = [s for s, _ in held if s.evaluation > 0]
    assert (pie["labels"], pie["values"]) == ([label(s) for s in slices], [s.evaluation for s in slices])

    recent = {d for d, *_ in days[-10:]}
    changes = [
        c
        for c in books.position_changes()
        if (c["account_no"], c["exchange"]) == (account, exchange) and c["trade_date"] in recent
    ]
    changes.sort(key=lambda c: (c["trade_date"], c["stock_code"] or ""), reverse=True)
    assert section.tables.get("changes", []) == [
        [
            c["trade_date"].isoformat(),
            f"{c['stock_name']} ({c['stock_code']})",
            c["change"],
            f"{c['previous_quantity']:,}",
            f"{c['quantity']:,}",
            f"{c['quantity_change']:+,}",
        ]
        for c in changes
    ]

    (fresh,) = [f for f in books.freshness() if (f["account_no"], f["exchange"]) == (account, exchange)]
    rows = dict((key, value) for key, value in section.tables["freshness"])
    assert rows["Newest snapshot"] == seoul(fresh["last_captured_at"])
    assert rows["Newest successful run (started)"] == seoul(fresh["last_success_at"])
    assert rows["Newest failed run (started)"] == seoul(fresh["last_failure_at"])
    assert rows["Failures since the newest success"] == str(fresh["failures_since_success"])
    assert (BAD_VALUE in rows["Last error"]) == (fresh["last_failure_at"] is not None)


def test_every_point_and_cell_of_every_account_is_the_books(loaded: tuple[History, str], tmp_path: Path) -> None:
    books, url = loaded
    page, html = report(url, tmp_path)
    assert [(s.account, s.exchange) for s in page.sections] == [(A, "KRX"), (ISA, "KRX"), (NXT_ONLY, "NXT")]
    for section in page.sections:
        check_section(section, books)
    # Account a has changes on most days; the NXT-only account says why it shows NXT, the others say nothing.
    assert len(page.section(A).tables["changes"]) >= 5
    assert "no KRX snapshot" in page.section(NXT_ONLY).words
    assert "no KRX snapshot" not in page.section(A).words
    assert "삼성전자" in html and "덕양에너젠" in html and "SK하이닉스" in html


def test_since_and_until_choose_the_days_and_the_allocation_is_the_newest_close_on_or_before_until(
    loaded: tuple[History, str], tmp_path: Path
) -> None:
    books, url = loaded
    since, until = date(2026, 11, 17), date(2026, 11, 22)  # a Sunday: account a's newest close before is Friday
    page, _ = report(url, tmp_path, "--account", A, "--since", f"{since}", "--until", f"{until}")
    (section,) = page.sections
    check_section(section, books, since, until)
    assert section.figures["net_assets"]["data"][0]["x"] == ["2026-11-17", "2026-11-19", "2026-11-20"]
    # The first day of the range changes against the day before it (outside the range), not against nothing.
    assert section.figures["net_assets"]["data"][1]["y"][0] is not None
    # Friday has two snapshots at one moment: the close is the one loaded last (Hynix at 175,500).
    assert "Allocation at the last snapshot of 2026-11-20" in section.words
    assert ["SK하이닉스 (000660)", "3", "526,500"] == section.tables["holdings"][1][:3]


def test_exchange_nxt_shows_nxt_only_and_an_account_without_the_exchange_says_so(
    loaded: tuple[History, str], tmp_path: Path
) -> None:
    books, url = loaded
    page, _ = report(url, tmp_path, "--exchange", "NXT", "--until", "2026-11-22")
    assert [(s.account, s.exchange) for s in page.sections] == [(A, "NXT"), (ISA, "NXT"), (NXT_ONLY, "NXT")]
    check_section(page.section(A), books, until=date(2026, 11, 22))
    check_section(page.section(NXT_ONLY), books, until=date(2026, 11, 22))
    isa = page.section(ISA)  # its only NXT snapshot was refused: no chart, a sentence, and the failure
    assert isa.figures == {} and "No NXT snapshot of this account in the range" in isa.words
    assert isa.tables["freshness"][3] == ["Failures since the newest success", "1"]
    # The newest NXT close of account a (next Monday) holds nothing: the page says so instead of an empty chart.
    page, _ = report(url, tmp_path, "--exchange", "NXT", "--account", A)
    assert "No holdings at the close of 2026-11-23" in page.sections[0].words
    assert "allocation" not in page.sections[0].figures


def test_a_range_without_data_is_a_sentence_not_an_empty_chart(loaded: tuple[History, str], tmp_path: Path) -> None:
    _, url = loaded
    page, html = report(url, tmp_path, "--since", "2027-01-04")
    assert len(page.sections) == 3
    for section in page.sections:
        assert section.figures == {}
        assert f"No {section.exchange} snapshot of this account in the range" in section.words
    assert not any("Plotly.newPlot" in s for s in page.scripts) and "plotly.js" not in html
    page, _ = report(url, tmp_path, "--account", A, "--since", "2026-11-23")  # one day: no line of one point
    assert set(page.sections[0].figures) == {"allocation"} and "One day in the range" in page.sections[0].words
    assert page.sections[0].tables["days"][0][3] == won(week().books[-1].net_assets)


def test_an_unknown_account_is_refused_naming_the_accounts_there_are(
    loaded: tuple[History, str], tmp_path: Path
) -> None:
    """A typo in --account is not an empty history: report and export refuse it, and write nothing."""
    _, url = loaded
    out = tmp_path / "report.html"
    for args in (["report", "--out", str(out)], ["export", "account_daily"]):
        result = CliRunner().invoke(cli, [*args, "--database-url", url, "--account", "nobody"])
        assert result.exit_code == 2, result.output
        assert "--account nobody: no such account in this database (accounts: 5000001111, isa" in result.output
        assert result.stdout == "" and not out.exists()


def test_an_account_whose_only_runs_failed_on_nxt_shows_those_failures(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    failing = Book("nxt-failing", "NXT", datetime(2026, 11, 17, 10, 50, tzinfo=ZoneInfo("UTC")), (), refused=True)
    books = History([*week().books, failing])
    books.load(engine, tmp_path / "pages")
    page, _ = report(db_url, tmp_path, "--account", "nxt-failing")
    (section,) = page.sections
    assert section.exchange == "NXT"
    assert section.tables["freshness"][3] == ["Failures since the newest success", "1"]


def test_the_page_opens_offline_names_a_cjk_font_stack_and_the_zone(sqlite_url: str, tmp_path: Path) -> None:
    """As a user runs it: a process, the database from the environment, the default file in the working directory."""
    from etl.store.engine import make_engine
    from etl.store.schema import migrate

    engine = make_engine(sqlite_url)
    migrate(engine)
    history().load(engine, tmp_path / "pages")
    engine.dispose()
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url, "KIWOOM_ETL_TIMEZONE": "UTC"}
    result = kiwoom_etl("report", "--account", A, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "kiwoom-etl-report.html"
    assert str(out) in result.stdout
    assert out.stat().st_mode & 0o777 == 0o600  # a financial history, like the database
    html = out.read_text(encoding="utf-8")
    page = Page(html)

    assert html.startswith("<!DOCTYPE html>") and '<html lang="ko">' in html and '<meta charset="utf-8">' in html
    for tag, attrs in page.tags:  # nothing is fetched: no source or link leaves the file
        for name in ("src", "href", "data"):
            assert not re.match(r"\s*(https?:)?//", attrs.get(name) or ""), (tag, attrs)
        assert not (tag == "script" and attrs.get("src")) and tag != "link"
    plotly = [s for s in page.scripts if "plotly.js" in s[:2000]]
    assert len(plotly) == 1 and len(plotly[0]) > 1_000_000  # the library itself, embedded once
    stack = ", ".join(CJK_FONTS)
    assert f"font-family: {stack}" in page.styles[0]
    (section,) = page.sections
    assert set(section.figures) == {"net_assets", "profit_loss", "returns", "allocation"}
    for figure in section.figures.values():
        assert figure["layout"]["font"]["family"] == stack
    # The returns chart: equity, the TWR chained from the view's daily returns, the drawdown; no ledger here, so
    # every change is return (and the page says so).
    traces = {trace["name"]: trace for trace in section.figures["returns"]["data"]}
    assert {"Equity", "TWR", "Drawdown"} <= set(traces)
    engine = make_engine(sqlite_url)
    returns = ACCOUNT_RETURNS_DAILY.table()
    with engine.connect() as connection:
        daily = connection.execute(
            select(returns.c.daily_return)
            .where(returns.c.account_no == A, returns.c.exchange == "KRX")
            .order_by(returns.c.trade_date)
        ).scalars()
        growth = math.prod(1 + (r or 0) for r in list(daily)[1:])
    engine.dispose()
    assert traces["TWR"]["y"][-1] == pytest.approx((growth - 1) * 100, rel=1e-12)
    assert "No ledger has been read for this account" in html
    # Unknown, not 0: the flows, dividends, fees and taxes would come from the ledger.
    assert '<div class="label">External flows (KRW)</div><div class="value ">— (no ledger)</div>' in html
    # Times in the configured zone, named: Monday's 15:45 KST close is 06:45 UTC.
    assert section.tables["days"][-1][:2] == ["2026-11-16", "2026-11-16 06:45 UTC"]
    assert "삼성전자 (005930)" in section.tables["holdings"][0][0]


def test_help_does_not_import_plotly() -> None:
    for args in (("--help",), ("report", "--help")):
        result = kiwoom_etl(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
        assert result.returncode == 0 and ("--until" in result.stdout) == (args[0] == "report")
        imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
        assert "click" in imported and not any(name.startswith("plotly") for name in imported)


def test_since_after_until_is_a_usage_error(sqlite_url: str) -> None:
    args = ["report", "--database-url", sqlite_url, "--since", "2026-11-20", "--until", "2026-11-19"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "is after --until" in result.output


@pytest.mark.parametrize(
    ("asked", "present", "shown", "says_why"),
    [
        (None, {"KRX", "NXT"}, "KRX", False),
        (None, {"KRX"}, "KRX", False),
        (None, {"NXT"}, "NXT", True),
        (None, set(), "KRX", False),
        ("NXT", {"KRX", "NXT"}, "NXT", False),
        ("KRX", {"NXT"}, "KRX", False),
    ],
)
def test_the_exchange_of_a_section(asked: str | None, present: set[str], shown: str, says_why: bool) -> None:
    exchange, why = choose_exchange(asked, present)
    assert (exchange, why is not None) == (shown, says_why)


@pytest.mark.parametrize(
    ("profit", "purchase", "rate"),
    [(55_200, 786_000, Decimal("7.02")), (-1, 3, Decimal("-33.33")), (1, 8, Decimal("12.50")), (5, 0, None)],
)
def test_the_rate_of_summed_lines_is_their_profit_over_their_purchase(
    profit: int, purchase: int, rate: Decimal | None
) -> None:
    holding = Holding(date(2026, 11, 16), "005930", "삼성전자", 2, 1, purchase, purchase + profit, profit)
    assert holding.rate_pct == rate


# Hostile text: names, remarks and account labels are shown as they are, in the tables and in plotly's figures.
LINK = '<a href="https://evil.example/">공지</a><b>x</b>'
REVERSED = "\u202e우선주"  # RIGHT-TO-LEFT OVERRIDE: "우선주 (207940)" would be drawn as "(049702) 주선우"
ENTITIES = "R&amp;D &lt;i&gt; $x$"
HOSTILE_ACCOUNT = "O'Neil <i>ISA</i>\u2066"

# What plotly.js (src/lib/svg_text_utils.js, convertToTspans) makes of a text: the newlines become spaces, the text is
# split at every <…>; a piece whose tag is one of its own is markup, any other piece is drawn, its entities decoded.
PLOTLY_PIECES = re.compile(r"(<[^<>]*>)")
PLOTLY_TAG = re.compile(r"<(/?)([^ >]*)(\s+(.*))?>", re.I)
PLOTLY_TAGS = {"br", "sup", "sub", "s", "u", "b", "i", "a", "span", "em"}
PLOTLY_ENTITY = re.compile(r"&(#\d+|#x[\da-fA-F]+|[a-z]+);")
PLOTLY_NAMED = {"mu": "μ", "amp": "&", "lt": "<", "gt": ">", "nbsp": "\xa0", "times": "×", "plusmn": "±", "deg": "°"}


def plotly_draws(text: str) -> tuple[tuple[str, ...], str]:
    """The tags plotly obeys in `text` and the characters it draws."""

    def entity(m: re.Match[str]) -> str:
        name = m[1]
        if name.startswith("#"):
            return chr(int(name[2:], 16) if name[1] == "x" else int(name[1:]))
        return PLOTLY_NAMED.get(name, m[0])

    tags, drawn = [], []
    for piece in PLOTLY_PIECES.split(re.sub(r"\r\n?|\n", " ", text)):
        tag = PLOTLY_TAG.search(piece)
        if tag and tag[2].lower() in PLOTLY_TAGS:
            tags.append(tag[2].lower())
        else:
            drawn.append(PLOTLY_ENTITY.sub(entity, piece))
    return tuple(tags), "".join(drawn)


def strings(value: Any) -> Iterator[str]:
    """Every string in a figure's JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_hostile_names_and_accounts_are_shown_literally_in_the_tables_and_the_figures(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    monday, day = datetime(2026, 11, 16, 15, 45, tzinfo=SEOUL), timedelta(days=1)
    lines = (
        Line("123450", LINK, 10, 10_000, 9_000),
        Line("207940", REVERSED, 2, 800_000, 750_000),
        Line("300000", ENTITIES, 3, 50_000, 40_000),
    )
    books = History([Book(HOSTILE_ACCOUNT, "KRX", monday, lines), Book(HOSTILE_ACCOUNT, "KRX", monday + day, lines)])
    books.load(engine, tmp_path / "pages")
    page, html = report(db_url, tmp_path)
    (section,) = page.sections

    # The tables: every character of the data, the invisible one as its code point; the code after the name.
    assert section.account == "O'Neil <i>ISA</i>\\u2066"
    assert "Account O'Neil <i>ISA</i>\\u2066 · KRX" in section.words
    assert {row[0] for row in section.tables["holdings"]} == {
        f"{LINK} (123450)",
        "\\u202e우선주 (207940)",
        "R&amp;D &lt;i&gt; $x$ (300000)",
    }
    assert "<bdi>\\u202e우선주</bdi> (207940)" in html  # a right-to-left name cannot move the code either
    # The figures: plotly obeys no tag of the data and draws its characters, in the legend, the slices and the hover.
    allocation = section.figures["allocation"]["data"][0]
    drawn = {plotly_draws(label) for label in allocation["labels"]}
    assert drawn == {
        ((), f"{LINK} (123450)"),
        ((), "\\u202e우선주 (207940)"),
        ((), "R&amp;D &lt;i&gt; $x$ (300000)"),
    }
    for label in allocation["labels"]:
        tags, text = plotly_draws(allocation["hovertemplate"].replace("%{label}", label))
        assert tags == ("br", "br") and text.startswith(plotly_draws(label)[1])
    for figure in section.figures.values():
        for text in strings(figure):
            assert set(plotly_draws(text)[0]) <= {"br"}, text
    # Nothing of the data reaches the page as markup or as an invisible character, outside plotly's own script.
    page_text = "".join(part for part in html.split("<script>") if "plotly.js" not in part[:2000])
    assert "<a href" not in page_text and "<b>x" not in page_text and "<i>ISA" not in page_text
    assert not any(unicodedata.category(ch) == "Cf" for ch in page_text)
