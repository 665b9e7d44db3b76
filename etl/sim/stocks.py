"""The made-up listing the simulator trades: well-known KRX stocks with their base prices, and KRX's price step."""

from __future__ import annotations

# (code, name, base price): well-known KRX names, and a newer code with a letter in it.
STOCKS = [
    ("005930", "삼성전자", 70000),
    ("000660", "SK하이닉스", 182000),
    ("373220", "LG에너지솔루션", 356000),
    ("207940", "삼성바이오로직스", 1012000),
    ("005380", "현대차", 215500),
    ("035420", "NAVER", 198700),
    ("035720", "카카오", 37450),
    ("0001A0", "덕양에너젠", 12850),
    ("068270", "셀트리온", 176300),
    ("105560", "KB금융", 98600),
]


def tick(price: int) -> int:
    """The KRX price step at `price`."""
    for below, step in ((2000, 1), (5000, 5), (20000, 10), (50000, 50), (200000, 100), (500000, 500)):
        if price < below:
            return step
    return 1000


# Beyond the stocks the seeded accounts trade (kept apart, so that their seeded picks stay as they were): a KOSDAQ
# stock and an ETF, and a code no market list kiwoom-etl reads holds (K-OTC), which only ka10100 answers.
LISTED = [
    ("247540", "에코프로비엠", 183500),
    ("069500", "KODEX 200", 35420),
    ("950170", "비상장바이오", 8120),
]
ALL_STOCKS = [*STOCKS, *LISTED]

# The made-up listing: each code's ka10099 lists (mrkt_tp; an ETF is listed on KOSPI's list as well), its sector
# (upName) and listing day (regDay). KOSPI's list names its market 거래소, as Kiwoom does.
LISTS = {code: ("0",) for code, _, _ in STOCKS} | {"247540": ("10",), "069500": ("0", "8"), "950170": ("30",)}
MARKET_NAMES = {"0": "거래소", "10": "코스닥", "8": "ETF", "30": "K-OTC"}
SECTORS = {
    "005930": "전기전자",
    "000660": "전기전자",
    "373220": "전기전자",
    "207940": "의약품",
    "005380": "운수장비",
    "035420": "서비스업",
    "035720": "서비스업",
    "0001A0": "전기가스업",
    "068270": "의약품",
    "105560": "금융업",
    "247540": "일반전기전자",
    "069500": "",
    "950170": "",
}
LISTED_ON = "20100104"  # every made-up code's regDay

# The benchmark indexes: code → (name, base level × 100, as ka20006 sends it).
INDEXES = {"001": ("종합(KOSPI)", 250000), "101": ("종합(KOSDAQ)", 85000)}
