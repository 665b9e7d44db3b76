"""docs/data-dictionary.md's column tables, rendered from the data dictionary (etl.read.dictionary): every section
between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->` is rewritten, the prose around them is kept.

python -m tools.data_dictionary docs/data-dictionary.md (what `python3 dev.py docs` runs).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from etl.read.dictionary import RELATIONS
from etl.store.dictionary import Relation

_SECTION = re.compile(r"(<!-- generated: (\w+) -->\n).*?(<!-- end generated: \2 -->)", re.S)


def render_markdown(relation: Relation) -> str:
    """The docs' section of one table or view: heading, description and column table."""
    lines = [
        f"{'###' if relation.is_view else '##'} {relation.name} ({relation.label})",
        "",
        relation.description,
        "",
        "| column | type | Kiwoom field | 한글명 | unit | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for column in relation.columns:
        field = f"`{column.field}`" if column.field else ""
        lines.append(
            f"| `{column.name}` | {column.type} | {field} | {column.label} | {column.unit} | {column.meaning} |"
        )
    return "\n".join(lines)


def update_markdown(text: str) -> str:
    """`text` with every generated section rewritten; ValueError when a section is unknown or missing."""
    found: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in RELATIONS:
            raise ValueError(f"generated section {name!r} names no table or view of the data dictionary")
        found.append(name)
        return f"{match.group(1)}{render_markdown(RELATIONS[name])}\n{match.group(3)}"

    updated = _SECTION.sub(fill, text)
    missing = [name for name in RELATIONS if name not in found]
    if missing:
        raise ValueError(f"no generated section for {', '.join(missing)}: add `<!-- generated: NAME -->` markers")
    return updated


def main(argv: list[str]) -> int:
    """Rewrite the generated sections of the Markdown file named by `argv`."""
    if len(argv) != 1:
        print("usage: python -m tools.data_dictionary docs/data-dictionary.md", file=sys.stderr)
        return 2
    path = Path(argv[0])
    path.write_text(update_markdown(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
