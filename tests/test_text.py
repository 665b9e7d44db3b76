"""What is shown of a text is what it holds: every character that hides or reorders text as its escape, every other
character as it is."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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


ESCAPE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|[tnr])")


def unescaped(shown: str) -> str:
    return ESCAPE.sub(lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1]) or chr(int(m[1][1:], 16)), shown)


@given(st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Lo", "Ll", "Nd", "Po", "Zs"])))
def test_nothing_hidden_is_left_and_the_escapes_say_exactly_what_was_there(text: str) -> None:
    assume("\\" not in text)
    shown = displayable(text)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in shown)
    assert unescaped(shown) == text
