"""Text as a person is shown it: the characters that hide or reorder text are written as visible escapes.

What Kiwoom sent (a stock name, a ledger remark typed by whoever sent the money) and what a user configured (an
account's name) are stored as they are; only what is shown — the terminal's tables and lines, the report — passes
through `displayable`.
"""

from __future__ import annotations

import unicodedata

# Controls (C0, DEL, C1 — the tab and the newline too: a cell, a line of output is one line), format characters (the
# bidi overrides and isolates, the zero-width characters), lone surrogates, the line and paragraph separators, and
# the Hangul fillers: letters that draw nothing. Each can hide or reorder what is shown around it (U+202E before
# "(207940)" draws "(049702)"), so each is written as its escape.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def displayable(text: str) -> str:
    """`text` with every invisible or reordering character written as its Python escape (\\u202e), the rest as is."""
    return "".join(ch.encode("unicode_escape").decode("ascii") if _hidden(ch) else ch for ch in text)


def _hidden(ch: str) -> bool:
    return ch in _BLANK_LETTERS or unicodedata.category(ch) in _HIDDEN_CATEGORIES


# The report's languages, its default first: Korean for a Korean investor, English on request (`report --lang en`).
REPORT_LANGUAGES = ("ko", "en")
