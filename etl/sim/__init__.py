"""The simulator and the demo (beside etl.daemon, below the command line): a local stand-in for the Kiwoom REST API,
for the demo and the tests; never used against the real API.

- `simulator`: the `Simulator` facade (settings, request log, the order a request meets faults, tokens, pacing and
  its API's renderer; its orders) and the HTTP server around it (`serve`, `bind`);
- `feed`: the WebSocket feed (LOGIN, PING, REG/REMOVE, REAL pushes, R10001, its faults) and its server
  (`serve_feed`, `bind_feed`); `render_feed`: its 00 and 04 push items as Kiwoom writes them;
- `orders`: simulated orders: how one changes its account and what the feed is told;
- `tokens`: au10001 and au10002, a bearer token's account and expiry, the authentication errors;
- `pacing`: the rate buckets per app key and API, and the HTTP 429 (return_code 5) answer;
- `faults`: what it (and its feed) can be told to get wrong, which waiting fault a request meets and what that fault
  answers;
- `render_ka00001`, `render_kt00005`, `render_kt00015`, `render_kt00017`, `render_kt00002`, `render_ka10074`: one
  account API's answer each, and its `RENDERER`;
  `render_ka10099`, `render_ka10100`, `render_ka20006`, `render_ka10081`: one market API's answer each, and its
  `RENDERER`; `renderer`: what such a module declares for the simulator (`Renderer`), which serves those its
  `RENDERERS` lists;
- `call`: an account API request as a renderer sees it; `pages`: continuation (pages, next-keys, kept lists);
  `wire`: an answer and Kiwoom's JSON body (return_code, return_msg), the errors any API answers;
- `accounts`: the account model (keys, holdings, cash of a day); `history`: a seeded ledger the account history's
  APIs answer from; `lines`: its lines as Kiwoom writes them;
- `market`: the demo's seeded market; `stocks`: the made-up listing; `instruments`: its rows as ka10099 and
  ka10100 write them; `bars`: the seeded daily bars of its indexes and stocks; `formats`: how Kiwoom writes numbers;
- `demo`: the demo: weeks of made-up history through the use cases, then answers from the views and a report.
"""
