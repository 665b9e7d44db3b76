"""Continuation as the simulator does it: pages of page_size lines with SIM next-keys, and kt00015's and kt00002's
kept lists, which only a continuation repeating the first body may read on."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from etl.sim.accounts import make_account
from etl.sim.call import Call
from etl.sim.pages import Listed, continued_from, page_of

LINES = [{"n": str(n)} for n in range(5)]


def test_pages_and_their_next_keys() -> None:
    pages = [page_of(LINES, start, 2, "kt00015") for start in (0, 2, 4)]
    assert [[line["n"] for line in page] for page, _ in pages] == [["0", "1"], ["2", "3"], ["4"]]
    assert [(headers["cont-yn"], headers["next-key"]) for _, headers in pages] == [
        ("Y", "SIM2"),
        ("Y", "SIM4"),
        ("N", ""),
    ]
    assert all(headers["api-id"] == "kt00015" for _, headers in pages)


def test_a_page_holds_copies_of_the_lines() -> None:
    page, _ = page_of(LINES, 0, 2, "kt00015")
    page[0]["n"] = "spoiled"
    assert LINES[0]["n"] == "0"


@pytest.mark.parametrize(("next_key", "start"), [("SIM4", 4), ("SIM0", 0), ("", None), ("SIMx", None), ("KEY4", None)])
def test_a_continuation_starts_where_its_next_key_says(next_key: str, start: int | None) -> None:
    assert continued_from({"next-key": next_key}) == start


def _call(body: dict[str, Any], headers: dict[str, str] | None = None, empty_form: str = "list") -> Call:
    return Call(make_account(1, 1), body, headers or {}, None, lambda: date(2025, 3, 3), 2, empty_form)  # type: ignore[arg-type]


def _answer(listed: Listed, call: Call, lines: list[dict[str, str]]) -> tuple[dict[str, str], dict[str, Any]]:
    _, headers, text = listed.answer(call, "kt00002", "days", "done", {"top": "1"}, lambda: lines)
    return headers, json.loads(text)


def test_a_continuation_reads_on_in_the_lines_kept() -> None:
    listed = Listed()
    headers, first = _answer(listed, _call({"start_dt": "1"}), LINES)
    assert first == {"top": "1", "days": LINES[:2], "return_code": 0, "return_msg": "done"}
    more = {"cont-yn": "Y", "next-key": headers["next-key"]}
    _, second = _answer(listed, _call({"start_dt": "1"}, more), [])  # kept: not made again
    assert second["days"] == LINES[2:4]


def test_a_continuation_with_another_body_or_none_before_is_refused() -> None:
    more = {"cont-yn": "Y", "next-key": "SIM2"}
    assert _answer(Listed(), _call({"start_dt": "1"}, more), LINES)[1]["return_code"] == 2
    listed = Listed()
    _answer(listed, _call({"start_dt": "1"}), LINES)
    assert _answer(listed, _call({"start_dt": "2"}, more), LINES)[1]["return_code"] == 2


def test_no_data_comes_in_the_form_asked() -> None:
    assert _answer(Listed(), _call({}), [])[1]["days"] == []
    assert _answer(Listed(), _call({}, empty_form="error"), [])[1]["return_code"] == 2000
