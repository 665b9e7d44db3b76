"""The docs tell the truth: the data dictionary is generated from the source and lists the models' columns; the quick
start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from etl.apis import Base
from etl.read.dictionary import RELATIONS
from tools.data_dictionary import update_markdown

ROOT = Path(__file__).resolve().parent.parent
DICTIONARY = ROOT / "docs" / "data-dictionary.md"


def documented_columns() -> dict[str, list[str]]:
    text = DICTIONARY.read_text(encoding="utf-8")
    sections = re.split(r"^#{2,3} (?=[a-z_]+ \()", text, flags=re.M)[1:]
    return {section.split()[0]: re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.M) for section in sections}


def test_the_data_dictionary_is_what_the_source_renders_now() -> None:
    text = DICTIONARY.read_text(encoding="utf-8")
    assert update_markdown(text) == text, "the data dictionary is stale: run python3 dev.py docs"


def test_the_data_dictionary_lists_every_column_of_every_table_and_view_in_order() -> None:
    documented = documented_columns()
    assert set(documented) == set(RELATIONS)
    for table in Base.metadata.sorted_tables:
        assert documented[table.name] == [c.name for c in table.columns], table.name
    for name, relation in RELATIONS.items():
        assert documented[name] == [c.name for c in relation.columns], name


def test_the_quick_start_holds_the_demo_and_the_test_commands_and_ci_runs_the_latter() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1]
    block = re.search(r"```[a-z]*\n(.*?)```", quick, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_tells_the_first_retry_wait_the_policy_really_waits() -> None:
    from etl.kiwoom.retry import RetryPolicy

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `KIWOOM_ETL_RETRY_BACKOFF`"))
    low, high = (float(x) for x in re.search(r"\(([\d.]+)–([\d.]+) s by default\)", row).groups())  # type: ignore[union-attr]
    default = RetryPolicy()
    assert f"| `{default.backoff:g}` |" in row
    assert RetryPolicy(jitter=lambda: 0.0).delay(1, None) == low
    assert RetryPolicy(jitter=lambda: 1.0).delay(1, None) == high


def test_new_session_says_it_is_one_a_thread_as_the_fetcher_uses_it() -> None:
    from etl.kiwoom.client import new_session

    doc = " ".join((new_session.__doc__ or "").split())
    assert "every client of a process" not in doc
    assert "not thread-safe" in doc and "one a worker thread" in doc


def test_every_path_the_architecture_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b((?:etl|migrations|docs)/[\w/.-]*\w)", text))
    assert {"etl/store/load.py", "etl/jobs/snapshot.py"} <= named
    assert [path for path in sorted(named) if not (ROOT / path).exists()] == []


def test_dev_py_screenshot_answers_help_and_a_missing_report_before_installing_or_drawing_anything(
    tmp_path: Path,
) -> None:
    """`--help` was taken for a report's path: chromium drew nothing, said 0, and dev.py said docs/report.png was
    written (the committed one was there)."""
    import subprocess
    import sys

    picture = (ROOT / "docs" / "report.png").stat()
    helped = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "screenshot", "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert helped.returncode == 0 and "usage: python3 dev.py screenshot [REPORT.html]" in helped.stderr
    missing = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "screenshot", str(tmp_path / "none.html")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert missing.returncode == 2 and "none.html is not a file" in missing.stderr
    assert "written" not in helped.stderr + missing.stderr
    assert (ROOT / "docs" / "report.png").stat().st_mtime_ns == picture.st_mtime_ns
