"""Stage 1, the API: the Kiwoom REST client (tokens, pacing, retries), raw pages as received, account numbers."""
