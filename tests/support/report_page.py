"""A report page as a reader gets it: its sections, each with its tables' body cells and its figures' JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class Section:
    account: str
    exchange: str
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


class Page(HTMLParser):
    """The sections of a report page, each with its tables' body cells and its figures' JSON, as a reader gets them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[Section] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []  # the text of every script that is not a figure
        self.styles: list[str] = []
        self._table: list[list[str]] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._script: tuple[str | None, list[str]] | None = None
        self._style: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.tags.append((tag, named))
        if tag == "section":
            self.sections.append(Section(str(named["data-account"]), str(named["data-exchange"])))
        elif tag == "table":
            self._table = []
            if self.sections:
                self.sections[-1].tables[str(named["data-table"])] = self._table
        elif tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = []
        elif tag == "script":
            self._script = (named.get("data-name") if named.get("class") == "figure" else None, [])
        elif tag == "style":
            self._style = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._row:  # the header row has th cells only
                self._table.append(self._row)
            self._row = None
        elif tag == "script" and self._script is not None:
            name, parts = self._script
            if name is None:
                self.scripts.append("".join(parts))
            else:
                self.sections[-1].figures[name] = json.loads("".join(parts))
            self._script = None
        elif tag == "style" and self._style is not None:
            self.styles.append("".join(self._style))
            self._style = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
            return
        if self._style is not None:
            self._style.append(data)
            return
        if self._cell is not None:
            self._cell.append(data)
        if self.sections:
            self.sections[-1].text.append(data)

    def section(self, account: str) -> Section:
        (found,) = [s for s in self.sections if s.account == account]
        return found
