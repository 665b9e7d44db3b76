"""Properties of the parsers over generated values: exact round trips, and a clean refusal for anything else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from etl.errors import TransformError
from etl.normalize.transform import (
    ACCOUNT_FIELDS,
    BIGINT_MAX,
    BIGINT_MIN,
    POSITION_FIELDS,
    parse_amount,
    parse_date,
    parse_rate,
    transform,
)

kiwoom_amounts = st.integers(min_value=BIGINT_MIN, max_value=BIGINT_MAX)
rates = st.decimals(
    min_value=Decimal("-99999999.9999"),
    max_value=Decimal("99999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


def padded(number: int, width: int = 12, plus: bool = False) -> str:
    """Kiwoom's way of writing an amount: sign first, then zero-padded digits."""
    sign = "-" if number < 0 else ("+" if plus else "")
    return sign + str(abs(number)).zfill(width - len(sign))


@given(kiwoom_amounts, st.integers(min_value=1, max_value=30), st.booleans(), st.sampled_from(["", " ", "  "]))
def test_every_amount_round_trips_exactly(number: int, width: int, plus: bool, spaces: str) -> None:
    assert parse_amount(spaces + padded(number, width, plus) + spaces, "entr") == number


@given(rates, st.integers(min_value=0, max_value=3))
def test_every_rate_round_trips_exactly(rate: Decimal, extra_zeros: int) -> None:
    text = format(rate, "f") + ("0" * extra_zeros if "." in format(rate, "f") else "")
    parsed = parse_rate(text, "pl_rt")
    assert parsed == rate and isinstance(parsed, Decimal)


@given(st.text(max_size=30))
def test_any_text_is_parsed_or_refused_by_name_never_crashes(text: str) -> None:
    for parse in (parse_amount, parse_rate, parse_date):
        try:
            parse(text, "field_x", 3)
        except TransformError as exc:
            assert exc.field == "field_x" and exc.value == text and exc.line == 3


# The whole transform: a generated valid kt00005 answer loads exactly; one corrupted value is refused by name.

AMOUNT_FIELDS = [name for name, (_, parse) in ACCOUNT_FIELDS.items() if parse is parse_amount]
RATE_FIELDS = [name for name, (_, parse) in ACCOUNT_FIELDS.items() if parse is parse_rate]
LINE_AMOUNTS = ["setl_remn", "cur_qty", "buy_uv", "pur_amt", "evlt_amt", "evltv_prft"]
CAPTURED = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

codes = st.from_regex(r"A[0-9][0-9A-Z]{4}[0-9]", fullmatch=True)
names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
dates = st.one_of(st.just(""), st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))


@st.composite
def answers(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]:
    """Pages of a valid answer, with the values they must load as (account columns, position rows)."""
    expected_account: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for name in AMOUNT_FIELDS:
        value = draw(kiwoom_amounts)
        summary[name] = padded(value)
        expected_account[ACCOUNT_FIELDS[name][0]] = value
    for name in RATE_FIELDS:
        rate = draw(rates)
        summary[name] = format(rate, "f")
        expected_account[ACCOUNT_FIELDS[name][0]] = rate
    lines, expected_lines = [], []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        line: dict[str, Any] = {}
        row: dict[str, Any] = {}
        for name in LINE_AMOUNTS:
            value = draw(kiwoom_amounts)
            line[name] = padded(value)
            row[POSITION_FIELDS[name][0]] = value
        price = draw(st.integers(min_value=0, max_value=BIGINT_MAX))
        line["cur_prc"], row["current_price"] = padded(price), price
        rate = draw(rates)
        line["pl_rt"], row["profit_loss_rate"] = format(rate, "f"), rate
        code, name, loan = draw(codes), draw(names), draw(dates)
        line.update(
            {
                "stk_cd": code,
                "stk_nm": name + "  ",
                "crd_tp": "03" if loan else "00",
                "loan_dt": loan.strftime("%Y%m%d") if loan else "",
                "expr_dt": "",
            }
        )
        row.update(
            {
                "stock_code": code[1:],
                "stock_name": name.strip(" "),
                "credit_type": "03" if loan else "00",
                "loan_date": loan or None,
                "expiry_date": None,
            }
        )
        lines.append(line)
        expected_lines.append(row)
    size = draw(st.integers(min_value=1, max_value=5))
    chunks = [lines[i : i + size] for i in range(0, len(lines), size)] or [[]]
    pages = [dict(summary, stk_cntr_remn=chunk, return_code=0, return_msg="ok") for chunk in chunks]
    return pages, expected_account, expected_lines


@settings(max_examples=150, deadline=None)
@given(answers())
def test_every_generated_valid_answer_loads_exactly(answer: tuple[Any, Any, Any]) -> None:
    pages, expected_account, expected_lines = answer
    snapshot = transform(pages, account_no="5012345678", exchange="KRX", captured_at=CAPTURED)
    assert {k: snapshot.account[k] for k in expected_account} == expected_account
    assert snapshot.account["position_count"] == len(expected_lines)
    for row, expected in zip(snapshot.positions, expected_lines, strict=True):
        assert {k: row[k] for k in expected} == expected
    assert not any(isinstance(v, float) for v in snapshot.account.values())


