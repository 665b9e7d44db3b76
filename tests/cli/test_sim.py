"""`kiwoom-etl simulate` as a user runs it: the REST API and the feed on ports of their own, an order over
/_sim/orders pushed on the feed, and Ctrl-C stopping both."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

GUARD = 60.0  # seconds a receive waits at most: a guard against hanging, not a speed requirement


def test_simulate_serves_the_feed_and_takes_orders() -> None:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "simulate", "--port", "0", "--feed-port", "0", "--accounts", "1"],
        env=base_env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        urls = re.search(r"on (http://\S+), its feed on (ws://\S+/api/dostk/websocket)", banner)
        assert urls, banner
        base, feed = urls.groups()
        line = process.stdout.readline()
        keys = re.search(r"KIWOOM_BASE_URL=(\S+) KIWOOM_APPKEY=(\S+) KIWOOM_SECRETKEY=(\S+)\s+→ (\d{10})", line)
        assert keys, line  # the base URL on the line: keys pasted alone would go to the real API
        pasted, appkey, secretkey, acct_no = keys.groups()
        assert pasted == base
        body = {"grant_type": "client_credentials", "appkey": appkey, "secretkey": secretkey}
        token = requests.post(f"{base}/oauth2/token", json=body, headers={"api-id": "au10001"}, timeout=5).json()
        with connect(feed, open_timeout=GUARD) as ws:
            ws.send(json.dumps({"trnm": "LOGIN", "token": token["token"]}))
            assert json.loads(ws.recv(timeout=GUARD))["return_code"] == 0
            ws.send(
                json.dumps({"trnm": "REG", "grp_no": "1", "refresh": "1", "data": [{"item": [""], "type": ["00"]}]})
            )
            assert json.loads(ws.recv(timeout=GUARD))["return_code"] == 0
            order = {"acct_no": acct_no, "code": "005930", "quantity": 2, "side": "buy"}
            done = requests.post(f"{base}/_sim/orders", json=order, timeout=5)
            assert done.status_code == 200, done.text
            pushed = json.loads(ws.recv(timeout=GUARD))  # the default PING interval (10 s) comes later
            assert pushed["data"][0]["values"]["9203"] == done.json()["order_no"]
            assert requests.post(f"{base}/_sim/orders", json=order | {"fills": 3}, timeout=5).json()["field"] == "fills"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=GUARD) == 0
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=GUARD)  # the order's 체결, then the server's close
            assert ws.close_code == 1001
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
