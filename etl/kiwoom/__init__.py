"""Stage 1, the API: the Kiwoom REST client (tokens, pacing, retries), the endpoints it asks, raw pages as received,
account numbers."""