corruptions = st.one_of(
    st.sampled_from(["NaN", "1e5", "１２３", "1,000", "0x1F", "--1", "Infinity", "12 34", "٣", "", "+"]),
    st.text(min_size=1, max_size=12).filter(
        lambda t: not t.strip(" ").lstrip("+-").isascii() or not t.strip(" ").lstrip("+-").isdigit()
    ),
    st.integers(),
    st.floats(allow_nan=True),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(answers(), st.data(), corruptions)
def test_every_corrupted_value_is_refused_by_name_or_read_exactly(
    answer: tuple[Any, Any, Any], data: st.DataObject, bad: Any
) -> None:
    pages, _, expected_lines = answer
    on_line = bool(expected_lines) and data.draw(st.booleans())
    if on_line:
        page = data.draw(st.sampled_from([p for p in pages if p["stk_cntr_remn"]]))
        target = data.draw(st.sampled_from(page["stk_cntr_remn"]))
        field = data.draw(st.sampled_from([*LINE_AMOUNTS, "cur_prc", "pl_rt", "loan_dt"]))
    else:
        target = pages[0]
        field = data.draw(st.sampled_from(AMOUNT_FIELDS + RATE_FIELDS))
    target[field] = bad
    try:
        snapshot = transform(pages, account_no="5012345678", exchange="KRX", captured_at=CAPTURED)
    except TransformError as exc:
        # refused, naming the field and the value (a NaN names itself, though it never equals itself)
        assert exc.field == field and (exc.value == bad or (exc.value != exc.value and bad != bad))
        return
    # Accepted: only because the value is one the contract reads ("" is NULL; some texts are valid numbers).
    assert isinstance(bad, str)
    loaded = [snapshot.account] + list(snapshot.positions)
    assert not any(isinstance(v, float) for row in loaded for v in row.values())


# A page of position lines is read in one step when every line is in the usual shape, else line by line: whichever
# way a page is read, it must give what each field's own rule gives, value for value, or the same refusal.
_ATOMS = st.sampled_from(
    [
        "",
        " ",
        "0",
        "00000000",
        "20260101",
        "20260230",
        "20261301",
        "+1",
        "-1",
        "+0",
        "-0",
        "00000012345",
        "-00000163958",
        "+00000163958",
        "1.0000",
        "-43.8977",
        "+1.0000",
        "-0.0000",
        "99999999.9999",
        "123456789.0000",
        "1.00001",
        "1.000",
        " 1",
        "1 ",
        "1\n",
        "\n1",
        "1,2",
        "１",
        "٣",
        "A005930",
        "A00593",
        " A005930 ",
        "삼성전자",
        "a\x00b",
        "a\ud800b",
        "123456789012345678",
        "-12345678901234567",
        "9223372036854775807",
        "-9223372036854775808",
        "1_0",
        "1e3",
        "\t1",
        "\u00a01",
        ",",
        "\n",
        ",\n",
        "1.0000\n,,1,1,1,1,1,1,1,1.0000",
        "1\n1,1,1,1,1,1,1,1.0000,,",
    ]
)
_VALUES = st.one_of(
    _ATOMS,
    _ATOMS,
    st.text(alphabet="0123456789+-., \n", max_size=12),
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.just([]),
    st.just(Decimal("1.0")),
)


# A line in the usual shape, which the pages below start from and change a few values of.
_USUAL_LINE = {
    "crd_tp": "00",
    "loan_dt": "",
    "expr_dt": "20270101",
    "stk_cd": "A005930",
    "stk_nm": "삼성전자",
    "setl_remn": "000000000003",
    "cur_qty": "000000000003",
    "cur_prc": "000000070000",
    "buy_uv": "000000124500",
    "pur_amt": "000000373500",
    "evlt_amt": "000000209542",
    "evltv_prft": "-00000163958",
    "pl_rt": "-43.8977",
}


@st.composite
def position_pages(draw: st.DrawFn) -> list[dict[str, Any]]:
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        line = {name: draw(_VALUES) if draw(st.integers(0, 5)) == 0 else _USUAL_LINE[name] for name in POSITION_FIELDS}
        if draw(st.integers(0, 9)) == 0:
            del line[draw(st.sampled_from(sorted(POSITION_FIELDS)))]
        if draw(st.integers(0, 9)) == 0:
            line["extra"] = "1"
        lines.append(line)
    return lines


def field_by_field(lines: list[dict[str, Any]]) -> list[dict[str, Any]] | str:
    """Each line's row by each field's own rule (a missing field is NULL), or the message of the first refusal."""
    rows = []
    for number, line in enumerate(lines):
        row: dict[str, Any] = {"line_no": number}
        for name, (column, parse) in POSITION_FIELDS.items():
            try:
                row[column] = parse(line[name], name, number) if name in line else None
            except TransformError as exc:
                exc.page = 0
                return str(exc)
        rows.append(row)
    return rows


@settings(max_examples=1500, deadline=None)
@given(position_pages())
# A newline inside a value, with commas that make the rest look like a whole line of the joined page.
@example([_USUAL_LINE, _USUAL_LINE | {"pl_rt": "1.0000\n,,1,1,1,1,1,1,1,1.0000"}])
@example([_USUAL_LINE | {"cur_qty": "1\n1,1,1,1,1,1,1,1.0000,,"}])
@example([_USUAL_LINE, _USUAL_LINE | {"stk_nm": "삼성\ud800"}])
def test_a_page_reads_as_its_fields_rules_read_it(lines: list[dict[str, Any]]) -> None:
    expected = field_by_field(lines)
    try:
        snapshot = transform([{"stk_cntr_remn": lines}], account_no="1", exchange="KRX", captured_at=CAPTURED)
    except TransformError as exc:
        assert str(exc) == expected
        return
    shared = ("account_no", "exchange", "captured_at", "trade_date")
    got = [{column: value for column, value in row.items() if column not in shared} for row in snapshot.positions]
    assert isinstance(expected, list)
    assert [[(k, type(v), v) for k, v in sorted(r.items())] for r in got] == [
        [(k, type(v), v) for k, v in sorted(r.items())] for r in expected
    ]
