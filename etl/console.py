"""Plain-text tables for the terminal: columns that line up, Hangul counted as two columns wide."""

from __future__ import annotations

from collections.abc import Sequence

from etl.text import displayable


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the header; cells shown displayable."""
    cells = [[str(h) for h in headers]] + [["" if v is None else displayable(str(v)) for v in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(_pad(value, width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    # Hangul and other wide characters take two columns in a terminal.
    return sum(2 if "\u1100" <= ch <= "\uffdc" and not "\ud7b0" <= ch <= "\ud7ff" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
