"""The API (the floor above the settings and below the transforms): the Kiwoom REST client, the endpoints it asks, raw
pages as received, account numbers.

- `client`: the client: tokens, the account number (ka00001) and the pages of any endpoint, errors translated;
- `endpoints`: what the wire needs to ask one Kiwoom API (api-id, path, body, list key, continuation);
- `feed`: one session of the real-time WebSocket feed: LOGIN, PING echoed, REG, each message read as what it is;
- `fetcher`: what every request of a process shares (sessions, the pacer, the token cache, known accounts);
- `pages`: one API answer exactly as it arrived;
- `tokens`: access tokens, their KST expiry, cached per app key in a private file;
- `pacing`: client-side pacing under Kiwoom's rate limit;
- `retry`: bounded retries with backoff and jitter, honouring Retry-After;
- `accounts`: account numbers learned from ka00001, remembered under the state dir; the digest that names an app key.
"""
