"""What an API's renderer module (etl.sim.render_<api-id>) declares for the simulator, as its `RENDERER`: the api-id
it answers, how its answer is made, the field a bad_value fault spoils in it and whether a company's account is
answered. The simulator serves the renderers its `RENDERERS` lists: a new API is its module and a line there."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from etl.sim.bars import ChartMarket
from etl.sim.call import Call
from etl.sim.pages import Listed
from etl.sim.wire import Answer


@dataclass(frozen=True)
class Kept:
    """What a simulator keeps for its renderers, made once and shared by all of them."""

    lock: threading.Lock  # the simulator's
    rng: random.Random  # seeded: how prices move
    listed: Listed  # the list answers, kept for their continuations
    moves: Callable[[], bool]  # whether prices move by themselves between answers
    seed: int = 0  # the simulator's: the seeded market's bars (etl.sim.bars)
    market: Callable[[], ChartMarket | None] = lambda: None  # the simulator's now: the market the charts answer from


@dataclass(frozen=True, kw_only=True)
class Renderer:
    """One API as the simulator answers it."""

    api_id: str
    path: str = "/api/dostk/acnt"  # where it is asked: the account APIs', or the market APIs' stkinfo and chart
    answering: Callable[[Kept], Callable[[Call], Answer]]  # its answer to a call, made once from what is kept
    bad_field: str | None = None  # what a bad_value fault that names no field spoils
    for_companies: bool = True  # False: a company's account is answered 8200
