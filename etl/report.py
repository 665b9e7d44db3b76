"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from etl.schedule import Schedule
    from etl.snapshot import SnapshotResult
    from etl.status import PairStatus


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the header."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(_pad(value, width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def results_table(results: Sequence[SnapshotResult]) -> str:
    """The short table `snapshot` and `demo` print."""
    return table(
        ["account", "exchange", "status", "positions", "pages", "run", "seconds"],
        [(r.account, r.exchange, r.status, r.positions, r.pages, r.run_id, f"{r.seconds:.2f}") for r in results],
    )


def status_table(pairs: Sequence[PairStatus], schedule: Schedule, now: datetime) -> str:
    """The table `status` prints: times in the schedule's time zone."""

    def when(moment: datetime | None) -> str:
        return "-" if moment is None else schedule.local(moment).strftime("%Y-%m-%d %H:%M:%S")

    def state(pair: PairStatus) -> str:
        return "STALE" if pair.stale else ("ok" if pair.active else "closed")

    zone = schedule.local(now).tzname()
    return table(
        [
            "account",
            "exchange",
            "state",
            f"last success ({zone})",
            "age",
            "last run",
            "failures since",
            f"next slot ({zone})",
        ],
        [
            (
                p.account_no,
                p.exchange,
                state(p),
                when(p.last_success),
                _age(p.age(now)),
                p.last_status,
                p.failures_since,
                when(p.next_slot),
            )
            for p in pairs
        ],
    )


def _age(age: timedelta | None) -> str:
    if age is None:
        return "never"
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _width(text: str) -> int:
    # Hangul and other wide characters take two columns in a terminal.
    return sum(2 if "\u1100" <= ch <= "\uffdc" and not "\ud7b0" <= ch <= "\ud7ff" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
