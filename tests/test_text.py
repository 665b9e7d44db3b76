"""What is shown of a text is what it holds: every character that hides or reorders text as its escape, every other
character as it is."""

from __future__ import annotations

import pytest

from etl.text import displayable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\u202e우선주", r"\u202e우선주"),  # RIGHT-TO-LEFT OVERRIDE
        (
            "a\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069b",
            r"a\u200e\u200f\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069b",
        ),
        ("zero\u200bwidth\ufeff\u00ad\U000e0041", r"zero\u200bwidth\ufeff\xad\U000e0041"),  # other format (Cf)
        ("a\tb\nc\rd\x00e\x1bf\x7fg\x85h", r"a\tb\nc\rd\x00e\x1bf\x7fg\x85h"),  # controls, the tab too
        ("line\u2028para\u2029", r"line\u2028para\u2029"),
        ("\ud800", r"\ud800"),  # a lone surrogate, which no terminal or file can hold
        ("\u3164\u115f\u1160\uffa0", r"\u3164\u115f\u1160\uffa0"),  # the Hangul fillers draw nothing
        ("삼성전자 Samsung 005930 <b>&amp;</b> 'x' \"y\" \\ $", "삼성전자 Samsung 005930 <b>&amp;</b> 'x' \"y\" \\ $"),
        ("\u3000전각 공백 😀 é", "\u3000전각 공백 😀 é"),  # spaces, emoji and accents are text
        ("", ""),
    ],
)
def test_every_invisible_or_reordering_character_is_shown_as_its_escape(text: str, shown: str) -> None:
    assert displayable(text) == shown
