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
