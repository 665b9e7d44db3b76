"""The command line (the top floor), one thin command per use case of etl.app: each parses its options, calls the use
case and renders what it returns.

- `base`: the group, its global options (declared once), the settings built from them, errors and exit codes;
- `collect`: snapshot, ledger, backfill, instruments and run (the daemon);
- `history`: flush, replay and import;
- `outputs`: export, report and returns;
- `admin`: migrate, status, doctor and revoke-token;
- `sim`: simulate and demo;
- `render`: how the commands show what a use case did (the tables of results and of status).

The commands: kiwoom-etl migrate | snapshot | ledger | backfill | instruments | run | status | doctor | flush |
replay | import | returns | report | export | simulate | demo | revoke-token.
"""

from etl.cli import admin, collect, history, outputs, sim  # noqa: F401 - each registers its commands on the group
from etl.cli.base import cli, main

__all__ = ["cli", "main"]
