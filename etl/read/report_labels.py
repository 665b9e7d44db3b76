"""Every word the report shows, one table per language (etl.text.REPORT_LANGUAGES), and how it writes numbers.

The page takes its text from here only, so that a language is complete or the type checker says which label it
lacks. Money is whole won with thousands separators (원 in Korean, KRW in English), rates are percentages to the
hundredth, dates are YYYY-MM-DD in both languages. A label with {braces} is a format string; the data put into it
is escaped by the page, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from etl.errors import ConfigError
from etl.text import REPORT_LANGUAGES


@dataclass(frozen=True)
class Breakdown:
    """The words of one allocation by a class instruments gives a stock (its market, its sector): drawn alike."""

    heading: str
    meta: str
    column: str  # the table's first header: what a row is
    unknown: str  # the bucket of the held stocks the class is not known for


@dataclass(frozen=True)
class Labels:
    """The words of one language."""

    lang: str  # the page's <html lang>
    heading: str
    range_all: str
    range_between: str
    range_from: str
    range_until: str
    generated: str
    exchanges_note: str
    no_account: str
    account: str
    fallback_exchange: str
    no_days: str
    one_day: str
    won_unit: str  # a table header's unit
    won_format: str  # an amount with its unit

    # The cards.
    net_assets: str
    day_profit: str
    twr: str
    xirr: str
    max_drawdown: str
    no_drawdown: str
    flows: str
    dividends: str
    fees_taxes: str
    no_ledger_value: str
    profit_loss: str
    last_snapshot: str

    # The charts over time.
    net_assets_heading: str
    net_assets_meta: str
    net_assets_line: str
    equity_line: str
    external_flow: str
    estimate_note: str
    twr_heading: str
    twr_meta: str  # {base}: twr_base, or twr_base_from_start for a range from the first deposit
    twr_base: str
    twr_base_from_start: str
    twr_line: str
    drawdown: str
    benchmark_note: str
    daily_heading: str
    daily_meta: str
    daily_return: str
    profit_loss_heading: str
    profit_loss_meta: str
    no_ledger: str
    unvalued_transfers: str

    # The last day inside: its snapshots, the event ones marked, and its fills.
    intraday_heading: str
    intraday_meta: str
    intraday_marks: str  # what the event snapshots' and the fills' markers are, when the day has any
    intraday_quiet: str  # a day without a fill or an event snapshot
    snapshot: str
    event_snapshot: str
    triggers: dict[str, str]  # etl_runs.trigger as a reader names it; another is shown as stored
    sides: dict[str, str]  # buy, sell
    fill_hover: str
    fills_summary: str
    time_kst: str
    side: str
    price: str
    exchange: str

    # The monthly returns and the dividends.
    monthly_heading: str
    monthly_meta: str
    month_names: tuple[str, ...]
    year: str
    year_total: str
    dividends_heading: str
    dividends_meta: str
    no_dividends: str
    month: str
    gross: str
    tax: str
    net: str

    # The allocation and the holdings.
    allocation_heading: str
    allocation_meta: str
    allocation_total: str
    cash: str
    negative_cash: str
    no_holdings: str
    stock: str
    quantity: str
    evaluation: str
    weight: str
    purchase: str
    rate: str
    no_code: str

    # The indexes beside the TWR, the allocation by market and by sector, the profit per stock.
    vs_benchmark: str
    by_market: Breakdown
    other_market: str
    by_sector: Breakdown
    pnl_heading: str
    pnl_meta: str
    realized: str
    unrealized: str
    total: str
    pnl_sum: str  # the total row's first cell
    pnl_partial: str  # when a stock's realised profit leaves out a sale whose cost is unknown
    pnl_no_ledger: str  # when the account's ledger was never read: only the unrealised profit is known

    # The position changes, the closes, the freshness.
    changes_heading: str
    no_changes: str
    date: str
    change: str
    change_kinds: dict[str, str]
    previous_quantity: str
    difference: str
    closes_summary: str
    close: str
    snapshots: str
    freshness_heading: str
    freshness_meta: str
    no_runs: str
    as_of_now: str
    newest_snapshot: str
    newest_success: str
    newest_failure: str
    failures: str
    last_error: str

    def won(self, value: int | None, *, sign: bool = False) -> str:
        """An amount of won with its unit and thousands separators ('-' for nothing)."""
        if value is None:
            return "-"
        return self.won_format.format(f"{value:+,}" if sign else f"{value:,}")

    def month_name(self, month: int) -> str:
        return self.month_names[month - 1]


def number(value: int | None, *, sign: bool = False) -> str:
    """An integer with thousands separators ('-' for nothing): a table's cell, its unit in the header."""
    if value is None:
        return "-"
    return f"{value:+,}" if sign else f"{value:,}"


