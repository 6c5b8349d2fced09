"""``lenabot web`` with the wall clock moved to the benchmarks' T0: the inbound benchmark's
service process, started as production starts it (``bot.cli.main``, uvicorn, its event loop and
HTTP parser), at a known moment of every course (time-machine moves the clock, ticking).

    python -m bench.serve      # settings from the environment, as for `lenabot web`
    python -m bench.serve run  # `lenabot run`: the web server and the worker (bench/memory_run.py)
"""

from __future__ import annotations

import sys

import time_machine

from bench.common import T0
from bot.cli.main import main

if __name__ == "__main__":
    with time_machine.travel(T0, tick=True):
        main(sys.argv[1:] or ["web"])
