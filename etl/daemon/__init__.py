"""Stage 5, the schedule: slots and windows on the KRX calendar, the runner that takes them, health, metrics, status.

The daemon runs the jobs on a timer; it writes no SQL of its own.
"""