def pct(value: Decimal | None, *, sign: bool = False) -> str:
    """A percentage to the hundredth ('-' for nothing)."""
    if value is None:
        return "-"
    return f"{value:+.2f}%" if sign else f"{value:.2f}%"


def fraction_pct(value: Decimal | float | None) -> str:
    """A fraction (0.0123) as a signed percentage to the hundredth (+1.23%); '-' for nothing."""
    if value is None:
        return "-"
    return f"{Decimal(value) * 100:+.2f}%" if isinstance(value, Decimal) else f"{value * 100:+.2f}%"


KO = Labels(
    lang="ko",
    heading="키움증권 계좌 리포트",
    range_all="전체 기간",
    range_between="{since} ~ {until}",
    range_from="{since}부터",
    range_until="{until}까지",
    generated="작성 {moment}",
    exchanges_note="계좌마다 한 거래소(KRX 또는 NXT)의 기록을 보여 줍니다. 두 거래소의 응답은 같은 계좌를 가리키므로"
    " (예수금은 같고 보유 종목만 거래소 가격으로 평가) 합산하지 않습니다.",
    no_account="이 데이터베이스에는 아직 스냅샷이나 수집 기록이 있는 계좌가 없습니다.",
    account="계좌 {account} · {exchange}",
    fallback_exchange="{shown}를 표시합니다: 이 계좌에는 {default} 스냅샷이 없습니다.",
    no_days="이 기간에 이 계좌의 {exchange} 스냅샷이 없어 그릴 차트가 없습니다.",
    one_day="이 기간에는 하루뿐이라 날짜별 차트가 없습니다 (아래 장중 흐름과 표의 종가를 보세요).",
    won_unit="원",
    won_format="{}원",
    net_assets="순자산",
    day_profit="마지막 날 손익 (입출금 제외)",
    twr="기간 수익률 (TWR)",
    xirr="금액가중 수익률 (XIRR, 연)",
    max_drawdown="최대 낙폭",
    no_drawdown="없음",
    flows="순입금 (입금 − 출금 ± 입출고)",
    dividends="배당금 (세전)",
    fees_taxes="수수료 · 세금",
    no_ledger_value="— (거래내역 없음)",
    profit_loss="평가손익",
    last_snapshot="마지막 스냅샷",
    net_assets_heading="순자산 추이",
    net_assets_meta="순자산 = 예수금(D+2) + 평가금액 − 신용융자 − 미납 신용이자, 매일 마지막 스냅샷 기준."
    " ◆ 표시는 입금·출금·입출고가 있었던 날입니다.",
    net_assets_line="순자산",
    equity_line="자기자본 (순자산 − 담보대출)",
    external_flow="입출금",
    estimate_note=" 속이 빈 점은 스냅샷이 없는 날의 kt00002 추정값입니다.",
    twr_heading="누적 수익률 (시간가중, TWR)",
    twr_meta="입출금을 뺀 날마다의 수익률, (자기자본 − 그날의 입출금) / 전날 자기자본 − 1, 을 이어 곱한 값입니다."
    " 입금이나 출금은 자기자본을 움직여도 수익률은 움직이지 않습니다. {base} 아래 칸은 고점 대비 낙폭입니다.",
    twr_base="기간의 첫날({first}) 종가가 기준(0%)입니다.",
    twr_base_from_start="기간이 빈 계좌의 첫 입금으로 시작하므로, 그 입금일({first})의 시작이 기준(0%)이고 첫날의"
    " 수익률도 들어갑니다.",
    twr_line="내 계좌",
    drawdown="낙폭",
    benchmark_note=" 지수는 같은 기준부터의 등락률입니다. 지수 자료가 그보다 늦게 시작하면 그날 내 계좌 선에서"
    " 출발합니다.",
    daily_heading="일간 수익률 (입출금 제외)",
    daily_meta="그날의 손익을 전날 자기자본으로 나눈 값으로, 입금·출금·입출고는 빼고 계산합니다. 막대에 마우스를"
    " 올리면 손익 금액도 보입니다.",
    daily_return="일간 수익률",
    profit_loss_heading="평가손익 추이",
    profit_loss_meta="보유 종목의 평가금액 − 매입금액, 매일 마지막 스냅샷 기준.",
    no_ledger="이 계좌의 거래내역(kiwoom-etl ledger)을 읽은 적이 없어, 입금도 수익으로 계산됩니다.",
    unvalued_transfers="스냅샷이 없는 날의 주식 입출고 {count}건은 평가할 종가가 없어 0으로 계산했습니다"
    " (그 가치가 수익으로 보입니다).",
    intraday_heading="장중 흐름 · {day}",
    intraday_meta="기간의 마지막 날, 스냅샷마다의 순자산입니다 (일별 차트와 같은 값). 선은 한 스냅샷의 값을"
    " 다음 스냅샷까지 이어 그립니다. 시각은 한국 시간(KST)입니다.",
    intraday_marks=" ◆는 체결이나 재연결 뒤 실시간 수신이 찍은 이벤트 스냅샷, ▲ 매수와 ▼ 매도는 그날 이 계좌의"
    " 체결(KRX·NXT 모두)로, 체결 시각 직전 스냅샷의 높이에 놓입니다.",
    intraday_quiet="이날은 체결도 이벤트 스냅샷도 없었습니다.",
    snapshot="스냅샷",
    event_snapshot="이벤트 스냅샷",
    triggers={
        "scheduled": "정기",
        "end_of_day": "장 마감",
        "event": "체결 후",
        "catch_up": "재연결 후",
        "manual": "수동",
        "import": "가져오기",
        "replay": "재처리",
    },
    sides={"buy": "매수", "sell": "매도"},
    fill_hover="{side} {quantity}주 × {price}",
    fills_summary="이날 체결 ({count}건)",
    time_kst="시각 (KST)",
    side="구분",
    price="체결가",
    exchange="거래소",
    monthly_heading="월별 수익률",
    monthly_meta="달마다 일간 수익률을 정확히 이어 곱한 시간가중 수익률입니다. 첫 달은 기간의 첫날 종가부터,"
    " 마지막 달은 마지막 날까지입니다. 빨강은 상승, 파랑은 하락.",
    month_names=tuple(f"{m}월" for m in range(1, 13)),
    year="연도",
    year_total="연간",
    dividends_heading="월별 배당금",
    dividends_meta="거래내역의 배당 입금, 지급일(결제일) 기준. 세전 금액과 원천징수 세액, 실수령액.",
    no_dividends="이 기간에 배당 입금이 없습니다.",
    month="월",
    gross="세전",
    tax="원천징수",
    net="실수령",
    allocation_heading="자산 구성",
    allocation_meta="{day} 종가({moment}) 기준. 비중 = 금액 / (예수금 D+2 + 보유 종목 평가금액); 신용·담보"
    " 대출은 조각이 아니라 순자산에서 빠집니다. 한 종목의 현금·신용 보유분은 합산합니다.",
    allocation_total="총자산",
    cash="예수금 (D+2)",
    negative_cash="예수금(D+2)이 음수라 도넛에서는 뺐습니다.",
    no_holdings="{day} 종가에 보유 종목이 없습니다.",
    stock="종목",
    quantity="수량",
    evaluation="평가금액",
    weight="비중",
    purchase="매입금액",
    rate="수익률",
    no_code="코드 없음",
    vs_benchmark="{name} 대비 초과수익",
    by_market=Breakdown(
        heading="시장별 구성",
        meta="보유 종목 평가금액을 종목 마스터(instruments)의 시장별로 더했습니다. 마스터에 없는 종목은 미분류입니다.",
        column="시장",
        unknown="미분류",
    ),
    other_market="기타",
    by_sector=Breakdown(
        heading="업종별 구성",
        meta="보유 종목 평가금액을 종목 마스터(instruments)의 업종(키움 upName)별로 더했습니다. 마스터에 없거나 업종이"
        " 비어 있는 종목(ETF 등)은 업종 미상으로 모읍니다.",
        column="업종",
        unknown="업종 미상",
    ),
    pnl_heading="종목별 손익",
    pnl_meta="원장 시작부터 최신 종가까지(기간과 무관, 거래소 구분 없음): 실현 + 평가 + 배당 − 수수료·세금. 매도 때의"
    " 수수료·세금은 실현손익에 이미 들어 있습니다. 전량 매도한 종목도 포함합니다. 합계는 각 열의 정확한 합입니다."
    " 매입원가를 알 수 없는 매도는 실현손익에서 빠지므로, 그런 종목과 합계의 실현손익·총손익에는 * 표시를 합니다"
    " (알려진 부분만의 합).",
    realized="실현손익",
    unrealized="평가손익",
    total="총손익",
    pnl_sum="합계",
    pnl_partial="* 매입원가를 알 수 없는 매도 {sales}건({stocks}종목: 거래내역의 공백이나 평가할 수 없는 입고)이"
    " 실현손익에서 빠져 있습니다. * 표시된 값과 합계는 그 매도를 뺀 값이라 실제 손익과 다를 수 있습니다.",
    pnl_no_ledger="이 계좌의 거래내역(kiwoom-etl ledger)을 읽은 적이 없어 매도·배당·수수료·세금을 알 수"
    " 없습니다: 평가손익만 최신 스냅샷의 값이고, 전량 매도한 종목은 보이지 않습니다.",
    changes_heading="최근 {days}거래일의 보유 변동 ({span})",
    no_changes="전날 종가와 비교해 수량이 바뀐 종목이 없습니다.",
    date="날짜",
    change="변동",
    change_kinds={"opened": "신규", "closed": "전량 매도", "increased": "증가", "reduced": "감소"},
    previous_quantity="이전 수량",
    difference="차이",
    closes_summary="날짜별 종가 ({count}일)",
    close="종가 시각",
    snapshots="스냅샷",
    freshness_heading="데이터 수집 상태",
    freshness_meta="기간과 상관없이 지금 데이터베이스 기준입니다.",
    no_runs="이 계좌 × 거래소의 수집 기록이 없습니다.",
    as_of_now="현재",
    newest_snapshot="최근 스냅샷",
    newest_success="최근 성공한 수집 (시작)",
    newest_failure="최근 실패한 수집 (시작)",
    failures="최근 성공 이후 실패",
    last_error="마지막 오류",
)

