"""The report as one self-contained HTML page: plotly's script embedded once, each chart's figure as JSON beside it.

Nothing on the page is fetched from the network, so it opens offline. Every word comes from the language's labels
(etl.read.report_labels: Korean by default); money is whole won with thousands separators, times are in the
configured time zone with its name. Every chart over time spans the same dates (the section's `dates`, from its first
valued day to its last) on one category axis, so that a day sits at the same place in each. Plotly is imported here
only, when a page is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from etl.clock import KST
from etl.files import Protected, write_output
from etl.read.intraday import Fill, Intraday, Moment
from etl.read.report import (
    AccountReport,
    Allocation,
    Benchmark,
    Day,
    Freshness,
    MonthDividends,
    Report,
    StockPnl,
    Valued,
    YearReturns,
    growth_factors,
    percent,
)
from etl.read.report_labels import Breakdown, Labels, fraction_pct, labels, number, pct
from etl.read.returns import DEFAULT_EXCHANGE, AccountReturns
from etl.text import displayable

TITLE = "<title>kiwoom-etl report</title>"  # in a page's first bytes: how the demo knows its own earlier report
FONT_STACK = '"Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif'
RISE, FALL = "#d9363e", "#2b6cc4"  # Korean convention: red goes up, blue goes down
INK, MUTED, GRID = "#1b2536", "#5b6576", "#e6eaf0"
LINE, GROWTH, FLOW, CASH = "#24324a", "#e0761a", "#2f9e5b", "#c5ccd8"
BENCHMARKS = ("#7b8594", "#a57fc4", "#3aa5a0")  # an index's line beside the account's
MARKETS = {"KOSPI": "#2f5d9e", "KOSDAQ": "#e0761a", "KONEX": "#8168b3", "ETF": "#3f9c8c", "ETN": "#d4a12a"}
UNCLASSIFIED = "#9aa3b2"  # OTHER, a code instruments lacks, a sector it has empty
STOCKS = ("#2f5d9e", "#e0761a", "#3f9c8c", "#c44e52", "#8168b3", "#d4a12a", "#5d9bd5", "#7d8b3f", "#b5648a")
SECTORS = ("#3f9c8c", "#8168b3", "#d4a12a", "#c44e52", "#5d9bd5", "#7d8b3f", "#b5648a", "#2f5d9e", "#e0761a")
PARTIAL = "*"  # beside a profit that leaves out a sale whose cost is unknown (the note under the table says so)

_CSS = (
    """
