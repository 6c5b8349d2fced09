"""Planner processes: the every-minute planning pass of a big clinic, on every core.

Planning is CPU-bound Python (the calendar, the words, the diff against the outbox), and one
Python process uses one core: on this project's 2-core reference machine, one process planned
100,000 patients in 22-28 s. So the pass of a clinic bigger than one page of patients is shared
by planner processes. Each is a whole ``Materialiser`` of its own: its own database engine and
its own memory of what it synced. The service process pages through the patient ids and hands
each page to a planner, always page ``k`` to planner ``k % count`` so that memory stays useful
from one pass to the next; it gets back counts, never plans.

The outbox stays the record of truth, as with several ``lenabot worker`` processes: each page
is a disjoint range of patients, a sync is one transaction, and a planner's memory only ever
lets its pass skip a patient whose inputs it has seen unchanged.

A planner is ``python -m scheduler.runtime.planners``, speaking length-prefixed pickles over its stdin
and stdout: a plain subprocess rather than ``multiprocessing``, so it imports only the planning
code (not the service's web and channel stack) and sees end-of-file, and exits, the moment its
service goes away, even after ``kill -9``. Planners start when a pass first needs them and run
until ``close``. A planner that dies fails the pass it was in; the next pass starts a new one.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import signal
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from messages.render import render_for
from scheduler.domain.model import PlanSettings
from scheduler.domain.outbox import SyncResult

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")  # frame length


class PlannerProcessError(RuntimeError):
    """A planner process died (killed, out of memory) or could not start."""


@dataclass(frozen=True)
class PlannerSpec:
    """What a planner process needs to build its own ``Materialiser`` (sent by pickling)."""

    database_url: str
    settings: PlanSettings
    horizon: timedelta
    # Extra ``create_async_engine`` arguments, e.g. PostgreSQL session settings.
    engine_options: dict[str, Any] = field(default_factory=dict)
    # The service's garbage-collector thresholds (see bot.serve.tune_gc), kept in the planners.
    gc_threshold: tuple[int, ...] = field(default_factory=gc.get_threshold)


@dataclass(frozen=True)
class PlannerUsage:
    """One planner process: its pid, CPU seconds so far and peak resident memory (kB)."""

    pid: int
    cpu_s: float
    peak_rss_kb: int


# -- inside a planner process ---------------------------------------------------------------


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def _frame(value: Any) -> bytes:
    """One message on a planner's pipe: its pickle's length, then the pickle."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _write(stream: IO[bytes], value: Any) -> None:
    stream.write(_frame(value))
    stream.flush()