EN = Labels(
    lang="en",
    heading="Kiwoom account report",
    range_all="Every trade date",
    range_between="{since} – {until}",
    range_from="From {since}",
    range_until="Up to {until}",
    generated="generated {moment}",
    exchanges_note="Each section shows one exchange. KRX and NXT answers describe the same account (the cash repeats,"
    " the holdings are priced per exchange), so their figures are never added together.",
    no_account="No account has a snapshot or a run in this database yet.",
    account="Account {account} · {exchange}",
    fallback_exchange="{shown} shown: this account has no {default} snapshot.",
    no_days="No {exchange} snapshot of this account in the range: nothing to chart.",
    one_day="One day in the range: no chart across days (see the day's snapshots and its close below).",
    won_unit="KRW",
    won_format="{} KRW",
    net_assets="Net assets",
    day_profit="Last day's profit (flows set aside)",
    twr="Return over the range (TWR)",
    xirr="Money-weighted (XIRR, a year)",
    max_drawdown="Max drawdown",
    no_drawdown="none",
    flows="External flows (in − out ± transfers)",
    dividends="Dividends (gross)",
    fees_taxes="Fees · taxes",
    no_ledger_value="— (no ledger)",
    profit_loss="Unrealised profit / loss",
    last_snapshot="Last snapshot",
    net_assets_heading="Net assets",
    net_assets_meta="Net assets = deposit D+2 + evaluation − credit loans − unpaid credit interest, at each day's"
    " close (its last snapshot). Diamonds: days with a deposit, a withdrawal or a transfer.",
    net_assets_line="Net assets",
    equity_line="Equity (net assets − collateral loans)",
    external_flow="External flow",
    estimate_note=" Hollow markers: kt00002 estimates (no snapshot that day).",
    twr_heading="Cumulative return (time-weighted, TWR)",
    twr_meta="Each day's return with its flows set aside, (equity − the day's external flow) / the previous day's"
    " equity − 1, chained: a deposit or a withdrawal moves the equity, not the return. {base} Below, the drawdown"
    " from the running peak.",
    twr_base="The range's first day's close ({first}) is the base (0%).",
    twr_base_from_start="The range starts with the first deposit into an empty account, so the base (0%) is the start"
    " of that deposit's day ({first}), and the first day's return counts.",
    twr_line="This account",
    drawdown="Drawdown",
    benchmark_note=" An index is its change from the same base; one whose data starts later starts on this"
    " account's line that day.",
    daily_heading="Daily return (external flows set aside)",
    daily_meta="The day's profit over the previous day's equity, deposits, withdrawals and transfers set aside;"
    " the pointer on a bar shows the profit in KRW too.",
    daily_return="Daily return",
    profit_loss_heading="Unrealised profit and loss",
    profit_loss_meta="Evaluation − purchase amount of the holdings, at each day's close.",
    no_ledger="No ledger has been read for this account (kiwoom-etl ledger): every deposit counts as return here.",
    unvalued_transfers="{count} securities transfer(s) on days without a snapshot have no close price to be valued"
    " at: counted as 0 in the flows, so their value shows as return.",
    intraday_heading="The last day · {day}",
    intraday_meta="The range's last day, the net assets at each snapshot (the daily charts' value); the line holds a"
    " snapshot's value until the next. Times in Korean Standard Time (KST).",
    intraday_marks=" Diamonds: event snapshots, taken by the real-time feed after a fill or a reconnect. ▲ buys and"
    " ▼ sells: the account's fills that day (KRX and NXT alike), at the height of the snapshot before them.",
    intraday_quiet="No fill and no event snapshot that day.",
    snapshot="Snapshot",
    event_snapshot="Event snapshot",
    triggers={
        "scheduled": "scheduled",
        "end_of_day": "end of day",
        "event": "after a fill",
        "catch_up": "after a reconnect",
        "manual": "manual",
        "import": "import",
        "replay": "replay",
    },
    sides={"buy": "Buy", "sell": "Sell"},
    fill_hover="{side} {quantity} × {price}",
    fills_summary="The day's fills ({count})",
    time_kst="Time (KST)",
    side="Side",
    price="Price",
    exchange="Exchange",
    monthly_heading="Monthly returns",
    monthly_meta="Each month's time-weighted return, its daily returns chained exactly. The first month starts"
    " at the range's first close, the last ends at its last day. Red: up, blue: down.",
    month_names=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    year="Year",
    year_total="Year",
    dividends_heading="Dividends by month",
    dividends_meta="The ledger's dividend lines, by the month they were booked (settlement date): before"
    " withholding, the tax withheld, and what was paid.",
    no_dividends="No dividend was booked in the range.",
    month="Month",
    gross="Gross",
    tax="Withheld",
    net="Paid",
    allocation_heading="Allocation",
    allocation_meta="At the close of {day} ({moment}). Weight = amount / (cash D+2 + the holdings' evaluation);"
    " credit and collateral loans are no slice, net assets subtract them. A stock's cash and credit lines are"
    " summed.",
    allocation_total="Gross assets",
    cash="Cash (deposit D+2)",
    negative_cash="The cash (deposit D+2) is negative: left out of the donut.",
    no_holdings="No holdings at the close of {day}.",
    stock="Stock",
    quantity="Shares",
    evaluation="Evaluation",
    weight="Weight",
    purchase="Purchase",
    rate="Rate",
    no_code="no code",
    vs_benchmark="Excess over {name}",
    by_market=Breakdown(
        heading="Allocation by market",
        meta="The holdings' evaluations summed by the market the instrument master (instruments) gives; a stock it"
        " lacks is unclassified.",
        column="Market",
        unknown="unclassified",
    ),
    other_market="Other",
    by_sector=Breakdown(
        heading="Allocation by sector",
        meta="The holdings' evaluations summed by the sector the instrument master (instruments) gives (Kiwoom's"
        " upName); a stock it lacks, or whose sector is empty (an ETF, say), is in Unknown sector.",
        column="Sector",
        unknown="Unknown sector",
    ),
    pnl_heading="Profit per stock",
    pnl_meta="Since the ledger's start, to the newest close (whatever the range, both exchanges as one account):"
    " realised + unrealised + dividends − fees and taxes. A sale's own fees and taxes are inside its realised"
    " profit. Sold-out stocks are included. The total row is each column's exact sum. A sale whose cost is unknown"
    " is left out of the realised profit: such a stock's realised and total profit, and the total's, are marked *"
    " (the known part only).",
    realized="Realised",
    unrealized="Unrealised",
    total="Total",
    pnl_sum="Total",
    pnl_partial="* {sales} sale(s) of {stocks} stock(s) have no known cost (a gap in the ledger, a transfer in that"
    " could not be valued) and are left out of the realised profit: the figures marked *, the total's among them,"
    " leave them out and may differ from the true profit.",
    pnl_no_ledger="No ledger has been read for this account (kiwoom-etl ledger), so its sales, dividends, fees and"
    " taxes are unknown: only the unrealised profit is known (the newest snapshot's), and sold-out stocks are missing.",
    changes_heading="Position changes of the last {days} day(s) in the range ({span})",
    no_changes="No stock's quantity changed from one close to the next.",
    date="Date",
    change="Change",
    change_kinds={"opened": "opened", "closed": "closed", "increased": "increased", "reduced": "reduced"},
    previous_quantity="Previous quantity",
    difference="Difference",
    closes_summary="Every day's close ({count})",
    close="Close",
    snapshots="Snapshots",
    freshness_heading="Data freshness",
    freshness_meta="As the database holds it now, whatever the range.",
    no_runs="No run of this account × exchange is recorded.",
    as_of_now="as of now",
    newest_snapshot="Newest snapshot",
    newest_success="Newest successful run (started)",
    newest_failure="Newest failed run (started)",
    failures="Failures since the newest success",
    last_error="Last error",
)

LABELS = {"ko": KO, "en": EN}


def labels(lang: str) -> Labels:
    """The words of `lang`; ConfigError naming the languages there are for any other."""
    if lang not in LABELS:
        raise ConfigError(f"no report in {lang!r}: the report's languages are {', '.join(REPORT_LANGUAGES)}")
    return LABELS[lang]
