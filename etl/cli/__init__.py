"""The command line, one thin command per use case of etl.app: each parses its options, calls the use case and
renders what it returns (etl.cli.render); the group, its global options and the exit codes are in etl.cli.base.
The commands: kiwoom-etl migrate | snapshot | ledger | backfill | run | status | doctor | flush | replay | import |
returns | report | export | simulate | demo | revoke-token.
"""

from etl.cli import admin, collect, history, outputs, sim  # noqa: F401 - each registers its commands on the group
from etl.cli.base import cli, main
from etl.cli.base import errors as _errors

__all__ = ["_errors", "cli", "main"]
