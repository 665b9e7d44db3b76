"""Properties of the parsers over generated values: exact round trips, and a clean refusal for anything else."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from etl.errors import TransformError
from etl.transform import BIGINT_MAX, BIGINT_MIN, parse_amount, parse_date, parse_rate

kiwoom_amounts = st.integers(min_value=BIGINT_MIN, max_value=BIGINT_MAX)
rates = st.decimals(
    min_value=Decimal("-99999999.9999"),
    max_value=Decimal("99999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


def padded(number: int, width: int = 12, plus: bool = False) -> str:
    """Kiwoom's way of writing an amount: sign first, then zero-padded digits."""
    sign = "-" if number < 0 else ("+" if plus else "")
    return sign + str(abs(number)).zfill(width - len(sign))


@given(kiwoom_amounts, st.integers(min_value=1, max_value=30), st.booleans(), st.sampled_from(["", " ", "  "]))
def test_every_amount_round_trips_exactly(number: int, width: int, plus: bool, spaces: str) -> None:
    assert parse_amount(spaces + padded(number, width, plus) + spaces, "entr") == number


@given(rates, st.integers(min_value=0, max_value=3))
def test_every_rate_round_trips_exactly(rate: Decimal, extra_zeros: int) -> None:
    text = format(rate, "f") + ("0" * extra_zeros if "." in format(rate, "f") else "")
    parsed = parse_rate(text, "pl_rt")
    assert parsed == rate and isinstance(parsed, Decimal)


@given(st.text(max_size=30))
def test_any_text_is_parsed_or_refused_by_name_never_crashes(text: str) -> None:
    for parse in (parse_amount, parse_rate, parse_date):
        try:
            parse(text, "field_x", 3)
        except TransformError as exc:
            assert exc.field == "field_x" and exc.value == text and exc.line == 3
