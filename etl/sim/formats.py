"""How Kiwoom writes numbers in an answer's fields: zero-padded amounts, and rates as percentages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def amount(value: int, width: int = 12) -> str:
    """Kiwoom's zero-padded amount of `width` characters (12, or 15 in kt00015), sign first."""
    return ("-" if value < 0 else "") + str(abs(value)).zfill(width if value >= 0 else width - 1)


def rate(numerator: int, denominator: int) -> str:
    """Kiwoom's percentage of `numerator` over `denominator`, to four places ("0.00" over nothing)."""
    if denominator == 0:
        return "0.00"
    return str((Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP))
