"""kiwoom-etl import FILE.jsonl: one snapshot a line, many lines a transaction, each line its own run, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from etl.jobs.replay import count_lines, import_lines, import_pages, replay, runs_to_replay
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse
from tests.support import Clock, content, kiwoom_etl
from tests.support.answers import SEED_EXAMPLE, answer, line
from tests.support.schema import migrated


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            model.__tablename__: connection.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (EtlRun, AccountSnapshot, PositionSnapshot, RawResponse)
        }


def test_good_lines_load_in_batches_refused_ones_are_named_and_kept_and_a_second_import_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    bad_value = answer(0)
    bad_value["stk_cntr_remn"][0]["cur_prc"] = "00000007000X"
    lines = [
        line(1),
        "{not json",
        line(2),
        json.dumps({"account_no": "5012345678", "exchange": "KRX", "pages": [answer(0)]}),  # no captured_at
        line(3, pages=[bad_value]),
        "",
        line(4, exchange="KOSDAQ"),
        line(5, pages=[answer(1), ["not", "an", "object"]]),
        line(6),
        line(7),
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    steps: list[int] = []

    report = import_lines(engine, path, batch_size=3, progress=steps.append)

    assert sum(steps) == count_lines(path) == 10 and len(steps) == 3
    assert (report.lines, report.loaded, report.already) == (9, 4, 0)
    assert report.refused[0] == "line 2: not a JSON object"
    assert report.refused[1] == "line 4: captured_at: missing"
    assert report.refused[2].startswith("line 5: ") and "cur_prc" in report.refused[2] and "7000X" in report.refused[2]
    assert report.refused[3] == "line 7: exchange: expected KRX or NXT, got 'KOSDAQ'"
    assert report.refused[4] == "line 8: pages[1]: not a JSON object"
    assert len(report.refused) == 5
    with engine.connect() as connection:
        runs = connection.execute(
            select(EtlRun.trigger, EtlRun.status, EtlRun.reason, EtlRun.detail, EtlRun.page_count).order_by(EtlRun.id)
        ).all()
        kept = connection.execute(
            select(EtlRun.detail, func.count(RawResponse.id))
            .join(RawResponse, RawResponse.run_id == EtlRun.id)
            .where(EtlRun.status == "failed")
            .group_by(EtlRun.detail)
            .order_by(EtlRun.detail)
        ).all()
    assert {r.trigger for r in runs} == {"import"} and len(runs) == 9
    assert sorted(r.detail for r in runs if r.status == "failed") == [
        f"history.jsonl line {n}" for n in (2, 4, 5, 7, 8)
    ]
    assert {r.reason for r in runs if r.status == "failed"} == {"payload_refused"}
    assert kept == [("history.jsonl line 5", 1), ("history.jsonl line 8", 2)]  # refused pages kept for a replay
    before, tables = content(engine), counts(engine)
    assert len(before[0]) == 4 and len(before[1]) == 2 + 3 + 7 + 8
    assert [a["captured_at"] for a in before[0]] == [datetime(2026, 11, d, 6, 30, tzinfo=UTC) for d in (2, 3, 7, 8)]

    again = import_lines(engine, path, batch_size=3)
    assert (again.lines, again.loaded, again.already, len(again.refused)) == (9, 0, 4, 5)
    assert again.refused[0] == "line 2: not a JSON object"
    assert counts(engine) == tables and content(engine) == before


def test_a_line_loads_exactly_as_the_same_pages_imported_as_files(engine: Engine, tmp_path: Path) -> None:
    body = answer(2)
    body["stk_cntr_remn"][1]["pl_rt"] = "-0.0001"
    path = tmp_path / "one.jsonl"
    path.write_text(line(0, pages=[body], captured_at="2026-11-20T15:30:00+09:00") + "\n", encoding="utf-8")
    assert import_lines(engine, path).loaded == 1
    from_line = content(engine)

    other = tmp_path / "other.db"
    from etl.store.engine import make_engine

    files = make_engine(f"sqlite:///{other}")
    try:
        migrated(files)
        page = tmp_path / "page.json"
        page.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        when = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
        assert import_pages(files, [page], account_no="5012345678", exchange="KRX", captured_at=when) == "loaded"
        assert content(files) == from_line
    finally:
        files.dispose()
    assert from_line[1][1]["profit_loss_rate"] == Decimal("-0.0001")


def test_a_number_in_a_page_is_kept_digit_for_digit(engine: Engine, tmp_path: Path) -> None:
    body = answer(0)
    body["tot_pl_rt"] = 1.85  # not a string: refused, and kept exactly as written
    path = tmp_path / "number.jsonl"
    path.write_text(line(0, pages=[body]).replace("1.85", "1.8500000000000000001") + "\n", encoding="utf-8")
    report = import_lines(engine, path)
    assert report.loaded == 0 and "tot_pl_rt" in report.refused[0]
    with engine.connect() as connection:
        (payload,) = connection.execute(select(RawResponse.payload)).scalars()
    assert "1.8500000000000000001" in payload


def refuse_stock(engine: Engine, code: str) -> None:
    """A trigger in the database that rejects position rows of one stock, as a database refusing data does."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON position_snapshots "
                    f"WHEN NEW.stock_code = '{code}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.stock_code = '{code}' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            connection.execute(
                text("CREATE TRIGGER refuse BEFORE INSERT ON position_snapshots FOR EACH ROW EXECUTE FUNCTION refuse()")
            )


