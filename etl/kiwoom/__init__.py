"""Stage 1, the API: the Kiwoom REST client (tokens, pacing, retries), raw pages as received, account numbers.

Also the simulator, a local stand-in for the API that the demo and the tests talk to over loopback.
"""
