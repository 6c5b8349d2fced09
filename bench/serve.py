"""``lenabot web`` with the wall clock moved to the benchmarks' T0: the inbound benchmark's
service process, started as production starts it (``bot.cli.main``, uvicorn, its event loop and
HTTP parser), at a known moment of every course (time-machine moves the clock, ticking).

    python -m bench.serve      # settings from the environment, as for `lenabot web`
    python -m bench.serve run  # `lenabot run`: the web server and the worker (bench/memory_run.py)

``BENCH_GC_LOG=FILE``: every garbage collection of the oldest generation, and any other that
takes 5 ms or more, is appended to FILE as a JSON line (wall-clock start, generation,
milliseconds, objects collected), to line pauses up with the slowest requests.

``BENCH_CPU_PROFILE=FILE``: the process's Python stacks sampled by CPU time (``ITIMER_PROF``:
one sample per tick of CPU the process used, user and system), written to FILE at exit as
collapsed stacks ("frame;frame;... count" lines, root first). A wall-clock sampler (py-spy)
counts a process preempted on a shared machine as busy: on the 2 cores shared with the load
generator and PostgreSQL it put a quarter of the inbound path in a socket ``write``.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import signal
import sys
import time
from collections import Counter
from types import FrameType
from typing import Any

# time-machine imports pytest (for its plugin) and dateutil (to parse a string destination)
# whenever they are installed. `lenabot run` imports neither; pytest alone made ~5 MB of the
# service bench/memory_run.py measures. This process needs neither (T0 is a datetime).
for _unused in ("pytest", "dateutil"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]

import time_machine  # noqa: E402

from bench.common import T0  # noqa: E402
from bot.cli.main import main  # noqa: E402

# time-machine moves time.time() (at the C level, so a saved reference moves too); the wall
# clock of the load process is the real one: perf_counter (never moved) plus this offset.
_WALL_OFFSET = time.time() - time.perf_counter()


def log_collections(path: str) -> None:
    out = open(path, "a", buffering=1)  # open for the life of the process
    started: list[float] = [0.0, 0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            now = time.perf_counter()
            started[:] = [now + _WALL_OFFSET, now]
            return
        ms = (time.perf_counter() - started[1]) * 1000
        if info["generation"] == 2 or ms >= 5:
            out.write(
                json.dumps(
                    {
                        "at": started[0],
                        "generation": info["generation"],
                        "ms": round(ms, 2),
                        "collected": info["collected"],
                    }
                )
                + "\n"
            )

    gc.callbacks.append(callback)


def profile_cpu(path: str, interval: float = 0.001) -> None:
    """Sample the Python stack every ``interval`` s of CPU (the kernel rounds it up to its
    tick); the counts are written to ``path`` at exit."""
    stacks: Counter[str] = Counter()

    def sample(signum: int, frame: FrameType | None) -> None:
        names = []
        while frame is not None:
            code = frame.f_code
            names.append(f"{code.co_qualname} ({code.co_filename.rsplit('site-packages/', 1)[-1]})")
            frame = frame.f_back
        stacks[";".join(reversed(names))] += 1

    def write() -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)
        if stacks:
            with open(path, "w") as out:
                out.writelines(f"{stack} {n}\n" for stack, n in stacks.most_common())
            stacks.clear()

    def terminated(signum: int, frame: FrameType | None) -> None:
        # uvicorn shuts down on SIGTERM, puts back the handler it found (this one) and
        # raises the signal again: the process ends by it, without running atexit.
        write()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGPROF, sample)
    signal.signal(signal.SIGTERM, terminated)
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    atexit.register(write)


if __name__ == "__main__":
    if os.environ.get("BENCH_GC_LOG"):
        log_collections(os.environ["BENCH_GC_LOG"])
    if os.environ.get("BENCH_CPU_PROFILE"):
        profile_cpu(os.environ["BENCH_CPU_PROFILE"])
    with time_machine.travel(T0, tick=True):
        main(sys.argv[1:] or ["web"])