def test_a_batch_the_database_rejects_is_retried_line_by_line(engine: Engine, tmp_path: Path) -> None:
    rejected = answer(0)
    rejected["stk_cntr_remn"][0]["stk_cd"] = "A999999"
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join([line(1), line(2, pages=[rejected]), line(3), line(4)]) + "\n", encoding="utf-8")
    refuse_stock(engine, "999999")

    report = import_lines(engine, path, batch_size=3)

    assert (report.lines, report.loaded, len(report.refused)) == (4, 3, 1)
    assert (
        report.refused[0].startswith("line 2: the database rejected it: ")
        and "refused by the test" in (report.refused[0])
    )
    with engine.connect() as connection:
        failed = connection.execute(
            select(EtlRun.id, EtlRun.reason, EtlRun.detail, EtlRun.page_count).where(EtlRun.status == "failed")
        ).one()
        pages = connection.execute(select(func.count()).where(RawResponse.run_id == failed.id)).scalar_one()
    assert (failed.reason, failed.detail, failed.page_count, pages) == ("database_error", "batch.jsonl line 2", 0, 0)
    assert len(content(engine)[0]) == 3


def test_replay_in_batches_rebuilds_what_import_loaded(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "week.jsonl"
    path.write_text("".join(line(n) + "\n" for n in range(7)), encoding="utf-8")
    assert import_lines(engine, path, batch_size=2).loaded == 7
    before = content(engine)
    with engine.begin() as connection:
        connection.execute(PositionSnapshot.__table__.delete())
        connection.execute(AccountSnapshot.__table__.delete())
    steps: list[int] = []
    report = replay(engine, runs_to_replay(engine), batch_size=3, progress=steps.append)
    assert (report.rebuilt, report.unchanged, steps) == (7, 0, [3, 3, 1])
    assert content(engine) == before
    assert replay(engine, runs_to_replay(engine), batch_size=3).unchanged == 7


def test_the_import_command_with_json_lines(sqlite_url: str, tmp_path: Path) -> None:
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join([line(1), "[]", line(2)]) + "\n", encoding="utf-8")

    first = kiwoom_etl("import", str(path), env=env)
    assert first.returncode == 1
    assert f"{path}: 3 line(s): 2 loaded, 0 already loaded, 1 refused." in first.stdout
    assert f"kiwoom-etl: {path}: line 2: not a JSON object" in first.stderr
    assert "error: 1 of 3 line(s) refused" in first.stderr
    second = kiwoom_etl("import", str(path), env=env)
    assert second.returncode == 1 and "3 line(s): 0 loaded, 2 already loaded, 1 refused." in second.stdout

    good = tmp_path / "good.jsonl"
    good.write_text(line(3) + "\n", encoding="utf-8")
    assert kiwoom_etl("import", str(good), env=env).returncode == 0

    contradictory = kiwoom_etl("import", str(good), "--account", "main", env=env)
    assert contradictory.returncode == 2 and "Usage: kiwoom-etl import" in contradictory.stderr
    assert "--account: each line of a .jsonl file names its own" in contradictory.stderr
    page = tmp_path / "page.json"
    page.write_text(json.dumps(SEED_EXAMPLE), encoding="utf-8")
    mixed = kiwoom_etl("import", str(good), str(page), env=env)
    assert mixed.returncode == 2 and "cannot be imported together with page files" in mixed.stderr
    incomplete = kiwoom_etl("import", str(page), "--account", "main", env=env)
    assert incomplete.returncode == 2 and "page files need --exchange, --captured-at" in incomplete.stderr


def test_the_counts_add_up_to_the_lines_on_every_import(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mix.jsonl"
    lines = [line(1), "{not json", line(2), line(3, exchange="KOSDAQ"), line(2), line(4)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    clock = Clock(datetime(2026, 11, 30, tzinfo=UTC))

    for expected in ((6, 3, 1, 2), (6, 0, 4, 2)):  # line 5 repeats line 3; then everything was seen before
        report = import_lines(engine, path, batch_size=2, clock=clock)
        assert (report.lines, report.loaded, report.already, len(report.refused)) == expected
        assert report.loaded + report.already + len(report.refused) == report.lines
    assert [r.split(":")[0] for r in report.refused] == ["line 2", "line 4"]


def test_a_capture_from_the_future_is_refused_with_its_line_and_field_and_kept_as_a_failed_run(
    engine: Engine, tmp_path: Path
) -> None:
    now = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
    path = tmp_path / "future.jsonl"
    lines = [
        line(0, captured_at="2026-11-20T06:39:59Z"),  # within ten minutes: a clock a little behind Kiwoom's
        line(1, captured_at="2026-11-20T06:40:01Z"),
        line(2, captured_at="2099-01-01T00:00:00Z"),
        line(3, captured_at="2026-11-19T06:30:00Z"),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = import_lines(engine, path, clock=Clock(now))

    assert (report.lines, report.loaded, len(report.refused)) == (4, 2, 2)
    assert report.refused[0].startswith("line 2: captured_at: 2026-11-20T06:40:01+00:00 is more than 10 minutes ahead")
    assert report.refused[1].startswith("line 3: captured_at: 2099-01-01T00:00:00+00:00 is more than 10 minutes ahead")
    with engine.connect() as connection:
        failed = connection.execute(
            select(EtlRun.id, EtlRun.reason, EtlRun.detail, EtlRun.page_count)
            .where(EtlRun.status == "failed")
            .order_by(EtlRun.id)
        ).all()
        kept = {
            run.id: connection.execute(select(func.count()).where(RawResponse.run_id == run.id)).scalar_one()
            for run in failed
        }
        latest = connection.execute(text("SELECT MAX(captured_at) FROM account_snapshots")).scalar_one()
    assert [(r.reason, r.detail, r.page_count) for r in failed] == [
        ("payload_refused", "future.jsonl line 2", 1),
        ("payload_refused", "future.jsonl line 3", 1),
    ]
    assert list(kept.values()) == [1, 1]  # the pages are kept: a replay can read them once the day has come
    assert str(latest).startswith("2026-11-20")
