"""Turns at the database for inbound messages (SQLite), urgent ones first."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class Turns:
    """Inbound messages take turns at the database on SQLite; on PostgreSQL they do not wait.

    On SQLite every transaction, reads included, takes the one write lock up front (BEGIN
    IMMEDIATE, see scheduler.store.db). A connection that finds it taken waits in SQLite's busy
    handler: sleeps of 1, 2, 5, ... 100 ms, unfair and blind to the event loop. With ten
    messages in flight at 100 a second, a quarter of BEGINs waited over 20 ms and some over
    a second (p99 of the SMS webhook 100-900 ms). Waiting here instead, in the event loop's
    FIFO, costs almost nothing: the messages share one event loop anyway, and one message's
    database work is a few ms. Only database work is done in a turn: nurse alerts (which may
    wait on Telegram) and replies are sent outside it.

    An ``urgent`` turn goes before every waiting ordinary one: recording that a reply was sent
    (bot.channels.telegram.journal), whose wait is the window in which a crash sends it twice.

    Not re-entrant: code holding a turn must not take another.
    """

    def __init__(self, serial: bool) -> None:
        self.serial = serial
        self._loop: asyncio.AbstractEventLoop | None = None
        self._held = False
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (
            deque(),
            deque(),
        )  # urgent, ordinary

    def __call__(self, *, urgent: bool = False) -> contextlib.AbstractAsyncContextManager[object]:
        """``async with turns():`` around one message's database work."""
        if not self.serial:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # waiters belong to one loop
            self._loop, self._held = loop, False
            self._waiting = (deque(), deque())
        return self._turn(urgent)

    def locked(self) -> bool:
        """Someone holds a turn now."""
        return self._held

    @contextlib.asynccontextmanager
    async def _turn(self, urgent: bool) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self._held and not any(self._waiting):
            self._held = True
            return
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        queue = self._waiting[0 if urgent else 1]
        queue.append(waiter)
        try:
            await waiter  # handed the turn by _release (still held)
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed the turn, but gone: pass it on
            else:
                queue.remove(waiter)
            raise

    def _release(self) -> None:
        for queue in self._waiting:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes on, held throughout
                    return
        self._held = False