* { box-sizing: border-box; }
body { font-family: FONT; margin: 0; color: INK; background: #f3f5f9; line-height: 1.5; }
header.page { background: linear-gradient(120deg, #17233a, #2a4468); color: #fff; padding: 22px 0 18px; }
header.page .inner, main { max-width: 1180px; margin: 0 auto; padding: 0 28px; }
header.page h1 { font-size: 1.65em; margin: 0 0 4px; font-weight: 700; letter-spacing: -0.01em; }
header.page .meta { color: #c9d4e6; margin: 0; }
header.page .note { color: #dfe6f2; background: rgba(255,255,255,0.08); border-left: 3px solid #8fb0e0;
  margin: 12px 0 0; padding: 6px 12px; border-radius: 4px; }
section.account { background: #fff; border-radius: 12px; box-shadow: 0 1px 3px rgba(23,35,58,0.08);
  padding: 8px 28px 20px; margin: 22px 0; }
h2 { font-size: 1.35em; margin: 16px 0 12px; padding-bottom: 8px; border-bottom: 2px solid GRID; }
h3 { font-size: 1.08em; margin: 26px 0 2px; }
.meta, .empty { color: MUTED; font-size: 0.88em; margin: 2px 0 8px; }
.note { background: #fff7e8; border-left: 4px solid #e0a23a; padding: 6px 12px; border-radius: 4px; }
.empty { font-style: italic; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(196px, 1fr)); gap: 10px; margin: 8px 0; }
.card { background: #f7f9fc; border: 1px solid GRID; border-radius: 10px; padding: 10px 14px; }
.card .label { font-size: 0.8em; color: MUTED; }
.card .value { font-size: 1.3em; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .value.moment { font-size: 1.05em; padding-top: 4px; white-space: nowrap; }
.chart { width: 100%; height: 360px; }
.chart.small { height: 250px; }
.chart.donut { height: 340px; }
.breakdowns .chart.donut { height: 290px; }  /* two side by side, each above its table */
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 28px; align-items: start; }
.pair.allocation { grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 16px; }
.pair.allocation > div:last-child { overflow-x: auto; }  /* a wide table scrolls inside its card */
@media (max-width: 900px) { .pair, .pair.allocation { grid-template-columns: minmax(0, 1fr); } }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 0.88em; width: 100%; }
th, td { border-bottom: 1px solid GRID; padding: 5px 9px; white-space: nowrap; }
th { background: #f3f5f9; text-align: left; font-weight: 600; color: #3a4558; white-space: normal;
  vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.cash td { color: MUTED; background: #fafbfd; }
table.holdings td, table.holdings th { padding: 5px 6px; }  /* seven columns beside the donut, in either language */
tr.total td { font-weight: 700; background: #f7f9fc; border-top: 2px solid #c5ccd8; }
.rise { color: RISE; } .fall { color: FALL; }
table.monthly td, table.monthly th { text-align: center; padding: 6px 4px; font-size: 0.92em; }
table.monthly td.year, table.monthly td.total { font-weight: 700; }
table.monthly td.total { border-left: 2px solid #c5ccd8; }
details summary { cursor: pointer; margin: 14px 0 6px; color: #3a4558; font-weight: 600; }
""".replace("FONT", FONT_STACK)
    .replace("RISE", RISE)
    .replace("FALL", FALL)
    .replace("MUTED", MUTED)
    .replace("GRID", GRID)
    .replace("INK", INK)
)

# Draws every figure whose JSON is on the page, once plotly's script (above it) has defined Plotly.
_LOADER = """
document.querySelectorAll('script.figure').forEach(function (source) {
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(source.dataset.chart, figure.data, figure.layout,
                 {displaylogo: false, responsive: true, typesetMath: false,
                  modeBarButtonsToRemove: ['sendDataToCloud', 'select2d', 'lasso2d']});
});
"""


def write_page(
    report: Report, path: Path, protected: Protected, *, force: bool, option: str = "--out", lang: str = "ko"
) -> int:
    """Render `report` in `lang` and write it to `path` (etl.files.write_output: whole or not at all, never over a
    `protected` file, over an existing one only with `force`); the size in bytes. Raises ConfigError (refused, or no
    such language) or OSError."""
    data = render_html(report, lang).encode("utf-8")
    write_output(path, data, protected, force=force, option=option)
    return len(data)


def is_report(path: Path) -> bool:
    """Whether `path` is a page write_page wrote (its head says so)."""
    if not path.is_file():  # a pipe would block the read
        return False
    try:
        with path.open("rb") as page:
            return TITLE.encode() in page.read(512)
    except OSError:
        return False


def render_html(report: Report, lang: str = "ko") -> str:
    """The page of `report` in `lang`: one section per account × exchange, charts only where there is data."""
    words = labels(lang)
    zone = ZoneInfo(report.timezone)
    page = _Page(zone, words)
    sections = [_account_section(page, account) for account in report.accounts]
    if not sections:
        sections = [f'<p class="empty">{escape(words.no_account)}</p>']
    head = [
        f'<!DOCTYPE html>\n<html lang="{words.lang}">\n<head>\n<meta charset="utf-8">',
        TITLE,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style>\n</head>\n<body>",
        '<header class="page"><div class="inner">',
        f"<h1>{escape(words.heading)}</h1>",
        f'<p class="meta">{escape(_range_words(report, words))} · '
        f"{escape(words.generated.format(moment=_moment(report.generated_at, zone)))} · {text(report.database)}</p>",
        f'<p class="note">{escape(words.exchanges_note)}</p>',
        "</div></header>\n<main>",
    ]
    # Plotly's script once, before the first figure, and only when there is one.
    script = [f"<script>{_plotly_js()}</script>"] if page.figures else []
    tail = [f"<script>{_LOADER}</script>"] if page.figures else []
    return "\n".join([*head, *script, *sections, "</main>", *tail, "</body>\n</html>\n"])


def text(value: str) -> str:
    """Data (a name, a remark, an account, an error) as HTML text or attribute: literal, hidden ones shown."""
    return escape(displayable(value))


def figure_text(value: str) -> str:
    """Data as a plotly figure's text (labels, legends, hovers, titles, annotations): literal, hidden ones shown."""
    # Plotly draws a subset of HTML in its text (<a href>, <b>, <br>, <span style>, …) and decodes the entities of
    # the rest (&amp; &lt; &gt; &#60; …): escaping & < > makes it draw the very characters the data holds. Every
    # text from the data goes into a figure through here.
    return escape(displayable(value), quote=False)


def _range_words(report: Report, words: Labels) -> str:
    since, until = report.selection.since, report.selection.until
    if since and until:
        return words.range_between.format(since=since, until=until)
    if since:
        return words.range_from.format(since=since)
    if until:
        return words.range_until.format(until=until)
    return words.range_all


class _Page:
    """Numbers the charts of a page and keeps the display time zone and the words."""

    def __init__(self, zone: ZoneInfo, words: Labels) -> None:
        self.zone = zone
        self.words = words
        self.figures = 0

    def chart(self, name: str, figure: Any, css: str = "chart") -> str:
        self.figures += 1
        target = f"chart-{self.figures}"
        # "</" cannot end the script element early once written as "<\/", which JSON reads as the same string.
        payload = figure.to_json().replace("</", "<\\/")
        return (
            f'<div id="{target}" class="{css}" data-name="{name}"></div>\n'
            f'<script type="application/json" class="figure" data-chart="{target}" data-name="{name}">'
            f"{payload}</script>"
        )


def _account_section(page: _Page, account: AccountReport) -> str:
    words = page.words
    title = words.account.format(account=text(account.account_no), exchange=text(account.exchange))
    parts = [
        f'<section class="account" data-account="{text(account.account_no)}" data-exchange="{text(account.exchange)}">'
    ]
    parts.append(f"<h2>{title}</h2>")
    if account.exchange_note:
        note = words.fallback_exchange.format(shown=account.exchange, default=DEFAULT_EXCHANGE)
        parts.append(f'<p class="note exchange-note">{text(note)}</p>')
    if not account.days:
        parts.append(f'<p class="empty">{text(words.no_days.format(exchange=account.exchange))}</p>')
    else:
        parts.append(_cards(account, page))
        parts += _notes(account.returns, words)
        if len(account.dates) > 1:
            parts += _over_time_parts(page, account)
        else:  # a line needs two points; the cards above and the table below hold the day's figures
            parts.append(f'<p class="empty">{escape(words.one_day)}</p>')
        parts += _intraday_parts(page, account.intraday)
        parts.append('<div class="pair">')
        parts.append("<div>" + "\n".join(_monthly_parts(account.monthly, words)) + "</div>")
        parts.append("<div>" + "\n".join(_dividends_parts(page, account)) + "</div>")
        parts.append("</div>")
        parts += _allocation_parts(page, account.allocation)
        parts += _pnl_parts(account, words)
        parts += _changes_parts(account, words)
        parts.append(_daily_table(account.days, page))
    parts += _freshness_parts(account.freshness, page)
    parts.append("</section>")
    return "\n".join(parts)


def _card(label: str, value: str, tone: str = "") -> str:
    value_css = f"value {tone}" if tone else "value"
    return (
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="{value_css}">{escape(value)}</div></div>'
    )


def _cards(account: AccountReport, page: _Page) -> str:
    words, last = page.words, account.days[-1]
    cards = [_card(words.net_assets, words.won(last.net_assets))]
    profits = _day_profits(account.valued, from_start=account.from_start)
    if profits and profits[-1] is not None:
        cards.append(_card(words.day_profit, words.won(profits[-1], sign=True), _tone(profits[-1])))
    p = account.returns.performance if account.returns else None
    if p is not None:
        cards.append(_card(words.twr, fraction_pct(p.twr), _sign_tone(p.twr)))
        cards += [
            _card(words.vs_benchmark.format(name=b.name), fraction_pct(b.excess), _sign_tone(float(b.excess)))
            for b in account.benchmarks
            if b.excess is not None
        ]
        cards += [
            _card(words.xirr, fraction_pct(p.xirr), _sign_tone(p.xirr)),
            _card(words.max_drawdown, fraction_pct(p.max_drawdown) if p.max_drawdown < 0 else words.no_drawdown),
        ]
        if account.returns and account.returns.has_ledger:
            cards += [
                _card(words.flows, words.won(p.net_flows, sign=True)),
                _card(words.dividends, words.won(p.dividends)),
                _card(words.fees_taxes, words.won_format.format(f"{p.fees:,} · {p.taxes:,}")),
            ]
        else:  # unknown, not 0: the ledger that would tell them was never read
            cards += [_card(label, words.no_ledger_value) for label in (words.flows, words.dividends, words.fees_taxes)]
    cards += [
        _card(words.profit_loss, words.won(last.total_profit_loss, sign=True), _tone(last.total_profit_loss)),
        _card(words.last_snapshot, _moment(last.time, page.zone), "moment"),
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _notes(returns: AccountReturns | None, words: Labels) -> list[str]:
    if returns is None or returns.performance is None:
        return []
    notes = [] if returns.has_ledger else [words.no_ledger]
    if returns.unvalued_transfers:
        notes.append(words.unvalued_transfers.format(count=returns.unvalued_transfers))
    return [f'<p class="note">{escape(note)}</p>' for note in notes]


def _day_profits(valued: Sequence[Valued], *, from_start: bool = False) -> list[int | None]:
    """Each day's profit in won, its external flow set aside: equity − flow − the previous day's equity (on the first
    day with `from_start`, the empty account's 0)."""
    changes = [d.equity - d.external_flow - p.equity for p, d in zip(valued, valued[1:], strict=False)]
    first = valued[0].equity - valued[0].external_flow if valued and from_start else None
    return [first, *changes] if valued else []


def _over_time_parts(page: _Page, account: AccountReport) -> list[str]:
    """Net assets, the TWR (with any benchmark) and its drawdown, the daily returns and the unrealised profit: one
    chart each, on the section's dates."""
    words, dates, valued = page.words, [d.isoformat() for d in account.dates], account.valued
    estimated = any(v.source == "estimate" for v in valued)
    # From nothing, the base is the start of the first deposit's day, which may come before the first valued day.
    started = account.returns.started if account.from_start and account.returns else None
    base = (words.twr_base_from_start if started else words.twr_base).format(first=started or valued[0].trade_date)
    parts = []
    if len(valued) > 1:
        parts += [
            f"<h3>{escape(words.net_assets_heading)}</h3>",
            f'<p class="meta">{escape(words.net_assets_meta + (words.estimate_note if estimated else ""))}</p>',
            page.chart("net_assets", _net_assets_figure(valued, dates, words)),
            f"<h3>{escape(words.twr_heading)}</h3>",
            f'<p class="meta">{escape(words.twr_meta.format(base=base))}'
            f"{escape(words.benchmark_note) if account.benchmarks else ''}</p>",
            page.chart("returns", _returns_figure(valued, account.benchmarks, dates, words, account.from_start)),
            f"<h3>{escape(words.daily_heading)}</h3>",
            f'<p class="meta">{escape(words.daily_meta)}</p>',
            page.chart("daily_return", _daily_figure(valued, dates, words, account.from_start), "chart small"),
        ]
    if len(account.days) > 1:
        parts += [
            f"<h3>{escape(words.profit_loss_heading)}</h3>",
            f'<p class="meta">{escape(words.profit_loss_meta)}</p>',
            page.chart("profit_loss", _profit_loss_figure(account.days, dates, words), "chart small"),
        ]
    return parts


def _intraday_parts(page: _Page, day: Intraday | None) -> list[str]:
    """The newest day inside: its net assets at each snapshot, the event snapshots marked, the account's fills at
    their time, and the fills' table; a line says when the day had neither a fill nor an event snapshot. Nothing
    without a snapshot that day."""
    if day is None or not day.moments:
        return []
    words, marked = page.words, bool(day.fills or day.events)
    parts = [
        f'<h3 class="intraday">{escape(words.intraday_heading.format(day=day.trade_date))}</h3>',
        f'<p class="meta">{escape(words.intraday_meta + (words.intraday_marks if marked else ""))}</p>',
    ]
    if not marked:
        parts.append(f'<p class="empty intraday-quiet">{escape(words.intraday_quiet)}</p>')
    parts.append(page.chart("intraday", _intraday_figure(day, words)))
    if day.fills:
        rows = [
            [
                _clock(f.kst),
                _stock(f.stock_name, f.stock_code, words),
                text(f.exchange),
                f'<td class="{_side_tone(f.side)}">{escape(words.sides.get(f.side, f.side))}</td>',
                _num(number(f.quantity)),
                _num(number(f.price)),
            ]
            for f in day.fills
        ]
        unit = f" ({words.won_unit})"
        headers = [words.time_kst, words.stock, words.exchange, words.side, words.quantity, words.price + unit]
        table = _table("fills", headers, rows, numeric_from=4)
        summary = escape(words.fills_summary.format(count=len(day.fills)))
        parts.append(f"<details><summary>{summary}</summary>\n{table}\n</details>")
    return parts


def _clock(moment: datetime) -> str:
    """A time of the day to the second, as the zone it is in reads it (the intraday section's: KST)."""
    return moment.strftime("%H:%M:%S")


def _side_tone(side: str) -> str:
    return "rise" if side == "buy" else "fall" if side == "sell" else ""  # a buy red, a sell blue, as Korean HTS


def _intraday_figure(day: Intraday, words: Labels) -> Any:
    """The day's net assets held from each snapshot to the next (a step line), the snapshots as points (the event ones
    as diamonds), and each fill (▲ a buy, ▼ a sell) at its time on the line; x is Seoul's clock."""
    import plotly.graph_objects as go

    def at(moment: datetime) -> str:  # KST as plotly's date axis reads it: a wall clock without a zone
        return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")

    # The hover's lines: the data as text (customdata), the markup only in the template, which holds no data.
    def seen(moment: Moment) -> list[str]:
        return [_clock(moment.kst), figure_text(words.triggers.get(moment.trigger, moment.trigger))]

    def filled(fill: Fill) -> list[str]:
        trade = words.fill_hover.format(
            side=words.sides.get(fill.side, fill.side), quantity=f"{fill.quantity:,}", price=words.won(fill.price)
        )
        stock = _stock_label(fill.stock_name, fill.stock_code, words)
        return [_clock(fill.kst), figure_text(fill.exchange), figure_text(stock), figure_text(trade)]

    figure = go.Figure()
    figure.add_scatter(
        x=[at(m.captured_at) for m in day.moments],
        y=[m.net_assets for m in day.moments],
        name=words.net_assets_line,
        mode="lines",
        line={"color": LINE, "width": 2, "shape": "hv"},
        hoverinfo="skip",
        showlegend=False,
    )
    for name, moments, marker in (
        (words.snapshot, [m for m in day.moments if not m.event], {"color": LINE, "size": 7, "symbol": "circle"}),
        (words.event_snapshot, list(day.events), {"color": GROWTH, "size": 12, "symbol": "diamond"}),
    ):
        if moments:  # a legend names only what the chart shows
            figure.add_scatter(
                x=[at(m.captured_at) for m in moments],
                y=[m.net_assets for m in moments],
                name=name,
                mode="markers",
                marker={**marker, "line": {"color": "#fff", "width": 1.5}},
                customdata=[seen(m) for m in moments],
                hovertemplate="%{customdata[0]} KST · %{customdata[1]}<br>"
                + f"{words.net_assets_line} {_won_hover(words)}<extra></extra>",
            )
    for side, symbol, colour in (("buy", "triangle-up", RISE), ("sell", "triangle-down", FALL)):
        fills = [f for f in day.fills if f.side == side]
        if fills:
            figure.add_scatter(
                x=[at(f.executed_at) for f in fills],
                y=[day.value_at(f.executed_at) for f in fills],
                name=words.sides[side],
                mode="markers",
                marker={"color": colour, "size": 13, "symbol": symbol, "line": {"color": "#fff", "width": 1}},
                customdata=[filled(f) for f in fills],
                hovertemplate="%{customdata[0]} KST · %{customdata[1]}<br>%{customdata[2]}<br>%{customdata[3]}"
                "<extra></extra>",
            )
    values = [m.net_assets for m in day.moments]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.12, abs(high) * 0.002, 1)
    figure.update_layout(_layout(hovermode="closest"))
    figure.update_xaxes(
        type="date",
        tickformat="%H:%M",
        hoverformat="%H:%M:%S",
        title={"text": words.time_kst, "font": {"size": 11, "color": MUTED}},
        showgrid=False,
        linecolor="#c5ccd8",
    )
    figure.update_yaxes(
        tickformat=",.0f", ticksuffix=_unit_suffix(words), range=[low - pad, high + pad], gridcolor=GRID
    )
    return figure


def _sign_tone(value: float | None) -> str:
    return "" if not value else "rise" if value > 0 else "fall"


def _monthly_parts(years: tuple[YearReturns, ...], words: Labels) -> list[str]:
    """The year × month table of the monthly TWR, each cell tinted by its sign and size, with the year's total."""
    parts = [f"<h3>{escape(words.monthly_heading)}</h3>", f'<p class="meta">{escape(words.monthly_meta)}</p>']
    if not years:
        return parts
    scale = max((abs(m) for y in years for m in y.months if m is not None), default=Decimal(0)) or Decimal(1)
    rows = []
    for year in years:
        cells = [f'<td class="year">{year.year}</td>']
        for month in year.months:
            cells.append(_heat(month, scale) if month is not None else "<td></td>")
        cells.append(_heat(year.total, max(scale, abs(year.total)), "total"))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{escape(h)}</th>" for h in (words.year, *words.month_names, words.year_total))
    return [
        *parts,
        f'<table class="monthly" data-table="monthly">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>",
    ]


def _heat(value: Decimal, scale: Decimal, css: str = "") -> str:
    """A cell of the monthly table: red up, blue down, the stronger the larger against the table's largest month."""
    strength = float(min(abs(value) / scale, Decimal(1))) if scale else 0.0
    red, green, blue = (217, 54, 62) if value > 0 else (43, 108, 196)
    alpha = 0.08 + 0.5 * strength if value else 0.0
    ink = "#fff" if alpha > 0.45 else INK
    style = f"background: rgba({red}, {green}, {blue}, {alpha:.2f}); color: {ink}"
    return f'<td class="num {css}" style="{style}">{escape(fraction_pct(value))}</td>'


def _dividends_parts(page: _Page, account: AccountReport) -> list[str]:
    """The dividends of each month of the range (a month without one is 0): a bar of what was paid and what was
    withheld, and the table of the months with a dividend."""
    words = page.words
    parts = [f"<h3>{escape(words.dividends_heading)}</h3>", f'<p class="meta">{escape(words.dividends_meta)}</p>']
    if not account.dividends:
        return [*parts, f'<p class="empty">{escape(words.no_dividends)}</p>']
    parts.append(page.chart("dividends", _dividends_figure(account.dividends, account.dates, words), "chart small"))
    rows = [
        [
            m.month.strftime("%Y-%m"),
            _num(number(m.gross)),
            _num(number(m.tax)),
            _num(number(m.net)),
        ]
        for m in account.dividends
    ]
    unit = f" ({words.won_unit})"
    headers = [words.month, words.gross + unit, words.tax + unit, words.net + unit]
    return [*parts, _table("dividends", headers, rows, numeric_from=1)]


def _allocation_parts(page: _Page, allocation: Allocation | None) -> list[str]:
    if allocation is None:
        return []
    words = page.words
    when = words.allocation_meta.format(day=allocation.trade_date, moment=_moment(allocation.time, page.zone))
    parts = [
        f'<h3>{escape(words.allocation_heading)} · <span class="allocation-date">{allocation.trade_date}</span></h3>',
        f'<p class="meta">{escape(when)}</p>',
    ]
    if not allocation.holdings:
        parts.append(f'<p class="empty">{escape(words.no_holdings.format(day=allocation.trade_date))}</p>')
    if allocation.cash < 0:
        parts.append(f'<p class="note">{escape(words.negative_cash)}</p>')
    rows = [
        [
            _stock(h.stock_name, h.stock_code, words),
            _num(number(h.quantity)),
            _num(number(h.evaluation_amount)),
            _num(pct(weight)),
            _num(number(h.purchase_amount)),
            _num(number(h.profit_loss, sign=True), _tone(h.profit_loss)),
            _num(pct(h.rate_pct, sign=True), _tone(h.profit_loss)),
        ]
        for h, weight in zip(allocation.holdings, allocation.weights_pct, strict=True)
    ]
    rows.append(
        [
            escape(words.cash),
            _num(""),
            _num(number(allocation.cash)),
            _num(pct(allocation.cash_weight_pct)),
            *[_num("")] * 3,
        ]
    )
    unit = f" ({words.won_unit})"
    headers = [
        words.stock,
        words.quantity,
        words.evaluation + unit,
        words.weight,
        words.purchase + unit,
        words.unrealized + unit,  # the profit per stock's word: "profit / loss" overflowed the English card
        words.rate,
    ]
    table = _table("holdings", headers, rows, numeric_from=1, last_row="cash")
    slices = [h for h in allocation.holdings if h.evaluation_amount > 0]
    if not slices and allocation.cash <= 0:
        return [*parts, table]
    donut = page.chart("allocation", _allocation_figure(allocation, words), "chart donut")
    return [
        *parts,
        f'<div class="pair allocation"><div>{donut}</div><div>{table}</div></div>',
        *_breakdown_parts(page, allocation),
    ]


def _breakdown_parts(page: _Page, allocation: Allocation) -> list[str]:
    """The allocation by market and by sector, side by side: each shown once instruments classifies a held stock
    (before it is loaded, one unknown slice would say nothing)."""
    words = page.words
    shown = [
        parts
        for parts in (
            _breakdown(
                page,
                allocation,
                "markets",
                allocation.markets,
                words.by_market,
                lambda market, _: MARKETS.get(market, UNCLASSIFIED),
                lambda market: words.other_market if market == "OTHER" else market,
            ),
            _breakdown(
                page,
                allocation,
                "sectors",
                allocation.sectors,
                words.by_sector,
                lambda _, rank: SECTORS[rank % len(SECTORS)],
            ),
        )
        if parts
    ]
    if not shown:
        return []
    return ['<div class="pair breakdowns">', *(f"<div>{chr(10).join(parts)}</div>" for parts in shown), "</div>"]


def _breakdown(
    page: _Page,
    allocation: Allocation,
    name: str,
    groups: tuple[tuple[str | None, int], ...],
    words: Breakdown,
    colour: Callable[[str, int], str],
    named: Callable[[str], str] = str,
) -> list[str]:
    """The held stocks' evaluations by one class of instruments (`groups`, the largest first; None: not known) and the
    cash, weights of the same gross assets: its heading, a donut and its table. Nothing while no group is known.
    `colour` gives a known group's slice its colour (from its name and its rank), `named` its shown name."""
    if all(group is None for group, _ in groups):
        return []
    total = allocation.total
    shown = [(words.unknown if group is None else named(group), group, amount) for group, amount in groups]
    rows = [
        [text(label), _num(number(amount)), _num(pct(percent(amount, total) if total else None))]
        for label, _, amount in shown
    ]
    rows.append([escape(page.words.cash), _num(number(allocation.cash)), _num(pct(allocation.cash_weight_pct))])
    unit = f" ({page.words.won_unit})"
    headers = [words.column, page.words.evaluation + unit, page.words.weight]
    table = _table(name, headers, rows, numeric_from=1, last_row="cash")
    slices = [
        (figure_text(label), amount, UNCLASSIFIED if group is None else colour(group, rank))
        for rank, (label, group, amount) in enumerate(shown)
        if amount > 0  # a pie has no negative slice
    ]
    if allocation.cash > 0:
        slices.append((figure_text(page.words.cash), allocation.cash, CASH))
    parts = [f"<h3>{escape(words.heading)}</h3>", f'<p class="meta">{escape(words.meta)}</p>']
    if slices:
        parts.append(page.chart(name, _donut(slices, page.words.allocation_total, total, page.words), "chart donut"))
    return [*parts, table]


def _pnl_parts(account: AccountReport, words: Labels) -> list[str]:
    """The profit of each stock since the ledger's start, the largest total first, and their total. A figure that
    leaves out a sale whose cost is unknown is marked, the total's too, and a note says how many sales."""
    if not account.pnl:
        return []
    # Without a ledger, the sales, dividends, fees and taxes are unknown, not 0: only the unrealised profit is shown.
    ledger = account.returns is None or account.returns.has_ledger

    def row(stock: str, p: StockPnl) -> list[str]:
        mark = PARTIAL if p.partial else ""
        unrealized = _num(number(p.unrealized_pnl, sign=True), _tone(p.unrealized_pnl))
        if not ledger:
            unknown = _num("—")  # the note under the table says why; a word in each cell was only noise
            return [stock, unknown, unrealized, unknown, unknown, unknown]
        return [
            stock,
            _num(number(p.realized_pnl, sign=True) + mark, _tone(p.realized_pnl)),
            unrealized,
            _num(number(p.dividends)),
            _num(number(p.fees + p.taxes)),
            _num(number(p.total_pnl, sign=True) + mark, _tone(p.total_pnl)),
        ]

    total = account.pnl_total
    rows = [
        *(row(_stock(p.stock_name, p.stock_code, words), p) for p in account.pnl),
        row(escape(words.pnl_sum), total),
    ]
    unit = f" ({words.won_unit})"
    headers = [
        words.stock,
        words.realized + unit,
        words.unrealized + unit,
        words.dividends + unit,
        words.fees_taxes + unit,
        words.total + unit,
    ]
    parts = [
        f"<h3>{escape(words.pnl_heading)}</h3>",
        f'<p class="meta">{escape(words.pnl_meta)}</p>',
        _table("pnl", headers, rows, numeric_from=1, last_row="total"),
    ]
    if not ledger:
        parts.append(f'<p class="note pnl-no-ledger">{escape(words.pnl_no_ledger)}</p>')
    elif total.partial:
        note = words.pnl_partial.format(sales=total.unpriced_sales, stocks=sum(p.partial for p in account.pnl))
        parts.append(f'<p class="note pnl-partial">{escape(note)}</p>')
    return parts


def _changes_parts(account: AccountReport, words: Labels) -> list[str]:
    days = account.change_days
    span = f"{days[0]} ~ {days[-1]}" if len(days) > 1 else str(days[0])
    parts = [f"<h3>{escape(words.changes_heading.format(days=len(days), span=span))}</h3>"]
    if not account.changes:
        return [*parts, f'<p class="empty">{escape(words.no_changes)}</p>']
    rows = [
        [
            str(c.trade_date),
            _stock(c.stock_name, c.stock_code, words),
            escape(words.change_kinds.get(c.change, c.change)),
            _num(number(c.previous_quantity)),
            _num(number(c.quantity)),
            _num(number(c.quantity_change, sign=True), _tone(c.quantity_change)),
        ]
        for c in account.changes
    ]
    headers = [words.date, words.stock, words.change, words.previous_quantity, words.quantity, words.difference]
    return [*parts, _table("changes", headers, rows, numeric_from=3)]


def _daily_table(days: tuple[Day, ...], page: _Page) -> str:
    words = page.words
    rows = [
        [
            str(d.trade_date),
            _moment(d.time, page.zone),
            _num(str(d.snapshots)),
            _num(number(d.net_assets)),
            _num(number(d.net_assets_change, sign=True), _tone(d.net_assets_change)),
            _num(number(d.total_profit_loss, sign=True), _tone(d.total_profit_loss)),
        ]
        for d in reversed(days)
    ]
    unit = f" ({words.won_unit})"
    headers = [
        words.date,
        words.close,
        words.snapshots,
        words.net_assets + unit,
        words.difference + unit,
        words.profit_loss + unit,
    ]
    summary = escape(words.closes_summary.format(count=len(days)))
    return f"<details><summary>{summary}</summary>\n{_table('days', headers, rows, numeric_from=2)}\n</details>"


def _freshness_parts(freshness: Freshness | None, page: _Page) -> list[str]:
    words, zone = page.words, page.zone
    parts = [f"<h3>{escape(words.freshness_heading)}</h3>"]
    if freshness is None:
        return [*parts, f'<p class="empty">{escape(words.no_runs)}</p>']
    rows = [
        [escape(words.newest_snapshot), _moment(freshness.last_captured_at, zone)],
        [escape(words.newest_success), _moment(freshness.last_success_at, zone)],
        [escape(words.newest_failure), _moment(freshness.last_failure_at, zone)],
        [escape(words.failures), str(freshness.failures_since_success)],
        [escape(words.last_error), text(freshness.last_error or "-")],
    ]
    return [
        *parts,
        f'<p class="meta">{escape(words.freshness_meta)}</p>',
        _table("freshness", ["", words.as_of_now], rows),
    ]


def _table(
    name: str, headers: list[str], rows: list[list[str]], *, numeric_from: int | None = None, last_row: str = ""
) -> str:
    """A table: `headers` are words (escaped here), a row's cells HTML (a <td> of its own, or its content)."""
    head = "".join(
        f'<th class="num">{escape(h)}</th>'
        if numeric_from is not None and i >= numeric_from
        else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    lines = []
    for i, row in enumerate(rows):
        css = f' class="{last_row}"' if last_row and i == len(rows) - 1 else ""
        lines.append(f"<tr{css}>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>")
    body = "\n".join(lines)
    return (
        f'<table class="{name}" data-table="{name}">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _num(value: str, tone: str = "") -> str:
    css = f"num {tone}" if tone else "num"
    return f'<td class="{css}">{escape(value)}</td>'


def _stock(name: str | None, code: str | None, words: Labels) -> str:
    # The name is isolated (<bdi>) so that a right-to-left name cannot move the code beside it.
    shown = f"({text(code or words.no_code)})"
    return f"<bdi>{text(name)}</bdi> {shown}" if name else shown


def _stock_label(name: str | None, code: str | None, words: Labels) -> str:
    """The stock as a figure names it: its name and code (two stocks may share a name, never a code)."""
    shown = f"({code or words.no_code})"
    return f"{name} {shown}" if name else shown


def _tone(value: int | None) -> str:
    return "rise" if value and value > 0 else "fall" if value and value < 0 else ""


def _moment(value: datetime | None, zone: ZoneInfo) -> str:
    """A time as a person reads it: in the display zone, to the minute, with the zone's name."""
    return "-" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _layout(**extra: Any) -> dict[str, Any]:
    return {
        "template": "plotly_white",
        "font": {"family": FONT_STACK, "size": 12, "color": INK},
        "margin": {"l": 78, "r": 24, "t": 16, "b": 36},
        "separators": ".,",
        "hovermode": "x unified",
        "hoverlabel": {"font": {"family": FONT_STACK}},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "font": {"family": FONT_STACK}},
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        **extra,
    }


def _on_dates(figure: Any, dates: list[str]) -> None:
    """Every x axis of `figure` on the section's dates, in order, from the first to the last: the same range in
    every chart over time (trading days only, so no weekend gaps)."""
    figure.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=dates,
        range=[-0.5, len(dates) - 0.5],
        tickangle=0,
        nticks=8,
        showgrid=False,
        linecolor="#c5ccd8",
    )
    figure.update_yaxes(gridcolor=GRID, zerolinecolor="#aab4c3")


def _won_hover(words: Labels, value: str = "%{y:,}") -> str:
    return words.won_format.format(value)


def _net_assets_figure(valued: tuple[Valued, ...], dates: list[str], words: Labels) -> Any:
    """Net assets per day (with the equity the returns use, when collateral loans make it differ) and the days of
    external flows."""
    import plotly.graph_objects as go

    x = [v.trade_date.isoformat() for v in valued]
    figure = go.Figure()
    figure.add_scatter(
        x=x,
        y=[v.net_assets for v in valued],
        name=words.net_assets_line,
        mode="lines+markers",
        line={"color": LINE, "width": 2.5},
        fill="tozeroy",
        fillcolor="rgba(36, 50, 74, 0.06)",
        marker={"size": 5, "symbol": ["circle-open" if v.source == "estimate" else "circle" for v in valued]},
        hovertemplate=_won_hover(words) + f"<extra>{words.net_assets_line}</extra>",
    )
    if any(v.equity != v.net_assets for v in valued):
        figure.add_scatter(
            x=x,
            y=[v.equity for v in valued],
            name=words.equity_line,
            mode="lines",
            line={"color": GROWTH, "width": 1.5, "dash": "dot"},
            hovertemplate=_won_hover(words) + f"<extra>{words.equity_line}</extra>",
        )
    flowed = [v for v in valued if v.external_flow]
    figure.add_scatter(
        x=[v.trade_date.isoformat() for v in flowed],
        y=[v.net_assets for v in flowed],
        name=words.external_flow,
        mode="markers",
        marker={"color": FLOW, "size": 12, "symbol": "diamond", "line": {"color": "#fff", "width": 1.5}},
        customdata=[v.external_flow for v in flowed],
        hovertemplate=_won_hover(words, "%{customdata:+,}") + f"<extra>{words.external_flow}</extra>",
    )
    low = min(v.net_assets for v in valued)
    high = max(v.net_assets for v in valued)
    pad = max((high - low) * 0.08, abs(high) * 0.01, 1)
    figure.update_layout(_layout())
    _on_dates(figure, dates)
    figure.update_yaxes(tickformat=",.0f", ticksuffix=_unit_suffix(words), range=[low - pad, high + pad])
    return figure


def _unit_suffix(words: Labels) -> str:
    return words.won_format.format("").rstrip() if words.won_format.startswith("{}") else ""


def _twr_index(valued: Sequence[Valued], from_start: bool = False) -> list[Fraction]:
    """The TWR index from the first day (from its start with `from_start`), exact: the running product of each day's
    1 + return."""
    growth, index = Fraction(1), []
    for factor in growth_factors(valued, from_start=from_start):
        growth *= 1 if factor is None else factor
        index.append(growth)
    return index


def _returns_figure(
    valued: tuple[Valued, ...],
    benchmarks: tuple[Benchmark, ...],
    dates: list[str],
    words: Labels,
    from_start: bool = False,
) -> Any:
    """The account's TWR since the first day (%) and any benchmark's change since the same day above, the account's
    drawdown (%) below; one value axis each."""
    from plotly.subplots import make_subplots

    x = [v.trade_date.isoformat() for v in valued]
    index = _twr_index(valued, from_start)
    peak, drawdown = Fraction(1), []
    for growth in index:
        peak = max(peak, growth)
        drawdown.append(float(growth / peak - 1) * 100)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.05)
    for colour, benchmark in zip(BENCHMARKS, benchmarks, strict=False):
        figure.add_scatter(
            x=[d.isoformat() for d, _ in benchmark.points],
            y=[float(value) * 100 for _, value in benchmark.points],
            name=figure_text(benchmark.name),
            mode="lines",
            line={"color": colour, "width": 1.8},
            hovertemplate="%{y:+.2f}%<extra>" + figure_text(benchmark.name) + "</extra>",
            row=1,
            col=1,
        )
    figure.add_scatter(
        x=x,
        y=[float(growth - 1) * 100 for growth in index],
        name=words.twr_line,
        mode="lines",
        line={"color": GROWTH, "width": 3},
        fill="tozeroy",
        fillcolor="rgba(224, 118, 26, 0.08)",
        hovertemplate="%{y:+.2f}%<extra>" + words.twr_line + "</extra>",
        row=1,
        col=1,
    )
    figure.add_scatter(
        x=x,
        y=drawdown,
        name=words.drawdown,
        mode="lines",
        fill="tozeroy",
        line={"color": FALL, "width": 1.2},
        fillcolor="rgba(43, 108, 196, 0.25)",
        hovertemplate="%{y:.2f}%<extra>" + words.drawdown + "</extra>",
        row=2,
        col=1,
    )
    figure.update_layout(_layout())
    _on_dates(figure, dates)
    figure.update_yaxes(tickformat="+.1f", ticksuffix="%", zeroline=True, row=1, col=1)
    figure.update_yaxes(tickformat=".1f", ticksuffix="%", row=2, col=1)
    return figure


def _daily_figure(valued: tuple[Valued, ...], dates: list[str], words: Labels, from_start: bool = False) -> Any:
    """Each day's return with its external flow set aside (%), red up and blue down; its profit in won on hover."""
    import plotly.graph_objects as go

    factors, profits = growth_factors(valued, from_start=from_start), _day_profits(valued, from_start=from_start)
    rated = [(v, f, p) for v, f, p in zip(valued, factors, profits, strict=True) if f is not None]
    values = [float(f - 1) * 100 for _, f, _ in rated]
    figure = go.Figure(
        go.Bar(
            x=[v.trade_date.isoformat() for v, _, _ in rated],
            y=values,
            name=words.daily_return,
            marker={"color": [RISE if value > 0 else FALL for value in values]},
            customdata=[p for _, _, p in rated],
            hovertemplate="%{y:+.2f}%<br>"
            + _won_hover(words, "%{customdata:+,}")
            + f"<extra>{words.daily_return}</extra>",
        )
    )
    figure.update_layout(_layout(showlegend=False, bargap=0.25))
    _on_dates(figure, dates)
    figure.update_yaxes(tickformat="+.1f", ticksuffix="%", zeroline=True)
    return figure


def _profit_loss_figure(days: tuple[Day, ...], dates: list[str], words: Labels) -> Any:
    import plotly.graph_objects as go

    values = [d.total_profit_loss for d in days]
    figure = go.Figure(
        go.Scatter(
            x=[d.trade_date.isoformat() for d in days],
            y=values,
            name=words.profit_loss,
            mode="lines+markers",
            line={"color": LINE, "width": 2},
            marker={"color": [RISE if (v or 0) > 0 else FALL for v in values], "size": 7},
            hovertemplate=_won_hover(words, "%{y:+,}") + f"<extra>{words.profit_loss}</extra>",
        )
    )
    figure.update_layout(_layout(showlegend=False))
    _on_dates(figure, dates)
    figure.update_yaxes(tickformat="+,.0f", zeroline=True, zerolinecolor="#8a9bb8")
    return figure


def _dividends_figure(months: tuple[MonthDividends, ...], dates: tuple[date, ...], words: Labels) -> Any:
    """Stacked bars per month of the range, from its first date's month to its last's: paid, then withheld."""
    import plotly.graph_objects as go

    shown = _months(dates[0], dates[-1]) if dates else [m.month for m in months]
    paid = {m.month: m for m in months}
    x = [m.strftime("%Y-%m") for m in shown]
    figure = go.Figure()
    for name, values, colour in (
        (words.net, [paid[m].net if m in paid else 0 for m in shown], FLOW),
        (words.tax, [paid[m].tax if m in paid else 0 for m in shown], "#b9c3d1"),
    ):
        figure.add_bar(
            x=x,
            y=values,
            name=name,
            marker={"color": colour},
            hovertemplate=_won_hover(words) + f"<extra>{name}</extra>",
        )
    figure.update_layout(_layout(barmode="stack", bargap=0.45, legend=_layout()["legend"] | {"traceorder": "normal"}))
    figure.update_xaxes(type="category", showgrid=False, linecolor="#c5ccd8")
    figure.update_yaxes(tickformat=",.0f", gridcolor=GRID)
    return figure


def _months(first: date, last: date) -> list[date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (
            month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)
        )
    return months


def _allocation_figure(allocation: Allocation, words: Labels) -> Any:
    """The allocation by stock: a slice per held stock with an evaluation, and the cash."""
    shown = [h for h in allocation.holdings if h.evaluation_amount > 0]  # a pie has no negative slice
    slices = [
        (figure_text(_stock_label(h.stock_name, h.stock_code, words)), h.evaluation_amount, STOCKS[i % len(STOCKS)])
        for i, h in enumerate(shown)
    ]
    if allocation.cash > 0:
        slices.append((words.cash, allocation.cash, CASH))
    return _donut(slices, words.allocation_total, allocation.total, words)


def _donut(slices: Sequence[tuple[str, int, str]], total_label: str, total: int, words: Labels) -> Any:
    """A donut of (label, won, colour) slices, clockwise from the top, with `total` named in its hole: any
    breakdown of the assets (by stock, by market, by sector)."""
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Pie(
            labels=[label for label, _, _ in slices],
            values=[value for _, value, _ in slices],
            hole=0.58,
            sort=False,
            direction="clockwise",
            textinfo="percent",
            textposition="inside",
            insidetextorientation="horizontal",
            marker={"colors": [colour for _, _, colour in slices], "line": {"color": "#fff", "width": 2}},
            hovertemplate="%{label}<br>" + _won_hover(words, "%{value:,}") + "<br>%{percent}<extra></extra>",
        )
    )
    figure.update_layout(
        _layout(
            hovermode="closest",
            margin={"l": 10, "r": 10, "t": 10, "b": 10},
            legend={"orientation": "v", "x": 1.0, "y": 0.5, "yanchor": "middle", "font": {"family": FONT_STACK}},
            annotations=[  # the total in the hole: two lines, no markup
                {
                    "text": line,
                    "showarrow": False,
                    "font": {"size": size, "family": FONT_STACK, "color": colour},
                    "x": 0.5,
                    "y": y,
                    "xref": "paper",
                    "yref": "paper",
                }
                for line, size, colour, y in ((total_label, 12, MUTED, 0.56), (words.won(total), 15, INK, 0.46))
            ],
        )
    )
    return figure


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    script: str = get_plotlyjs()
    return script