def peak_rss_kb() -> int:
    """This process's peak resident memory in kB (``VmHWM``; Linux, else 0).

    Not ``ru_maxrss``: Linux carries that over ``exec`` from the forked parent, so a child of
    a big process would report the parent's size.
    """
    try:
        with open("/proc/self/status") as f:
            return next((int(x.split()[1]) for x in f if x.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def _usage() -> PlannerUsage:
    return PlannerUsage(os.getpid(), time.process_time(), peak_rss_kb())


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """A planner's life: build a ``Materialiser`` from the spec, then answer requests until
    end-of-file (the service closed the pipe, or is gone)."""
    from scheduler.services.materialise import Materialiser
    from scheduler.store.db import make_engine
    from scheduler.store.outbox import SqlAlchemyOutbox
    from scheduler.store.repository import SqlAlchemyCourseRepository

    # Ctrl-C in a terminal reaches the whole process group: the service decides when its
    # planners stop (it closes their pipe), not the keyboard.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spec: PlannerSpec = _read(requests)
    gc.set_threshold(*spec.gc_threshold)
    engine = make_engine(spec.database_url, **spec.engine_options)
    mat = Materialiser(
        SqlAlchemyCourseRepository(engine), SqlAlchemyOutbox(engine), spec.settings,
        horizon=spec.horizon,render=render_for
    )  # fmt: skip
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                request = _read(requests)
            except EOFError:
                return
            try:
                if request[0] == "plan":
                    _, ids, now = request
                    answer: Any = loop.run_until_complete(mat.patients(ids, now, skip_fresh=True))
                else:
                    answer = _usage()
                reply = ("ok", answer)
            except Exception as exc:  # the service fails the pass with it and carries on
                reply = ("error", _portable(exc))
            _write(replies, reply)
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


def _portable(exc: Exception) -> Exception:
    """The exception itself if it survives pickling, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


# -- in the service process -----------------------------------------------------------------


class _Planner:
    """One running planner process. Requests are written as they come (the planner always has
    the next page waiting) and answered in order; one reader task matches the answers up."""

    def __init__(self, k: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.k = k
        self.proc = proc
        self.stdin = proc.stdin
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.dead = False
        self.reader = asyncio.create_task(self._read(proc.stdout))

    async def ask(self, request: Any) -> Any:
        if self.dead:
            raise PlannerProcessError(f"planner process {self.k} died during the pass")
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append(answer)
        self.stdin.write(_frame(request))  # whole, at once: frames never mix
        # Cancelled while waiting (the pass failed elsewhere): the planner still answers, and
        # the reader drops the answer; the planner stays in step.
        return await answer

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = _HEADER.unpack(await stdout.readexactly(_HEADER.size))
                status, value = pickle.loads(await stdout.readexactly(size))
                answer = self.waiting.popleft()
                if answer.done():
                    continue
                if status == "error":
                    answer.set_exception(value)
                else:
                    answer.set_result(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the planner exited
        except Exception:  # an answer that cannot be read: out of step for good
            log.exception("planner process %s sent an unreadable answer; stopping it", self.k)
            self.proc.kill()
        finally:
            self.dead = True
            while self.waiting:
                answer = self.waiting.popleft()
                if not answer.done():
                    answer.set_exception(
                        PlannerProcessError(f"planner process {self.k} died during the pass")
                    )

    async def stop(self, grace: float = 10.0) -> None:
        """Close the planner's pipe: it finishes what it was asked, closes its connections and
        exits (killed if it takes longer than ``grace``)."""
        if not self.stdin.is_closing():
            self.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), grace)
        except TimeoutError:
            log.warning("planner process %s did not stop in %s s; killing it", self.proc.pid, grace)
            self.proc.kill()
            await self.proc.wait()
        await self.reader


class PlannerProcesses:
    """Up to ``count`` planner processes, started on first use (``plan``)."""

    def __init__(self, spec: PlannerSpec, count: int) -> None:
        if count < 1:
            raise ValueError("planner processes: count must be at least 1")
        self.spec = spec
        self.count = count
        self._planners: list[_Planner | None] = [None] * count
        self._starting = asyncio.Lock()

    async def _planner(self, k: int) -> _Planner:
        async with self._starting:
            planner = self._planners[k]
            if planner is not None and planner.dead:
                await planner.stop()  # reaped; the next pass starts a new planner here
                planner = None
            if planner is None:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "scheduler.runtime.planners",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
                assert proc.stdin is not None
                proc.stdin.write(_frame(self.spec))
                planner = self._planners[k] = _Planner(k, proc)
            return planner

    async def plan(self, page: int, patient_ids: list[str], now: datetime) -> SyncResult:
        """Plan and sync these patients in planner ``page % count``."""
        planner = await self._planner(page % self.count)
        result: SyncResult = await planner.ask(("plan", patient_ids, now))
        return result

    async def usage(self) -> list[PlannerUsage]:
        """Each running planner's pid, CPU time and peak memory (benchmarks, tests)."""
        return [await p.ask(("usage",)) for p in self._planners if p is not None and not p.dead]

    async def close(self) -> None:
        """Stop every planner (each finishes its current page first)."""
        running = [p for p in self._planners if p is not None]
        self._planners = [None] * self.count
        await asyncio.gather(*(p.stop() for p in running))


def main() -> None:
    # The answers go to the original stdout; anything else printed goes to stderr and cannot
    # corrupt them.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    # Run from the module proper, not this ``__main__`` copy, so that what the planner sends
    # back unpickles in the service as ``scheduler.runtime.planners.PlannerUsage``.
    from scheduler.runtime.planners import main as planner_main

    planner_main()
