"""Stage 5, the daemon: the runner that takes the slots on a timer, its health endpoint and metrics.

The daemon runs the jobs on a timer; it writes no SQL of its own.
"""
