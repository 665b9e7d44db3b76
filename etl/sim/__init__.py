"""The simulator: a local stand-in for the Kiwoom REST API, for the demo and the tests; never used against the real API.

`simulator` answers the API over loopback (tokens, pacing, the account APIs), `faults` what it can be told to get
wrong; `accounts` is its account model, `history` a seeded ledger for kt00015, kt00017 and kt00002 and `lines` its
lines as Kiwoom writes them, `market` the demo's seeded market, `stocks` the made-up listing and `formats` how
Kiwoom writes numbers.
"""
