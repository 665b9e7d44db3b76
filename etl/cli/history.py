"""The commands on what was already received: flush (the spool), replay (the kept answers) and import (answers kept
elsewhere)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from etl.cli.base import (
    EXIT_FAILED,
    Context,
    Moment,
    account_option,
    cli,
    errors,
    exchange_option,
    fail,
    global_options,
    progress,
    shown,
    since_option,
    unusable,
)
from etl.text import displayable


@cli.command("flush")
@global_options
@click.option(
    "--into-this-database",
    is_flag=True,
    help="Load the snapshots spooled for another database into this one too (they are listed without it).",
)
@click.pass_obj
def flush_command(obj: Context, into_this_database: bool) -> None:
    """Load the snapshots spooled while the database could not be used, oldest first, each at most once.

    Only those spooled for this database (each spool file names its own) are loaded: the others are listed with
    theirs, and --into-this-database moves them here. Safe to run at any time and again: a snapshot already loaded
    is only removed from the spool. `snapshot` and `run` flush by themselves too.
    """
    from etl.app.history import flush_spool, pending
    from etl.app.wiring import open_database

    with errors():
        settings = obj.settings()
        waiting = pending(settings)
        if not waiting.count:
            click.echo(f"The spool ({waiting.directory}) is empty.")
            return
        with unusable(), open_database(settings) as engine:
            flushed = flush_spool(settings, engine, into_this_database=into_this_database, bar=progress)
        report, directory = flushed.report, flushed.directory
        for path, target in report.elsewhere:
            click.echo(shown(f"{path.name}: spooled for {target}"))
        click.echo(
            f"{report.loaded} loaded, {report.failed} recorded as failed, {report.already} already loaded"
            + (
                f", {report.conflicts} set aside in {directory / 'conflicts'} (their slot was taken)"
                if report.conflicts
                else ""
            )
            + (f", {len(report.elsewhere)} spooled for another database" if report.elsewhere else "")
            + f"; {report.left + len(report.elsewhere)} left in {directory}."
        )
        if report.left:
            fail(report.error or "some snapshots could not be loaded", EXIT_FAILED)
        if report.elsewhere:
            fail(
                f"{len(report.elsewhere)} snapshot(s) were spooled for another database (listed above): flush with "
                "that database, or load them into this one with `kiwoom-etl flush --into-this-database`",
                EXIT_FAILED,
            )


@cli.command("replay")
@global_options
@since_option("Only pages received from this date (Seoul).")
@account_option("Only this account (its account_no in the tables).")
@click.pass_obj
def replay_command(obj: Context, since: date | None, account: str | None) -> None:
    """Rebuild account_snapshots, position_snapshots, the ledger, the day totals, the estimates and Kiwoom's
    realised profit (ka10074) from raw_responses with today's transform.

    For after a parser fix, or into a freshly migrated database holding raw pages. Idempotent: a snapshot that
    already reads the same is left alone, so running it twice changes nothing. Runs whose pages are incomplete,
    or that today's transform refuses, keep what they have. Ledger lines (kt00015) are loaded again as a ledger
    run loads them, with the configured mapping: a line already stored is left alone, a differing one is a conflict.
    """
    from etl.app.history import replay_everything
    from etl.app.wiring import open_database

    with errors():
        settings = obj.settings()
        with open_database(settings) as engine:
            done = replay_everything(settings, engine, since=since, account=account, bar=progress)
        click.echo(f"{done.runs} run(s) with raw pages: {done.snapshots}.")
        if done.ledger.pages:
            click.echo(f"Ledger: {done.ledger}.")
        for rows in done.rows:
            if rows.pages:
                click.echo(
                    f"{rows.api.what.capitalize()}: {rows.pages} {rows.api.api_id} page(s), {rows.refused} refused"
                    " by today's transform."
                )


@cli.command("import")
@global_options
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@account_option("The account_no to load page files as.", name="account_no")
@exchange_option("The exchange page files answer for.")
@click.option(
    "--captured-at",
    type=Moment(),
    metavar="TIME",
    help="When page files were received, ISO 8601 (2026-11-20T15:30:00+09:00; no zone means Korean time).",
)
@click.pass_obj
def import_command(
    obj: Context,
    files: tuple[Path, ...],
    account_no: str | None,
    exchange: str | None,
    captured_at: datetime | None,
) -> None:
    """Load raw kt00005 JSON answers kept elsewhere: page files, or JSON Lines files (FILE.jsonl).

    \b
    Page files: one answer a file, in chain order, one snapshot; --account, --exchange and --captured-at are
    required. A FILE.jsonl holds one snapshot a line, {"account_no": ..., "exchange": "KRX", "captured_at":
    "2026-11-20T06:30:00Z", "pages": [answer, ...]}, each line its own run; these options are then refused, as
    each line names its own. Several .jsonl files load one after the other; they cannot be mixed with page files.

    The pages are stored in raw_responses and transformed like fetched ones. Importing the same files again
    changes nothing. A refused line is named by its number and kept as a failed run; the others load, and the
    command exits 1 with the count.
    """
    ctx = click.get_current_context()
    lines = [path for path in files if path.suffix == ".jsonl"]
    options = {"--account": account_no, "--exchange": exchange, "--captured-at": captured_at}
    if lines:
        if len(lines) != len(files):
            raise click.UsageError("a .jsonl file cannot be imported together with page files", ctx)
        given = [name for name, value in options.items() if value is not None]
        if given:
            raise click.UsageError(
                f"{', '.join(given)}: each line of a .jsonl file names its own account, exchange and captured_at", ctx
            )
        _import_lines(obj, lines)
        return
    missing = [name for name, value in options.items() if value is None]
    if missing:
        raise click.UsageError(f"page files need {', '.join(missing)} (only a .jsonl file names its own)", ctx)
    assert account_no is not None and exchange is not None and captured_at is not None
    from etl.app.history import import_page_files
    from etl.app.wiring import open_database

    with errors():
        settings = obj.settings()
        with open_database(settings) as engine:
            done = import_page_files(engine, files, account_no=account_no, exchange=exchange, captured_at=captured_at)
        click.echo(f"{len(files)} page(s) for {displayable(str(account_no))} {exchange}: {done.outcome}.")
        if done.refused:
            fail("the pages were kept in raw_responses, but the snapshot was refused: see etl_runs.error", 1)


def _import_lines(obj: Context, files: list[Path]) -> None:
    """kiwoom-etl import FILE.jsonl...: each file in batches, with a progress bar; exit 1 if a line was refused."""
    from etl.app.history import ImportReport, import_line_files
    from etl.app.wiring import open_database

    def each(path: Path, report: ImportReport) -> None:
        for refusal in report.refused:
            click.echo(f"kiwoom-etl: {path}: {displayable(str(refusal))}", err=True)  # it quotes the line
        click.echo(f"{path}: {report}.")

    with errors():
        settings = obj.settings()
        with open_database(settings) as engine:
            done = import_line_files(engine, files, bar=progress, each=each)
        if done.refused:
            fail(
                f"{done.refused} of {done.lines} line(s) refused; they are kept as failed runs in etl_runs", EXIT_FAILED
            )
