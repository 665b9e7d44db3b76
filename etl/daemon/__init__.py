"""The daemon (beside etl.sim, below the command line): the runner that takes the slots on a timer, its health endpoint
and metrics.

The daemon runs the use cases and the jobs on a timer; it writes no SQL of its own.

- `runner`: the scheduler that takes every due slot's snapshots and the account's day, and stops gracefully;
- `metrics`: its Prometheus metrics, in a registry of its own.
"""
