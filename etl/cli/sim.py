"""The commands of the simulator: simulate (the local Kiwoom API) and demo (a few weeks of made-up history)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from etl.cli.base import EXIT_FAILED, REPORT_FILE, Context, cli, errors, fail, force_option, global_options


def shown_default(
    name: str, default: object, kind: click.ParamType[Any] | None, help: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option of the simulator's, its default shown in --help."""
    return click.option(name, default=default, show_default=True, type=kind, help=help)


@cli.command()
@global_options
@shown_default("--host", "127.0.0.1", None, "Address to listen on.")
@shown_default("--port", 8080, click.IntRange(0, 65535), "Port (0: any free).")
@shown_default(
    "--feed-port", 10000, click.IntRange(0, 65535), "Port of the WebSocket feed, as the real API's (0: any free)."
)
@shown_default("--accounts", 2, click.IntRange(1, 10000), "How many accounts.")
@shown_default("--positions", 12, click.IntRange(0, 100000), "Holdings of each account on KRX (NXT gets a third).")
@shown_default("--page-size", 20, click.IntRange(1), "Positions per page.")
@shown_default(
    "--rate", 1.0, click.FloatRange(min=0.01), "Requests a second allowed per app key and api-id before HTTP 429."
)
@shown_default("--burst", 2, click.IntRange(1), "Burst allowed at once.")
@shown_default(
    "--latency",
    0.0,
    click.FloatRange(min=0.0),
    "Seconds each API request waits before its answer, as a distant server's would.",
)
@click.option(
    "--fault-token",
    metavar="TOKEN",
    default=None,
    help="Let any address inject faults with header X-Sim-Token: TOKEN (without it: loopback clients only).",
)
@click.pass_obj
def simulate(
    obj: Context,
    host: str,
    port: int,
    feed_port: int,
    accounts: int,
    positions: int,
    page_size: int,
    rate: float,
    burst: int,
    latency: float,
    fault_token: str | None,
) -> None:
    """Run the local Kiwoom API simulator in the foreground (Ctrl-C stops it).

    It speaks au10001, au10002, ka00001, kt00005, kt00015, kt00017, kt00002 and ka10074 like the real API, and
    the market APIs ka10099, ka10100, ka20006 and ka10081 from a seeded market of its own (not the demo's), so
    that `instruments` and `backfill` can be tried. The first account has six weeks of ledger ending today
    (deposits, a withdrawal, trades with fees and taxes, a dividend, a credit line, a transfer in, a remark no
    mapping knows), from which all of its answers come, so that `ledger`, `backfill` and `returns` have something
    to show; the others hold positions only. Point kiwoom-etl at it with KIWOOM_BASE_URL=http://HOST:PORT and the
    printed keys.

    It also serves Kiwoom's WebSocket feed on --feed-port (its URL printed beside the REST one): LOGIN with an
    au10001 token, PING echo, REG/REMOVE, REAL pushes of 00 (주문체결) and 04 (잔고). To make an order that changes
    an account (kt00005, kt00015) and is pushed, POST {"acct_no": ..., "code": ..., "quantity": ..., "side":
    "buy"|"sell", "exchange": "KRX", "fills": 1, "outcome": "filled"|"cancelled"|"rejected"} to /_sim/orders.

    Faults for tests: POST a JSON list of {"kind": ..., "api_id": ..., "count": ...} to /_sim/faults (kinds, the
    feed's too: see etl.sim.faults.Fault); an unknown kind or field is answered 400. Only loopback clients may
    inject faults or orders, unless --fault-token is given: then every such request, from any address, must carry
    the header X-Sim-Token with that token (403 otherwise).
    """
    from etl.sim.accounts import served_accounts
    from etl.sim.feed import bind_feed, feed_url
    from etl.sim.simulator import Simulator, bind

    obj.logging(None)
    simulator = Simulator(
        accounts=served_accounts(accounts, positions),
        page_size=page_size,
        rate_per_second=rate,
        burst=burst,
        latency=latency,
        fault_token=fault_token,
    )
    try:
        server = bind(simulator, host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_FAILED)
    try:
        feed = bind_feed(simulator.feed, host, feed_port)
    except OSError as exc:
        server.server_close()
        fail(f"cannot listen on {host}:{feed_port} (the feed): {exc.strerror}", EXIT_FAILED)
    feeding = threading.Thread(target=feed.serve_forever, name="kiwoom-simulator-feed", daemon=True)
    feeding.start()
    base_url = f"http://{host}:{server.server_address[1]}"
    click.echo(f"Kiwoom simulator on {base_url}, its feed on {feed_url(host, feed)} — accounts (made-up keys):")
    for account in simulator.accounts:
        ledger = "  (with a ledger)" if account.history else ""
        # The base URL on every line: keys pasted without it would send kiwoom-etl to the real API.
        click.echo(
            f"  KIWOOM_BASE_URL={base_url} KIWOOM_APPKEY={account.appkey} KIWOOM_SECRETKEY={account.secretkey}"
            f"  → {account.acct_no}{ledger}"
        )
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")
        finally:
            feed.shutdown()  # the open sessions are closed (1001, going away)
            feeding.join()


@cli.command()
@global_options
@click.option(
    "--days",
    default=20,
    show_default=True,
    type=click.IntRange(3, 250),
    help="Trading days of history, ending today (3 snapshots each).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Another seed, another (repeatable) market.")
@click.option(
    "--report",
    "report_path",
    default=REPORT_FILE,
    show_default=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the HTML report of the demo's history (as `kiwoom-etl report` writes it); it replaces a"
    " kiwoom-etl report there, another file only with --force.",
)
@force_option
@click.pass_obj
def demo(obj: Context, days: int, seed: int, report_path: Path, force: bool) -> None:
    """Try kiwoom-etl without an account: a few weeks of made-up history, answers from the views, a report.

    A local simulator plays a seeded market in which two made-up accounts trade between days; every past slot
    (09:30, 12:30, 15:45 KST) of every trading day is snapshotted through the real path, a closed weekday is
    recorded as skipped. The same seed gives the same numbers on every run; a second run replaces the first's
    history and its report. Needs no key and touches no real API. It refuses, before changing anything, a database
    that holds real (non-demo) snapshots or runs. It writes to --database-url, else to the SQLite file kiwoom_etl.db
    in this directory, never to the configured database. Times are printed in the `timezone` setting.
    """
    from etl.settings import default_database_url, normalize_database_url
    from etl.sim.demo import run_demo

    with errors():
        settings = obj.settings()
        # --database-url, else kiwoom_etl.db here: never the configured database, which may hold real history
        url = normalize_database_url(obj.database_url, "--database-url") if obj.database_url else default_database_url()
        ok = run_demo(
            url,
            days=days,
            seed=seed,
            zone=settings.timezone,
            echo=click.echo,
            report=report_path,
            corrections=settings.calendar,
            protected=obj.protected(settings, url),
            force=force,
        )
    if not ok:
        sys.exit(EXIT_FAILED)
