"""kiwoom-etl report: every plotted point and every table cell of the page equals what the books say
(tests/support/books.py, computed in Python from the snapshots the test wrote, never from the views), on SQLite and
PostgreSQL; every chart over time spans the same dates; the monthly returns, the dividends by month, the allocation
by market and by sector and the profit per stock with its total row are the hand-computed ones; the page is
self-contained (no network), Korean unless --lang en, names a CJK font stack, and says so when a range has no data."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert, select

from etl.apis.charts import IndexDaily
from etl.apis.instruments import Instrument
from etl.cli import cli
from etl.read.report import Holding, Valued, choose_exchange, monthly_returns
from etl.read.report_html import CASH, UNCLASSIFIED
from etl.read.report_labels import EN, KO, LABELS
from etl.read.views import ACCOUNT_RETURNS_DAILY
from etl.store.runs import start_run
from etl.text import REPORT_LANGUAGES
from tests.support import kiwoom_etl
from tests.support.books import BAD_VALUE, NXT_ONLY, Book, History, Line, Stock, hundredths, week, with_nxt_only_account
from tests.support.report_page import Page, Section
from tests.support.schema import migrated
from tests.support.story import ACCOUNT, at, ledger_line, load

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


def report(
    db_url: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None, lang: str | None = "en"
) -> tuple[Page, str]:
    """The page as `report` writes it, in English unless `lang` says otherwise (None: the default language)."""
    out = tmp_path / "report.html"
    chosen = ["--lang", lang] if lang else []
    command = ["report", "--database-url", db_url, "--out", str(out), "--force", *chosen, *args]  # again: --force
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


def traces(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {trace["name"]: trace for trace in figure["data"]}


TIME_CHARTS = ("net_assets", "returns", "daily_return", "profit_loss")


def check_same_range(section: Section, dates: list[str]) -> None:
    """Every chart over time of `section` spans `dates`, from the first to the last, on every x axis."""
    assert {name for name in TIME_CHARTS if name in section.figures} == set(TIME_CHARTS)
    for name in TIME_CHARTS:
        layout = section.figures[name]["layout"]
        axes = [key for key in layout if key.startswith("xaxis")]
        assert axes, name
        for axis in axes:
            assert layout[axis]["categoryarray"] == dates, (name, axis)
            assert layout[axis]["range"] == [-0.5, len(dates) - 0.5], (name, axis)


def check_section(section: Section, books: History, since: date | None = None, until: date | None = None) -> None:
    """Every figure point and table cell of `section` against the books of its account × exchange (in English)."""
    account, exchange = section.account, section.exchange
    days = expected_days(books, account, exchange, since, until)
    assert days, "a section checked here has data"
    dates = [d.isoformat() for d, *_ in days]

    net = traces(section.figures["net_assets"])
    assert (net["Net assets"]["x"], net["Net assets"]["y"]) == (dates, [n for _, n, *_ in days])
    assert net["External flow"]["x"] == []  # the books hold no ledger
    profit = section.figures["profit_loss"]["data"]
    assert (profit[0]["x"], profit[0]["y"]) == (dates, [p for _, _, _, p, *_ in days])
    check_same_range(section, dates)
    # No ledger: each day's return is its change in net assets over the previous day's.
    daily = traces(section.figures["daily_return"])["Daily return"]
    rated = [(d, n, p) for (d, n, *_), (_, p, *_) in zip(days[1:], days, strict=False) if p > 0]
    assert daily["x"] == [d.isoformat() for d, _, _ in rated]
    assert daily["customdata"] == [n - p for _, n, p in rated]
    assert daily["y"] == pytest.approx([(n / p - 1) * 100 for _, n, p in rated], rel=1e-12, abs=1e-12)

    assert section.tables["days"] == [
        [d.isoformat(), seoul(at), str(count), won(n), signed(c), signed(p)] for d, n, c, p, at, count in reversed(days)
    ]

    allocation = books.allocation(account, exchange, since, until)
    assert allocation is not None
    day, held, cash, cash_weight = allocation
    assert f"Allocation · {day}" in section.words
    assert section.tables["holdings"] == [
        *(
            [
                label(s),
                f"{s.quantity:,}",
                won(s.evaluation),
                f"{w}%",
                won(s.purchase),
                signed(s.profit),
                "-" if not s.purchase else f"{hundredths(s.profit, s.purchase):+}%",
            ]
            for s, w in held
        ),
        [EN.cash, "", won(cash), f"{cash_weight}%", "", "", ""],
    ]
    pie = section.figures["allocation"]["data"][0]
    slices = [(label(s), s.evaluation) for s, _ in held if s.evaluation > 0] + ([(EN.cash, cash)] if cash > 0 else [])
    assert list(zip(pie["labels"], pie["values"], strict=True)) == slices

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
    assert section.tables["days"][-1][0] == "2026-11-17" and section.tables["days"][-1][4] != "-"
    # Friday has two snapshots at one moment: the close is the one loaded last (Hynix at 175,500).
    assert "Allocation · 2026-11-20" in section.words
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
    # The newest NXT close of account a (next Monday) holds no stock: the page says so, and its cash is all there is.
    page, _ = report(url, tmp_path, "--exchange", "NXT", "--account", A)
    assert "No holdings at the close of 2026-11-23" in page.sections[0].words
    assert page.sections[0].figures["allocation"]["data"][0]["labels"] == [EN.cash]
    newest = books.allocation(A, "NXT")
    assert newest is not None and newest[1] == [] and newest[2] > 0
    assert page.sections[0].tables["holdings"] == [[EN.cash, "", won(newest[2]), "100.00%", "", "", ""]]


def test_a_range_without_data_is_a_sentence_not_an_empty_chart(loaded: tuple[History, str], tmp_path: Path) -> None:
    _, url = loaded
    page, html = report(url, tmp_path, "--since", "2027-01-04")
    assert len(page.sections) == 3
    for section in page.sections:
        assert section.figures == {}
        assert f"No {section.exchange} snapshot of this account in the range" in section.words
    assert not any("Plotly.newPlot" in s for s in page.scripts) and "plotly.js" not in html
    page, _ = report(url, tmp_path, "--account", A, "--since", "2026-11-23")  # one day: no line of one point
    # The day's own snapshots are still drawn, inside the day.
    assert set(page.sections[0].figures) == {"allocation", "intraday"}
    assert "One day in the range" in page.sections[0].words
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

    engine = make_engine(sqlite_url)
    migrated(engine)
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
    assert set(section.figures) == {*TIME_CHARTS, "allocation", "intraday"}
    for figure in section.figures.values():
        assert figure["layout"]["font"]["family"] == stack
    # Korean by default: the page's words are the Korean labels, its money in 원.
    for words in (KO.heading, KO.net_assets_heading, KO.twr_heading, KO.daily_heading, KO.monthly_heading):
        assert words in html
    assert EN.heading not in html and EN.twr_heading not in html
    assert f'<div class="label">{KO.net_assets}</div><div class="value">{KO.won(week().books[-1].net_assets)}' in html
    assert "원</div>" in html and section.tables["holdings"][-1][0] == KO.cash
    # The returns chart: the TWR chained from the view's daily returns, the drawdown; the net assets on a chart of
    # their own. No ledger here, so every change is return (and the page says so).
    lines = traces(section.figures["returns"])
    assert set(lines) == {KO.twr_line, KO.drawdown}
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
    assert lines[KO.twr_line]["y"][-1] == pytest.approx((growth - 1) * 100, rel=1e-12)
    assert KO.no_ledger in html
    # Unknown, not 0: the flows, dividends, fees and taxes would come from the ledger.
    assert f'<div class="label">{escape(KO.flows)}</div><div class="value">{KO.no_ledger_value}</div>' in html
    # So is each stock's realised profit, dividends, fees and taxes, and its total: only the unrealised is known.
    pnl = section.tables["pnl"]
    assert pnl and all(row[1] == row[3] == row[4] == row[5] == "—" for row in pnl), pnl
    assert all(row[2] not in ("", "—") for row in pnl)
    assert escape(KO.pnl_no_ledger) in html
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
SCRIPT = '=HYPERLINK("https://evil.example/")<script>alert(1)</script>'  # a formula's '=', then a script
HOSTILE_ACCOUNT = "O'Neil <i>ISA</i>\u2066"
# Sectors as instruments could hold them (Kiwoom's upName is free text): markup, a script, bidi controls, a formula.
HOSTILE_SECTORS = {
    "123450": "<b>반도체</b><script>alert(2)</script>",
    "207940": "\u2067의약품\u2069\u202e",
    "300000": "=1+2&lt;금융&gt;",
}

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
        Line("400000", SCRIPT, 1, 70_000, 70_000),
    )
    books = History([Book(HOSTILE_ACCOUNT, "KRX", monday, lines), Book(HOSTILE_ACCOUNT, "KRX", monday + day, lines)])
    books.load(engine, tmp_path / "pages")
    listed = [{"stock_code": code, "name": "x", "market": "KOSPI", "sector": s} for code, s in HOSTILE_SECTORS.items()]
    insert_rows(engine, Instrument, "ka10099", listed)  # 400000 is not in instruments
    page, html = report(db_url, tmp_path)
    (section,) = page.sections

    # The tables: every character of the data, the invisible one as its code point; the code after the name.
    assert section.account == "O'Neil <i>ISA</i>\\u2066"
    assert "Account O'Neil <i>ISA</i>\\u2066 · KRX" in section.words
    names = {
        f"{LINK} (123450)",
        "\\u202e우선주 (207940)",
        "R&amp;D &lt;i&gt; $x$ (300000)",
        f"{SCRIPT} (400000)",
    }
    assert {row[0] for row in section.tables["holdings"]} == {*names, EN.cash}
    assert {row[0] for row in section.tables["pnl"]} == {*names, EN.pnl_sum}
    # The sectors, the largest first: each its own row and slice, written as they are (the bidi controls as their
    # code points).
    sectors = ["\\u2067의약품\\u2069\\u202e", "=1+2&lt;금융&gt;", "<b>반도체</b><script>alert(2)</script>"]
    assert [row[0] for row in section.tables["sectors"]] == [*sectors, EN.by_sector.unknown, EN.cash]
    labels = section.figures["sectors"]["data"][0]["labels"]
    assert [plotly_draws(label) for label in labels] == [((), name) for name in (*sectors, EN.by_sector.unknown)] + [
        ((), EN.cash)
    ]
    assert "<bdi>\\u202e우선주</bdi> (207940)" in html  # a right-to-left name cannot move the code either
    # The figures: plotly obeys no tag of the data and draws its characters, in the legend, the slices and the hover.
    allocation = section.figures["allocation"]["data"][0]
    drawn = {plotly_draws(label) for label in allocation["labels"]}
    assert drawn == {((), name) for name in (*names, EN.cash)}
    for label in allocation["labels"]:
        tags, text = plotly_draws(allocation["hovertemplate"].replace("%{label}", label))
        assert tags == ("br", "br") and text.startswith(plotly_draws(label)[1])
    for figure in section.figures.values():
        for text in strings(figure):
            assert set(plotly_draws(text)[0]) <= {"br"}, text
    # Nothing of the data reaches the page as markup or as an invisible character, outside plotly's own script.
    page_text = "".join(part for part in html.split("<script>") if "plotly.js" not in part[:2000])
    assert "<a href" not in page_text and "<b>x" not in page_text and "<i>ISA" not in page_text
    assert "<script>alert" not in page_text and "<b>반도체" not in page_text and "&lt;금융" not in page_text
    assert not any(unicodedata.category(ch) == "Cf" for ch in page_text)


# The monthly returns, by hand: a cash-only account (equity = its deposit D+2) across three months and a new year,
# with a deposit and a withdrawal that the returns set aside and two dividends.
OCT29, OCT30, NOV2, NOV3, NOV5, DEC1, JAN4 = (
    date(2026, 10, 29),
    date(2026, 10, 30),
    date(2026, 11, 2),
    date(2026, 11, 3),
    date(2026, 11, 5),
    date(2026, 12, 1),
    date(2027, 1, 4),
)
MONTHS_BOOKS = [
    (OCT29, 1_000_000),  # the base
    (OCT30, 1_100_000),  # +10 %: October +10 %
    (NOV2, 1_545_000),  # a deposit of 500,000, then −5 %: 1,045,000 / 1,100,000
    (NOV3, 1_854_000),  # +20 %: November 0.95 × 1.2 = +14 %
    (DEC1, 1_468_600),  # a withdrawal of 200,000, then −10 %: 1,668,600 / 1,854,000; December −10 %
    (JAN4, 1_615_460),  # +10 %: January 2027 +10 %
]
MONTHS_LEDGER = [
    ledger_line(NOV2, 1, "이체입금", 500_000),
    ledger_line(NOV5, 1, "배당금입금", 10_000, stk_cd="A005930", incm_resi_tax="1540"),
    ledger_line(DEC1, 1, "이체출금", 200_000),
    ledger_line(DEC1, 2, "배당금입금", 20_000, stk_cd="A000660", incm_resi_tax="3080"),
]


def test_monthly_returns_chain_each_month_s_days_exactly_with_the_year_s_total() -> None:
    valued = [Valued(day, "snapshot", cash, cash, 0) for day, cash in MONTHS_BOOKS]
    valued[2] = Valued(NOV2, "snapshot", 1_545_000, 1_545_000, 500_000)
    valued[4] = Valued(DEC1, "snapshot", 1_468_600, 1_468_600, -200_000)
    first, second = monthly_returns(valued)
    nothing = (None,) * 9
    assert (first.year, first.months, first.total) == (
        2026,
        (*nothing, Decimal("0.1"), Decimal("0.14"), Decimal("-0.1")),
        Decimal("0.1286"),  # 1.1 × 1.14 × 0.9 − 1
    )
    assert (second.year, second.months, second.total) == (2027, (Decimal("0.1"), *(None,) * 11), Decimal("0.1"))
    # A day after one worth nothing has no return (the view's NULL): its month is there, unchanged by it.
    broke = [Valued(OCT29, "snapshot", 0, 0, 0), Valued(NOV2, "snapshot", 5, 5, 0), Valued(NOV3, "snapshot", 6, 6, 0)]
    assert monthly_returns(broke)[0].months[10] == Decimal("0.2")
    assert monthly_returns(valued[:1]) == ()  # the base alone has no return


def test_the_monthly_table_the_daily_returns_and_the_dividends_are_the_hand_computed_ones(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    books = [Book(ACCOUNT, "KRX", at(day), (), deposit_d2=cash) for day, cash in MONTHS_BOOKS]
    load(engine, tmp_path, books, MONTHS_LEDGER)
    page, _ = report(db_url, tmp_path)
    (section,) = page.sections
    empty = [""] * 9
    assert section.tables["monthly"] == [
        ["2026", *empty, "+10.00%", "+14.00%", "-10.00%", "+12.86%"],
        ["2027", "+10.00%", *[""] * 11, "+10.00%"],
    ]
    # Each day's return sets the day's deposit or withdrawal aside; its profit in won is beside it.
    daily = traces(section.figures["daily_return"])["Daily return"]
    assert daily["x"] == [d.isoformat() for d, _ in MONTHS_BOOKS[1:]]
    assert daily["y"] == pytest.approx([10, -5, 20, -10, 10], rel=1e-12)
    assert daily["customdata"] == [100_000, -55_000, 309_000, -185_400, 146_860]
    flows = traces(section.figures["net_assets"])["External flow"]
    assert (flows["x"], flows["customdata"]) == ([NOV2.isoformat(), DEC1.isoformat()], [500_000, -200_000])
    twr = traces(section.figures["returns"])["This account"]
    assert twr["y"] == pytest.approx([0, 10, 4.5, 25.4, 12.86, 24.146], rel=1e-12)
    check_same_range(section, [d.isoformat() for d, _ in MONTHS_BOOKS])
    # Dividends per month of the range, before withholding, withheld and paid; every month on the chart.
    assert section.tables["dividends"] == [
        ["2026-11", "10,000", "1,540", "8,460"],
        ["2026-12", "20,000", "3,080", "16,920"],
    ]
    bars = traces(section.figures["dividends"])
    assert bars["Paid"]["x"] == ["2026-10", "2026-11", "2026-12", "2027-01"]
    assert (bars["Paid"]["y"], bars["Withheld"]["y"]) == ([0, 8_460, 16_920, 0], [0, 1_540, 3_080, 0])
    # The cash is the allocation when no stock is held.
    assert section.tables["holdings"] == [[EN.cash, "", "1,615,460", "100.00%", "", "", ""]]
    assert "No holdings at the close of 2027-01-04" in section.words


def insert_rows(engine: Engine, table: Any, api_id: str, rows: list[dict[str, Any]]) -> None:
    """`rows` of a market table (index_daily, instruments) as one run of `api_id` wrote them."""
    now = datetime(2027, 1, 4, 8, tzinfo=UTC)
    run = start_run(engine, trigger="manual", started_at=now, account_no=None, exchange=None, api_id=api_id)
    stamp = "captured_at" if table is IndexDaily else "updated_at"
    with engine.begin() as connection:
        connection.execute(insert(table), [{**row, "run_id": run.id, stamp: now} for row in rows])


# KOSPI on every valued day of MONTHS_BOOKS; KOSDAQ from the second, without NOV3.
KOSPI_CLOSES = dict(
    zip([d for d, _ in MONTHS_BOOKS], ["2500.00", "2550.00", "2525.00", "2600.00", "2450.00", "2750.00"], strict=True)
)
KOSDAQ_CLOSES = {OCT30: "800.00", NOV2: "820.00", DEC1: "780.00", JAN4: "840.00"}


def test_kospi_and_kosdaq_beside_the_twr_are_rebased_to_the_range_s_first_day_with_the_excess_as_a_card(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    books = [Book(ACCOUNT, "KRX", at(day), (), deposit_d2=cash) for day, cash in MONTHS_BOOKS]
    load(engine, tmp_path, books, MONTHS_LEDGER)
    bars = [("001", day, close) for day, close in KOSPI_CLOSES.items()]
    bars += [("101", day, close) for day, close in KOSDAQ_CLOSES.items()]
    rows = [{"index_code": code, "trade_date": day, "close": Decimal(close)} for code, day, close in bars]
    insert_rows(engine, IndexDaily, "ka20006", rows)
    page, html = report(db_url, tmp_path)
    (section,) = page.sections
    lines = traces(section.figures["returns"])
    assert set(lines) == {"KOSPI (001)", "KOSDAQ (101)", EN.twr_line, EN.drawdown}
    kospi = lines["KOSPI (001)"]
    assert kospi["x"] == [d.isoformat() for d in KOSPI_CLOSES]
    assert kospi["y"] == pytest.approx([0, 2, 1, 4, -2, 10], rel=1e-12)  # close / 2,500 − 1
    # The TWR over the range is +24.146 % (1.1 × 0.95 × 1.2 × 0.9 × 1.1); KOSPI's +10 %: +14.146 %, shown +14.15 %.
    assert '<div class="label">Excess over KOSPI (001)</div><div class="value rise">+14.15%</div>' in html
    # KOSDAQ's first close is OCT30's: its line starts on the account's (+10 %) and moves as KOSDAQ from there,
    # 1.1 × close / 800 − 1; no point on NOV3, which has no close. Its excess: 24.146 % − 15.5 % = +8.646 %.
    kosdaq = lines["KOSDAQ (101)"]
    assert kosdaq["x"] == [d.isoformat() for d in KOSDAQ_CLOSES]
    assert kosdaq["y"] == pytest.approx([10, 12.75, 7.25, 15.5], rel=1e-12)
    assert '<div class="label">Excess over KOSDAQ (101)</div><div class="value rise">+8.65%</div>' in html
    assert EN.benchmark_note.strip() in page.sections[0].words
    assert EN.twr_base.format(first=MONTHS_BOOKS[0][0]) in page.sections[0].words  # from the first day's close
    assert EN.twr_base_from_start.format(first=MONTHS_BOOKS[0][0]) not in page.sections[0].words
    check_same_range(section, [d.isoformat() for d, _ in MONTHS_BOOKS])

    # From OCT30 both start there: each index from its own close that day, the account from its close too.
    page, html = report(db_url, tmp_path, "--since", OCT30.isoformat())
    lines = traces(page.sections[0].figures["returns"])
    kosdaq = lines["KOSDAQ (101)"]
    assert kosdaq["y"] == pytest.approx([0, 2.5, -2.5, 5], rel=1e-12)  # close / 800 − 1
    assert lines["KOSPI (001)"]["y"][0] == 0 and lines["KOSPI (001)"]["y"][-1] == pytest.approx(
        (2750 / 2550 - 1) * 100, rel=1e-12
    )
    # The TWR from OCT30: 0.95 × 1.2 × 0.9 × 1.1 − 1 = +12.86 %; KOSDAQ +5 %: +7.86 %; KOSPI +7.843… %: +5.02 %.
    assert '<div class="label">Excess over KOSDAQ (101)</div><div class="value rise">+7.86%</div>' in html
    assert '<div class="label">Excess over KOSPI (001)</div><div class="value rise">+5.02%</div>' in html


NOV3, NOV4, NOV5 = date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)


def _report_after_a_first_deposit(
    engine: Engine, db_url: str, tmp_path: Path, deposited: date, kospi: dict[date, str]
) -> tuple[list[date], Page, str]:
    """10,000,000 deposited into an empty account on `deposited` (the cash after the line is its amount), worth
    10,100,000, 10,200,000 and 10,300,000 at the closes of NOV3, NOV4 and NOV5, beside KOSPI's `kospi` closes: the
    days and the report, whose TWR card reads +3 % (the first day counted from its start)."""
    days = [NOV3, NOV4, NOV5]
    books = [
        Book(ACCOUNT, "KRX", at(day), (), deposit_d2=cash)
        for day, cash in zip(days, (10_100_000, 10_200_000, 10_300_000), strict=True)
    ]
    load(engine, tmp_path, books, [ledger_line(deposited, 1, "이체입금", 10_000_000, entra_remn="000000010000000")])
    rows = [{"index_code": "001", "trade_date": day, "close": Decimal(close)} for day, close in kospi.items()]
    insert_rows(engine, IndexDaily, "ka20006", rows)
    page, html = report(db_url, tmp_path)
    assert f'<div class="label">{EN.twr}</div><div class="value rise">+3.00%</div>' in html
    return days, page, html


def test_a_range_from_the_first_deposit_counts_its_first_day_and_measures_the_indexes_from_the_close_before(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """10,000,000 deposited into an empty account on NOV3 (the cash after the line is its amount) and worth
    10,100,000, 10,200,000, 10,300,000 at the closes: the range starts from nothing, as the TWR card does. The chart,
    the daily bars and the month count NOV3's +1 %, and KOSPI is measured from its close before NOV3 (NOV2's), so
    that both cover the same days: TWR +3 %, KOSPI +2 %, excess +1.00 % (from NOV3's close it would read +1.98 %)."""
    kospi = {date(2026, 11, 2): "2500.00", NOV3: "2550.00", NOV4: "2525.00", NOV5: "2550.00"}
    days, page, html = _report_after_a_first_deposit(engine, db_url, tmp_path, NOV3, kospi)
    (section,) = page.sections
    lines = traces(section.figures["returns"])
    assert lines[EN.twr_line]["y"] == pytest.approx([1, 2, 3], rel=1e-12)
    assert lines["KOSPI (001)"]["x"] == [d.isoformat() for d in days]
    assert lines["KOSPI (001)"]["y"] == pytest.approx([2, 1, 2], rel=1e-12)  # close / 2,500 − 1
    assert '<div class="label">Excess over KOSPI (001)</div><div class="value rise">+1.00%</div>' in html
    daily = traces(section.figures["daily_return"])["Daily return"]
    assert daily["x"] == [d.isoformat() for d in days]
    assert daily["y"] == pytest.approx([1, 100 / 1010 * 10, 100 / 1020 * 10], rel=1e-12)
    assert daily["customdata"] == [100_000, 100_000, 100_000]
    assert section.tables["monthly"] == [["2026", *[""] * 10, "+3.00%", "", "+3.00%"]]
    # The chart's words say where it starts: the first day's start, not its close.
    assert EN.twr_base_from_start.format(first=days[0]) in section.words
    assert EN.twr_base.format(first=days[0]) not in section.words


def test_a_range_from_a_first_deposit_booked_before_the_first_close_measures_the_indexes_from_before_the_deposit(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """10,000,000 deposited into an empty account on Monday NOV2, the first close on NOV3: the account's first return
    counts from NOV2's start, so KOSPI is measured from its close before NOV2 (OCT30's 2,400): TWR +3 %, KOSPI
    2,550 / 2,400 − 1 = +6.25 %, excess −3.25 % (from NOV2's close it would read +1.00 %)."""
    kospi = {date(2026, 10, 30): "2400.00", date(2026, 11, 2): "2500.00", NOV3: "2550.00"}
    kospi |= {NOV4: "2525.00", NOV5: "2550.00"}
    days, page, html = _report_after_a_first_deposit(engine, db_url, tmp_path, date(2026, 11, 2), kospi)
    (section,) = page.sections
    lines = traces(section.figures["returns"])
    assert lines["KOSPI (001)"]["y"] == pytest.approx([6.25, 2525 / 24 - 100, 6.25], rel=1e-12)  # close / 2,400 − 1
    assert '<div class="label">Excess over KOSPI (001)</div><div class="value fall">-3.25%</div>' in html
    # The chart's words name where its base is: the start of the deposit's day (NOV2), not of the first close's.
    assert EN.twr_base_from_start.format(first=date(2026, 11, 2)) in section.words
    assert EN.twr_base_from_start.format(first=NOV3) not in section.words


# Profit per stock and the allocation by market, by hand: 삼성전자 and SK하이닉스 held from the anchor with an ETF,
# 카카오 bought and sold on D2 (a day trade: in neither close), a dividend of 삼성전자's.
D1, D2 = date(2026, 11, 2), date(2026, 11, 3)
SAMSUNG, HYNIX, KODEX, KAKAO = (
    ("005930", "삼성전자"),
    ("000660", "SK하이닉스"),
    ("069500", "KODEX 200"),
    ("035720", "카카오"),
)
PNL_BOOKS = [
    Book(
        ACCOUNT,
        "KRX",
        at(D1),
        (Line(*SAMSUNG, 10, 80000, 70000), Line(*HYNIX, 5, 150000, 150000), Line(*KODEX, 20, 30000, 30000)),
        deposit_d2=1_000_000,
    ),
    Book(
        ACCOUNT,
        "KRX",
        at(D2),
        (Line(*SAMSUNG, 10, 81000, 70000), Line(*HYNIX, 5, 150000, 150000), Line(*KODEX, 20, 30500, 30000)),
        deposit_d2=1_000_000,
    ),
]


def kakao(number: int, remark: str, amount: int, **extra: str) -> dict[str, str]:
    """2 shares of 카카오 done on D2, booked two days later."""
    code, name = KAKAO
    fields = {"stk_cd": "A" + code, "stk_nm": name, "trde_qty_jwa_cnt": "2", "cntr_dt": f"{D2:%Y%m%d}", **extra}
    return ledger_line(D2 + timedelta(days=2), number, remark, amount, **fields)


PNL_LEDGER = [
    kakao(1, "장내매수", 100_000, cmsn="15"),
    kakao(2, "장내매도", 120_000, cmsn="18", trde_agri_tax="216"),
    ledger_line(D2, 3, "배당금입금", 10_000, stk_cd="A005930", stk_nm="삼성전자", incm_resi_tax="1540"),
]


def test_the_profit_per_stock_and_the_allocation_by_market_are_the_hand_computed_ones(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    load(engine, tmp_path, PNL_BOOKS, PNL_LEDGER)
    markets = [
        {"stock_code": SAMSUNG[0], "name": SAMSUNG[1], "market": "KOSPI"},
        {"stock_code": KODEX[0], "name": KODEX[1], "market": "ETF"},
    ]
    insert_rows(engine, Instrument, "ka10099", markets)  # SK하이닉스 is not in instruments
    page, html = report(db_url, tmp_path)
    (section,) = page.sections
    # Stock, realised, unrealised, dividends, fees + taxes, total; the largest total first, the sold-out 카카오 in.
    assert section.tables["pnl"] == [
        # 10 × (81,000 − 70,000) at the newest close, the dividend 10,000 gross, its 1,540 withheld.
        ["삼성전자 (005930)", "+0", "+110,000", "10,000", "1,540", "+118,460"],
        # 120,000 − 100,000 − the sale's 18 and 216 (inside the realised) − the buy's 15.
        ["카카오 (035720)", "+19,766", "+0", "0", "15", "+19,751"],
        ["KODEX 200 (069500)", "+0", "+10,000", "0", "0", "+10,000"],  # 20 × (30,500 − 30,000)
        ["SK하이닉스 (000660)", "+0", "+0", "0", "0", "+0"],
        # Each column's sum; every sale has its cost, so nothing is marked.
        [EN.pnl_sum, "+19,766", "+120,000", "10,000", "1,555", "+148,211"],
    ]
    assert "pnl-partial" not in html
    # Of the gross assets 810,000 + 750,000 + 610,000 + 1,000,000 cash = 3,170,000, the largest market first.
    assert section.tables["markets"] == [
        ["KOSPI", "810,000", "25.55%"],
        [EN.by_market.unknown, "750,000", "23.66%"],
        ["ETF", "610,000", "19.24%"],
        [EN.cash, "1,000,000", "31.55%"],
    ]
    (donut,) = section.figures["markets"]["data"]
    assert donut["labels"] == ["KOSPI", EN.by_market.unknown, "ETF", EN.cash]
    assert donut["values"] == [810_000, 750_000, 610_000, 1_000_000]
    assert section.tables["dividends"] == [["2026-11", "10,000", "1,540", "8,460"]]  # the dividends view's
    # instruments gives none of them a sector: no allocation by sector, whose one slice would say nothing.
    assert "sectors" not in section.tables and "sectors" not in section.figures


# The allocation by sector and a total that is known in part, by hand: two sectors (삼성전자 and SK하이닉스 in
# 전기전자, NAVER in 서비스업), an ETF whose sector instruments has empty and a code instruments lacks (both in the
# unknown bucket), the cash; 카카오 traded between the closes and a sale of 셀트리온, never held, whose cost is unknown.
NAVER, CELLTRION, UNLISTED = ("035420", "NAVER"), ("068270", "셀트리온"), ("950170", "비상장바이오")
SECTOR_LINES = (
    Line(*SAMSUNG, 10, 100_000, 90_000),  # 1,000,000, +100,000
    Line(*HYNIX, 2, 200_000, 210_000),  # 400,000, −20,000
    Line(*NAVER, 3, 200_000, 200_000),  # 600,000, 0
    Line(*KODEX, 20, 30_000, 29_000),  # 600,000, +20,000
    Line(*UNLISTED, 4, 50_000, 55_000),  # 200,000, −20,000
)
SECTOR_BOOKS = [Book(ACCOUNT, "KRX", at(day), SECTOR_LINES, deposit_d2=1_200_000) for day in (D1, D2)]
UNPRICED_SALE = ledger_line(
    D2 + timedelta(days=2),
    4,
    "장내매도",
    300_000,
    stk_cd="A" + CELLTRION[0],
    stk_nm=CELLTRION[1],
    trde_qty_jwa_cnt="3",
    cntr_dt=f"{D2:%Y%m%d}",
    cmsn="45",
    trde_agri_tax="540",
)
SECTOR_INSTRUMENTS = [
    {"stock_code": SAMSUNG[0], "name": SAMSUNG[1], "market": "KOSPI", "sector": "전기전자"},
    {"stock_code": HYNIX[0], "name": HYNIX[1], "market": "KOSPI", "sector": "전기전자"},
    {"stock_code": NAVER[0], "name": NAVER[1], "market": "KOSPI", "sector": "서비스업"},
    {"stock_code": KODEX[0], "name": KODEX[1], "market": "ETF", "sector": ""},  # sent empty: unknown
]


def test_the_allocation_by_sector_and_the_profit_total_are_the_hand_computed_ones(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    load(engine, tmp_path, SECTOR_BOOKS, [*PNL_LEDGER, UNPRICED_SALE])
    insert_rows(engine, Instrument, "ka10099", SECTOR_INSTRUMENTS)
    page, html = report(db_url, tmp_path)
    (section,) = page.sections
    # Of the gross assets, 2,800,000 held + 1,200,000 cash = 4,000,000: 전기전자 1,000,000 + 400,000; unknown, KODEX
    # 200 (its sector empty) 600,000 + 비상장바이오 (no instrument) 200,000; 서비스업 600,000. The largest first, the
    # cash last.
    assert section.tables["sectors"] == [
        ["전기전자", "1,400,000", "35.00%"],
        [EN.by_sector.unknown, "800,000", "20.00%"],
        ["서비스업", "600,000", "15.00%"],
        [EN.cash, "1,200,000", "30.00%"],
    ]
    (donut,) = section.figures["sectors"]["data"]
    assert donut["labels"] == ["전기전자", EN.by_sector.unknown, "서비스업", EN.cash]
    assert donut["values"] == [1_400_000, 800_000, 600_000, 1_200_000]
    colours = donut["marker"]["colors"]
    assert colours[1] == UNCLASSIFIED and colours[3] == CASH and len({*colours}) == 4
    assert section.tables["markets"] == [
        ["KOSPI", "2,000,000", "50.00%"],
        ["ETF", "600,000", "15.00%"],
        [EN.by_market.unknown, "200,000", "5.00%"],
        [EN.cash, "1,200,000", "30.00%"],
    ]
    # Per stock, the largest total first (equal totals by code); 셀트리온's sale has no cost, so its realised profit
    # (and total) leave it out: marked, and the total's with them. Every other column sums exactly.
    assert section.tables["pnl"] == [
        ["삼성전자 (005930)", "+0", "+100,000", "10,000", "1,540", "+108,460"],
        ["KODEX 200 (069500)", "+0", "+20,000", "0", "0", "+20,000"],
        ["카카오 (035720)", "+19,766", "+0", "0", "15", "+19,751"],
        ["NAVER (035420)", "+0", "+0", "0", "0", "+0"],
        ["셀트리온 (068270)", "+0*", "+0", "0", "0", "+0*"],
        ["SK하이닉스 (000660)", "+0", "-20,000", "0", "0", "-20,000"],
        ["비상장바이오 (950170)", "+0", "-20,000", "0", "0", "-20,000"],
        [EN.pnl_sum, "+19,766*", "+80,000", "10,000", "1,555", "+108,211*"],
    ]
    assert EN.pnl_partial.format(sales=1, stocks=1) in section.words
    # In Korean: the same buckets, named 업종 미상 and 합계.
    page, _ = report(db_url, tmp_path, lang=None)
    (section,) = page.sections
    assert [row[0] for row in section.tables["sectors"]] == ["전기전자", "업종 미상", "서비스업", KO.cash]
    assert section.tables["pnl"][-1][:2] == ["합계", "+19,766*"]


def test_english_with_lang_en_and_a_language_there_is_not_is_a_usage_error(
    loaded: tuple[History, str], tmp_path: Path
) -> None:
    _, url = loaded
    page, html = report(url, tmp_path, "--account", A, lang="en")
    assert '<html lang="en">' in html and EN.heading in html and EN.monthly_heading in html
    assert KO.heading not in html and KO.monthly_heading not in html and "원" not in html
    page, html = report(url, tmp_path, "--account", A, lang=None)  # the default
    assert '<html lang="ko">' in html and KO.heading in html and EN.heading not in html
    result = CliRunner().invoke(cli, ["report", "--database-url", url, "--lang", "fr", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and not (tmp_path / "x").exists()
    assert "Invalid value for '--lang': 'fr' is not one of 'ko', 'en'." in result.output


def test_every_language_has_every_label() -> None:
    assert tuple(LABELS) == REPORT_LANGUAGES  # Korean first: the default
    for words in LABELS.values():
        assert len(words.month_names) == 12
        assert set(words.change_kinds) == {"opened", "closed", "increased", "reduced"}


def test_the_profit_per_stock_of_an_account_whose_ledger_was_never_read_says_so_instead_of_zero(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Snapshots only, no ledger ever read: what was sold, paid as dividends or charged is unknown, not 0 — the table
    showed "+0" realised and a total equal to the unrealised profit, as if nothing had ever been sold."""
    from tests.support.books import import_books

    import_books(engine, PNL_BOOKS, tmp_path / "books")
    page, _ = report(db_url, tmp_path)
    (section,) = page.sections
    unknown = "—"  # the note says why
    assert EN.pnl_no_ledger in section.words
    assert section.tables["pnl"] == [
        ["삼성전자 (005930)", unknown, "+110,000", unknown, unknown, unknown],
        ["KODEX 200 (069500)", unknown, "+10,000", unknown, unknown, unknown],
        ["SK하이닉스 (000660)", unknown, "+0", unknown, unknown, unknown],
        [EN.pnl_sum, unknown, "+120,000", unknown, unknown, unknown],
    ]


def test_a_range_that_ends_on_a_weekend_snapshot_keeps_its_excess_over_the_index(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """Closes on Thursday and Friday and a snapshot on Saturday (taken with --all-hours): on Saturday KOSPI stands at
    Friday's close, as `returns --benchmark` measures it. The report's excess card must not vanish because index_daily
    has no Saturday bar: TWR +1 %, KOSPI 2,525 / 2,500 − 1 = +1 %, excess +0.00 %."""
    thursday, friday, saturday = date(2026, 11, 5), date(2026, 11, 6), date(2026, 11, 7)
    books = [
        Book(ACCOUNT, "KRX", at(day), (), deposit_d2=cash)
        for day, cash in ((thursday, 10_000_000), (friday, 10_100_000), (saturday, 10_100_000))
    ]
    load(engine, tmp_path, books, [])
    rows = [{"index_code": "001", "trade_date": thursday, "close": Decimal("2500.00")}]
    rows += [{"index_code": "001", "trade_date": friday, "close": Decimal("2525.00")}]
    insert_rows(engine, IndexDaily, "ka20006", rows)
    _page, html = report(db_url, tmp_path)
    assert f'<div class="label">{EN.twr}</div><div class="value rise">+1.00%</div>' in html
    assert '<div class="label">Excess over KOSPI (001)</div>' in html
