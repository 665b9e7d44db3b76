"""The report as one self-contained HTML page: plotly's script embedded once, each chart's figure as JSON beside it.

Nothing on the page is fetched from the network, so it opens offline. Money is shown as integer KRW with thousands
separators, times in the configured time zone with its name. Plotly is imported here only, when a page is drawn.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from etl.files import Protected, write_output
from etl.read.report import AccountReport, Allocation, Day, Freshness, Report
from etl.read.returns import AccountReturns
from etl.read.returns import Day as ValueDay
from etl.text import displayable

TITLE = "<title>kiwoom-etl report</title>"  # in a page's first bytes: how the demo knows its own earlier report
FONT_STACK = '"Noto Sans CJK KR", "Noto Sans KR", "Apple SD Gothic Neo", "Malgun Gothic", sans-serif'
RISE, FALL, LINE = "#d62728", "#1f62b4", "#2a3f5f"  # Korean convention: red goes up, blue goes down
GROWTH, FLOW = "#e08a00", "#2ca02c"  # the TWR line; the external flows' markers

_CSS = (
    """
body { font-family: FONT; margin: 0 auto; max-width: 1200px; padding: 16px 24px; color: #1d2433; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
h2 { font-size: 1.3em; margin: 1.6em 0 0.4em; border-bottom: 2px solid #d8dde6; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
.meta, .note, .empty { color: #555f70; }
.note { background: #f4f6fa; border-left: 4px solid #8a9bb8; padding: 6px 10px; }
.empty { font-style: italic; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid #d8dde6; border-radius: 6px; padding: 8px 14px; min-width: 180px; }
.card .label { font-size: 0.85em; color: #555f70; }
.card .value { font-size: 1.25em; font-weight: 600; }
.chart { width: 100%; height: 420px; }
.chart.small { height: 340px; }
table { border-collapse: collapse; margin: 4px 0 12px; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e3e7ee; padding: 4px 10px; }
th { background: #f4f6fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.rise { color: RISE; } .fall { color: FALL; }
details summary { cursor: pointer; margin: 8px 0; }
""".replace("FONT", FONT_STACK)
    .replace("RISE", RISE)
    .replace("FALL", FALL)
)

# Draws every figure whose JSON is on the page, once plotly's script (above it) has defined Plotly.
_LOADER = """
document.querySelectorAll('script.figure').forEach(function (source) {
  var figure = JSON.parse(source.textContent);
  Plotly.newPlot(source.dataset.chart, figure.data, figure.layout,
                 {displaylogo: false, responsive: true, typesetMath: false,
                  modeBarButtonsToRemove: ['sendDataToCloud']});
});
"""


def write_page(report: Report, path: Path, protected: Protected, *, force: bool, option: str = "--out") -> int:
    """Render `report` and write it to `path` (etl.files.write_output: whole or not at all, never over a `protected`
    file, over an existing one only with `force`); the size in bytes. Raises ConfigError (refused) or OSError."""
    data = render_html(report).encode("utf-8")
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


def render_html(report: Report) -> str:
    """The page of `report`: one section per account × exchange, charts only where there is data."""
    zone = ZoneInfo(report.timezone)
    page = _Page(zone)
    sections = [_account_section(page, account) for account in report.accounts]
    if not sections:
        sections = ['<p class="empty">No account has a snapshot or a run in this database yet.</p>']
    head = [
        '<!DOCTYPE html>\n<html lang="ko">\n<head>\n<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        TITLE,
        f"<style>{_CSS}</style>\n</head>\n<body>",
        "<h1>kiwoom-etl report</h1>",
        f'<p class="meta">{escape(_range_words(report))} · generated {_moment(report.generated_at, zone)} · '
        f"{text(report.database)}</p>",
        '<p class="note">Each section shows one exchange. KRX and NXT answers describe the same account (the cash '
        "repeats, the holdings are priced per exchange), so their figures are never added together.</p>",
    ]
    # Plotly's script once, before the first figure, and only when there is one.
    script = [f"<script>{_plotly_js()}</script>"] if page.figures else []
    tail = [f"<script>{_LOADER}</script>"] if page.figures else []
    return "\n".join([*head, *script, *sections, *tail, "</body>\n</html>\n"])


def text(value: str) -> str:
    """Data (a name, a remark, an account, an error) as HTML text or attribute: literal, hidden ones shown."""
    return escape(displayable(value))


def figure_text(value: str) -> str:
    """Data as a plotly figure's text (labels, legends, hovers, titles, annotations): literal, hidden ones shown."""
    # Plotly draws a subset of HTML in its text (<a href>, <b>, <br>, <span style>, …) and decodes the entities of
    # the rest (&amp; &lt; &gt; &#60; …): escaping & < > makes it draw the very characters the data holds. Every
    # text from the data goes into a figure through here.
    return escape(displayable(value), quote=False)


def _range_words(report: Report) -> str:
    since, until = report.selection.since, report.selection.until
    if since and until:
        return f"Trade dates {since} – {until} (Seoul)"
    if since:
        return f"Trade dates from {since} (Seoul)"
    if until:
        return f"Trade dates up to {until} (Seoul)"
    return "Every trade date (Seoul)"


class _Page:
    """Numbers the charts of a page and keeps the display time zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
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
    title = f"Account {text(account.account_no)} · {text(account.exchange)}"
    parts = [
        f'<section class="account" data-account="{text(account.account_no)}" data-exchange="{text(account.exchange)}">'
    ]
    parts.append(f"<h2>{title}</h2>")
    if account.exchange_note:
        parts.append(f'<p class="note exchange-note">{text(account.exchange_note)}</p>')
    if not account.days:
        parts.append(
            f'<p class="empty">No {account.exchange} snapshot of this account in the range: nothing to chart.</p>'
        )
    else:
        parts += [
            _cards(account.days[-1], page.zone),
            "<h3>Net assets per day</h3>",
            '<p class="meta">Net assets = deposit D+2 + evaluation − credit loans − unpaid credit interest, at each '
            "day's close (its last snapshot); the bars are the change from the previous day's close.</p>",
        ]
        if len(account.days) > 1:
            parts += [
                page.chart("net_assets", _net_assets_figure(account.days)),
                "<h3>Unrealised profit and loss per day (evaluation − purchase amount of the holdings)</h3>",
                page.chart("profit_loss", _profit_loss_figure(account.days), "chart small"),
            ]
        else:  # a line needs two points; the cards above and the table below hold the day's figures
            parts.append('<p class="empty">One day in the range: no chart over time (see its close below).</p>')
        parts += _returns_parts(page, account.returns)
        parts += _allocation_parts(page, account.allocation)
        parts += _changes_parts(account)
        parts.append(_daily_table(account.days, page.zone))
    parts += _freshness_parts(account.freshness, page.zone)
    parts.append("</section>")
    return "\n".join(parts)


def _cards(last: Day, zone: ZoneInfo) -> str:
    cards = [
        ("Net assets (KRW)", won(last.net_assets), ""),
        ("Change from the previous close", signed(last.net_assets_change), _tone(last.net_assets_change)),
        ("Profit / loss (KRW)", signed(last.total_profit_loss), _tone(last.total_profit_loss)),
        ("Last snapshot of the newest day", _moment(last.time, zone), ""),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="label">{label}</div><div class="value {tone}">{escape(value)}</div></div>'
            for label, value, tone in cards
        )
        + "</div>"
    )


def _returns_parts(page: _Page, returns: AccountReturns | None) -> list[str]:
    """The returns, deposits set aside: cards of the range's figures and the equity, TWR and drawdown chart."""
    if returns is None or returns.performance is None:
        return []
    p = returns.performance
    parts = [
        "<h3>Returns, deposits and withdrawals set aside</h3>",
        '<p class="meta">Equity = net assets − collateral loans. The time-weighted return (TWR) chains each day\'s '
        "return, (equity − the day's external flow) / the previous day's equity − 1, so a deposit or a withdrawal "
        "moves the equity but not the TWR; the drawdown is the TWR index below its running peak. The first day "
        f"of the range ({p.first}) is the base. Green markers: external flows (deposits, withdrawals, transfers)."
        + (" Hollow markers: kt00002 estimates (no snapshot that day)." if _has_estimates(returns.days) else "")
        + "</p>",
    ]
    if not returns.has_ledger:
        parts.append(
            '<p class="note">No ledger has been read for this account (`kiwoom-etl ledger`): every deposit counts as '
            "return here.</p>"
        )
    if returns.unvalued_transfers:
        parts.append(
            f'<p class="note">{returns.unvalued_transfers} securities transfer(s) on days without a snapshot have '
            "no close price to be valued at: counted as 0 in the flows, so their value shows as return.</p>"
        )
    cards = [
        ("TWR over the range", "—" if p.twr is None else _fraction(p.twr), _sign_tone(p.twr)),
        (
            "Money-weighted (XIRR, a year)",
            "—" if p.xirr is None else _fraction(p.xirr),
            _sign_tone(p.xirr),
        ),
        ("Max drawdown", _fraction(p.max_drawdown) if p.max_drawdown < 0 else "none", ""),
    ]
    if returns.has_ledger:
        cards += [
            ("External flows (KRW)", signed(p.net_flows), ""),
            ("Dividends · fees · taxes (KRW)", f"{p.dividends:,} · {p.fees:,} · {p.taxes:,}", ""),
        ]
    else:  # unknown, not 0: the ledger that would tell them was never read
        cards += [("External flows (KRW)", "— (no ledger)", ""), ("Dividends · fees · taxes (KRW)", "—", "")]
    parts.append(
        '<div class="cards returns">'
        + "".join(
            f'<div class="card"><div class="label">{label}</div><div class="value {tone}">{escape(value)}</div></div>'
            for label, value, tone in cards
        )
        + "</div>"
    )
    parts.append(page.chart("returns", _returns_figure(returns.days)))
    return parts


def _has_estimates(days: tuple[ValueDay, ...]) -> bool:
    return any(d.source == "estimate" for d in days)


def _fraction(value: float) -> str:
    return f"{value * 100:+.2f} %"


def _sign_tone(value: float | None) -> str:
    return "" if not value else "rise" if value > 0 else "fall"


def _returns_figure(days: tuple[ValueDay, ...]) -> Any:
    """Equity (KRW) and the TWR since the first day (%) above, the drawdown (%) below."""
    x = [d.trade_date.isoformat() for d in days]
    growth, peak, twr, drawdown = 1.0, 1.0, [], []
    for day in days[1:]:
        growth *= 1 + (day.daily_return or 0)
        peak = max(peak, growth)
        twr.append(growth - 1)
        drawdown.append(growth / peak - 1)
    twr, drawdown = [0.0, *twr], [0.0, *drawdown]
    figure = _two_panels(specs=[[{"secondary_y": True}], [{}]])
    _amount_line(
        figure,
        x,
        [d.equity for d in days],
        "Equity",
        marker={"symbol": ["circle-open" if d.source == "estimate" else "circle" for d in days]},
    )
    flowed = [d for d in days if d.external_flow]
    figure.add_scatter(
        x=[d.trade_date.isoformat() for d in flowed],
        y=[d.equity for d in flowed],
        name="External flow",
        mode="markers",
        marker={"color": FLOW, "size": 13, "symbol": "diamond"},
        customdata=[d.external_flow for d in flowed],
        hovertemplate="%{customdata:+,} KRW<extra>External flow</extra>",
        row=1,
        col=1,
    )
    figure.add_scatter(
        x=x,
        y=[value * 100 for value in twr],
        name="TWR",
        mode="lines",
        line={"color": GROWTH, "width": 3},
        hovertemplate="%{y:+.2f} %<extra>TWR</extra>",
        row=1,
        col=1,
        secondary_y=True,
    )
    figure.add_scatter(
        x=x,
        y=[value * 100 for value in drawdown],
        name="Drawdown",
        mode="lines",
        fill="tozeroy",
        line={"color": FALL},
        hovertemplate="%{y:.2f} %<extra>Drawdown</extra>",
        row=2,
        col=1,
    )
    figure.update_layout(_layout(showlegend=True, legend={"orientation": "h", "y": 1.08}))
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat=",.0f", title_text="equity, KRW", row=1, col=1, secondary_y=False)
    figure.update_yaxes(
        tickformat="+.1f", ticksuffix=" %", title_text="TWR", row=1, col=1, secondary_y=True, showgrid=False
    )
    figure.update_yaxes(tickformat=".1f", ticksuffix=" %", title_text="drawdown", row=2, col=1)
    return figure


def _allocation_parts(page: _Page, allocation: Allocation | None) -> list[str]:
    if allocation is None:
        return []
    when = f"{allocation.trade_date} (close {_moment(allocation.time, page.zone)})"
    parts = [
        f'<h3>Allocation at the last snapshot of <span class="allocation-date">{allocation.trade_date}</span></h3>',
        f'<p class="meta">Snapshot of {when}. Each stock\'s cash and credit lines are summed; weight = its '
        "evaluation / the close's evaluation; rate = its profit or loss / its purchase amount × 100.</p>",
    ]
    if not allocation.holdings:
        return [*parts, f'<p class="empty">No holdings at the close of {allocation.trade_date}.</p>']
    if any(h.evaluation_amount > 0 for h in allocation.holdings):
        parts.append(page.chart("allocation", _allocation_figure(allocation), "chart small"))
    rows = [
        [
            _stock(h.stock_name, h.stock_code),
            _num(f"{h.quantity:,}"),
            _num(won(h.evaluation_amount)),
            _num(pct(weight)),
            _num(won(h.purchase_amount)),
            _num(signed(h.profit_loss), _tone(h.profit_loss)),
            _num(pct(h.rate_pct, sign=True), _tone(h.profit_loss)),
        ]
        for h, weight in zip(allocation.holdings, allocation.weights_pct, strict=True)
    ]
    headers = ["Stock", "Quantity", "Evaluation (KRW)", "Weight", "Purchase (KRW)", "P&amp;L (KRW)", "Rate"]
    return [*parts, _table("holdings", headers, rows)]


def _changes_parts(account: AccountReport) -> list[str]:
    days = account.change_days
    span = f"{days[0]} – {days[-1]}" if len(days) > 1 else str(days[0])
    parts = [f"<h3>Position changes of the last {len(days)} day(s) in the range ({span})</h3>"]
    if not account.changes:
        return [*parts, '<p class="empty">No stock\'s quantity changed from one close to the next.</p>']
    rows = [
        [
            str(c.trade_date),
            _stock(c.stock_name, c.stock_code),
            c.change,
            _num(f"{c.previous_quantity:,}"),
            _num(f"{c.quantity:,}"),
            _num(f"{c.quantity_change:+,}", _tone(c.quantity_change)),
        ]
        for c in account.changes
    ]
    headers = ["Date", "Stock", "Change", "Previous quantity", "Quantity", "Difference"]
    return [*parts, _table("changes", headers, rows)]


def _daily_table(days: tuple[Day, ...], zone: ZoneInfo) -> str:
    rows = [
        [
            str(d.trade_date),
            _moment(d.time, zone),
            _num(str(d.snapshots)),
            _num(won(d.net_assets)),
            _num(signed(d.net_assets_change), _tone(d.net_assets_change)),
            _num(signed(d.total_profit_loss), _tone(d.total_profit_loss)),
        ]
        for d in reversed(days)
    ]
    headers = ["Date", "Close", "Snapshots", "Net assets (KRW)", "Change (KRW)", "P&amp;L (KRW)"]
    return f"<details><summary>Every day's close ({len(days)})</summary>\n{_table('days', headers, rows)}\n</details>"


def _freshness_parts(freshness: Freshness | None, zone: ZoneInfo) -> list[str]:
    parts = ["<h3>Data freshness</h3>"]
    if freshness is None:
        return [*parts, '<p class="empty">No run of this account × exchange is recorded.</p>']
    rows = [
        ["Newest snapshot", _moment(freshness.last_captured_at, zone)],
        ["Newest successful run (started)", _moment(freshness.last_success_at, zone)],
        ["Newest failed run (started)", _moment(freshness.last_failure_at, zone)],
        ["Failures since the newest success", str(freshness.failures_since_success)],
        ["Last error", text(freshness.last_error or "-")],
    ]
    return [
        *parts,
        '<p class="meta">As the database holds it now, whatever the range.</p>',
        _table("freshness", ["", "as of now"], rows),
    ]


def _table(name: str, headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return (
        f'<table class="{name}" data-table="{name}">\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def _num(value: str, tone: str = "") -> str:
    css = f"num {tone}" if tone else "num"
    return f'<td class="{css}">{escape(value)}</td>'


def _stock(name: str | None, code: str | None) -> str:
    # The name is isolated (<bdi>) so that a right-to-left name cannot move the code beside it.
    shown = f"({text(code or 'no code')})"
    return f"<bdi>{text(name)}</bdi> {shown}" if name else shown


def _tone(value: int | None) -> str:
    return "rise" if value and value > 0 else "fall" if value and value < 0 else ""


def won(value: int | None) -> str:
    """Integer KRW with thousands separators; '-' for nothing."""
    return "-" if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    """Integer KRW with its sign and thousands separators; '-' for nothing."""
    return "-" if value is None else f"{value:+,}"


def pct(value: Decimal | None, *, sign: bool = False) -> str:
    """A percentage to the hundredth; '-' for nothing."""
    if value is None:
        return "-"
    return f"{value:+.2f} %" if sign else f"{value:.2f} %"


def _moment(value: datetime | None, zone: ZoneInfo) -> str:
    """A time as a person reads it: in the display zone, to the minute, with the zone's name."""
    return "-" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _dates(days: tuple[Day, ...]) -> list[str]:
    return [d.trade_date.isoformat() for d in days]


def _layout(**extra: Any) -> dict[str, Any]:
    return {
        "template": "plotly_white",
        "font": {"family": FONT_STACK, "size": 13},
        "margin": {"l": 70, "r": 20, "t": 30, "b": 40},
        "separators": ".,",
        "hovermode": "x unified",
        **extra,
    }


def _two_panels(**extra: Any) -> Any:
    """A figure of two panels on one date axis: a series above (70 % of the height), what moves it below."""
    from plotly.subplots import make_subplots

    return make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.06, **extra)


def _amount_line(figure: Any, x: list[str], values: list[int], name: str, **extra: Any) -> None:
    """The upper panel's line of KRW amounts, called `name` where the pointer rests."""
    figure.add_scatter(
        x=x,
        y=values,
        name=name,
        mode="lines+markers",
        line={"color": LINE},
        hovertemplate=f"%{{y:,}} KRW<extra>{name}</extra>",
        row=1,
        col=1,
        **extra,
    )


def _net_assets_figure(days: tuple[Day, ...]) -> Any:
    figure = _two_panels()
    x = _dates(days)
    _amount_line(figure, x, [d.net_assets for d in days], "Net assets")
    changes = [d.net_assets_change for d in days]
    figure.add_bar(
        x=x,
        y=changes,
        name="Change from the previous close",
        marker={"color": [RISE if (c or 0) > 0 else FALL for c in changes]},
        hovertemplate="%{y:+,} KRW<extra>Change</extra>",
        row=2,
        col=1,
    )
    figure.update_layout(_layout(showlegend=False))
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat=",.0f", title_text="KRW", row=1, col=1)
    figure.update_yaxes(tickformat="+,.0f", title_text="change", row=2, col=1)
    return figure


def _profit_loss_figure(days: tuple[Day, ...]) -> Any:
    import plotly.graph_objects as go

    values = [d.total_profit_loss for d in days]
    figure = go.Figure(
        go.Scatter(
            x=_dates(days),
            y=values,
            name="Profit / loss",
            mode="lines+markers",
            line={"color": LINE},
            marker={"color": [RISE if (v or 0) > 0 else FALL for v in values], "size": 8},
            hovertemplate="%{y:+,} KRW<extra>Profit / loss</extra>",
        )
    )
    figure.update_layout(_layout(showlegend=False))
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat="+,.0f", title_text="KRW", zeroline=True, zerolinecolor="#8a9bb8")
    return figure


def _allocation_figure(allocation: Allocation) -> Any:
    import plotly.graph_objects as go

    shown = [h for h in allocation.holdings if h.evaluation_amount > 0]  # a pie has no negative slice
    figure = go.Figure(
        go.Pie(
            labels=[figure_text(h.label) for h in shown],
            values=[h.evaluation_amount for h in shown],
            hole=0.45,
            sort=False,
            direction="clockwise",
            textinfo="percent",
            textposition="inside",
            hovertemplate="%{label}<br>%{value:,} KRW<br>%{percent}<extra></extra>",
        )
    )
    figure.update_layout(_layout(hovermode="closest", legend={"font": {"family": FONT_STACK}}))
    return figure


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    script: str = get_plotlyjs()
    return script
