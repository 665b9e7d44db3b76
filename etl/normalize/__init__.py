"""Stage 2, raw pages → rows: the pure transform of kt00005 answers into exact account and position rows.

No I/O and no clock: everything it needs is passed in, and a value that does not match the contract is refused.
"""
