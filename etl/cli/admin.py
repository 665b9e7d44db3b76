"""The commands that keep the house: migrate, status, doctor and revoke-token."""

from __future__ import annotations

import sys

import click

from etl.cli.base import EXIT_FAILED, Context, cli, errors, fail, global_options, shown, unusable
from etl.text import displayable


@cli.command()
@global_options
@click.pass_obj
def migrate(obj: Context) -> None:
    """Create or upgrade the tables (Alembic, to the newest revision). Safe to run again."""
    from etl.app.admin import migrate as upgrade
    from etl.app.wiring import open_database

    with errors():
        settings = obj.settings()
        with open_database(settings, migrated=False) as engine:
            done = upgrade(settings, engine)
        if not done.changed:
            click.echo(f"{settings.safe_database_url} is up to date (revision {done.after}).")
        else:
            click.echo(f"Migrated {settings.safe_database_url}: {done.before or 'empty'} → {done.after}.")


@cli.command()
@global_options
@click.option("--interval", metavar="DURATION", help="The daemon's interval, if not the configured one.")
@click.option("--all-hours", is_flag=True, help="Judge as a daemon run with --all-hours does.")
@click.pass_obj
def status(obj: Context, interval: str | None, all_hours: bool) -> None:
    """Show, per account × exchange, the newest successful snapshot, its age, failures since and the next slot.

    Shows the configured accounts (all those with runs in the last week when none is configured), and, with
    [realtime] on, each app key's feed session: connected or reconnecting, since when, which replica holds it, the
    age of its last message, today's fills. Exits 1 when, inside an active window, the newest success is older than
    twice the interval (STALE).
    """
    from etl.app.status import calendar_note, findings, waiting
    from etl.app.wiring import build_schedule, open_database
    from etl.cli.render import feed_table, ledger_part, newest_run_words, spool_line, status_table
    from etl.clock import utc_now

    with errors():
        settings = obj.settings(interval=interval)
        schedule = build_schedule(settings, all_hours=all_hours)
        spool = waiting(settings)
        click.echo(spool_line(spool.summary, schedule))  # first: it matters most when the database is away
        corrections = calendar_note(schedule, utc_now())
        if corrections:
            click.echo(displayable(corrections))  # a holiday's name is the config's text
        with unusable(), open_database(settings) as engine:
            now = utc_now()
            seen = findings(settings, engine, schedule, now, spooled=spool.run_ids)
        if seen.every:
            click.echo(
                "None of the configured accounts has runs here (account numbers are learned per base URL); "
                "showing every account with runs in the last week."
            )
        if not seen.pairs:
            # A monitor that has seen nothing for a week is not fine: say what the newest run is, and fail.
            click.echo(f"No snapshot runs in the last week in {settings.safe_database_url}.")
            if seen.feeds:
                click.echo(feed_table(seen.feeds, schedule, now))
            for line in ledger_part(seen, schedule, now):
                click.echo(line)
            fail(newest_run_words(seen.newest, schedule), EXIT_FAILED)
        click.echo(status_table(seen.pairs, schedule, now))
        if seen.feeds:
            click.echo(feed_table(seen.feeds, schedule, now))
        elif settings.realtime_enabled:
            click.echo("Real-time feed: on, but no daemon holds a session (none is running, or none has logged in).")
        for line in ledger_part(seen, schedule, now):
            click.echo(line)
        if seen.stale:
            click.echo(
                f"{len(seen.stale)} of {len(seen.pairs)} account × exchange(s) STALE: no success within "
                f"{2 * schedule.interval} inside an active window.",
                err=True,
            )
            sys.exit(EXIT_FAILED)


@cli.command()
@global_options
@click.pass_obj
def doctor(obj: Context) -> None:
    """Say in one screen what is wrong: the database (SQLite's integrity check, or a PostgreSQL round trip; the
    schema revision; whether it takes writes), the spool (what waits, for which database) and the state directory
    (owner, permissions).

    Reads only: nothing is repaired or written. Needs no Kiwoom key. Exits 0 when all is well, else 1.
    """
    from etl.app.admin import doctor as diagnose
    from etl.app.wiring import open_database

    with errors():
        settings = obj.settings()
        with open_database(settings, required=False) as engine:
            diagnosis = diagnose(settings, engine)
        click.echo("\n".join(shown(line) for line in diagnosis.lines))  # paths, and targets a file may forge
        if diagnosis.problems:
            sys.exit(EXIT_FAILED)


@cli.command("revoke-token")
@global_options
@click.pass_obj
def revoke_token(obj: Context) -> None:
    """Revoke (au10002) and forget the cached access token of every configured account."""
    from etl.app.tokens import revoke_tokens

    with errors():
        settings = obj.settings()
        for done in revoke_tokens(settings):
            said = "token revoked" if done.revoked else "no cached token"
            click.echo(f"{displayable(done.label)}: {said}")  # the config's name, as the status table shows it
