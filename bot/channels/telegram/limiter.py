"""Pacing for everything the bot sends: ~30 messages/s overall, 1/s per chat, replies first.

Telegram answers 429 past about 30 messages a second overall or one a second in one chat.
Bulk reminders from the dispatcher ask with ``rate_limit_args=BULK``; anything else (a reply
to a patient, a nurse alert, a welcome) is interactive and goes ahead of every queued bulk
message, so a patient's answer never waits behind a morning burst. Nothing is retried here: a
429 goes straight back to the caller, and the dispatcher, which owns retries, honours its
retry_after. (PTB's AIORateLimiter sleeps and retries by itself, and has no priorities.)

The limits hold where Telegram counts them, on arrival, whatever the network delay: a request
counts against the overall window from the moment it is let go until one window after its
answer came back, and the next message to a chat waits until a second after the previous
one's answer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import BaseRateLimiter

INTERACTIVE, BULK = 1, 5  # lower goes first; PTB drops a falsy rate_limit_args, so not 0
WINDOW = 1.0  # seconds
_PRUNE_AT = 10_000

_Result = bool | dict[str, Any] | list[dict[str, Any]]


@dataclass
class _ChatGate:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class PriorityRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        overall_per_window: int = 30,
        per_chat_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.overall_per_window = overall_per_window
        self.per_chat_interval = per_chat_interval
        self._clock = clock
        self._in_flight = 0
        self._done: deque[float] = deque()  # answer times within the last window
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # a heap
        self._arrivals = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._chat_next: dict[str, float] = {}  # earliest next send per chat
        self._gates: dict[str, _ChatGate] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> _Result:
        chat = data.get("chat_id")
        if chat is None:  # getMe, setWebhook...: not messages
            return await callback(*args, **kwargs)
        key = str(chat)
        gate = self._gates.setdefault(key, _ChatGate())
        gate.users += 1
        try:
            async with gate.lock:  # one request per chat at a time
                wait = self._chat_next.get(key, 0.0) - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._take(rate_limit_args or INTERACTIVE)
                try:
                    return await callback(*args, **kwargs)
                finally:
                    self._chat_next[key] = self._clock() + self.per_chat_interval
                    self._give_back()
        finally:
            gate.users -= 1
            if gate.users == 0:
                del self._gates[key]
            if len(self._chat_next) > _PRUNE_AT:
                now = self._clock()
                self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}

    async def _take(self, priority: int) -> None:
        """Wait for a place in the overall window, lower ``priority`` first."""
        granted = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrivals), granted))
        self._grant()
        try:
            await granted
        except BaseException:
            if granted.done() and not granted.cancelled():
                self._in_flight -= 1  # granted, but the caller went away: hand it on
                self._grant()
            granted.cancel()
            raise

    def _give_back(self) -> None:
        self._in_flight -= 1
        self._done.append(self._clock())
        self._grant()

    def _grant(self) -> None:
        now = self._clock()
        while self._done and self._done[0] <= now - WINDOW:
            self._done.popleft()
        while self._waiting and self._in_flight + len(self._done) < self.overall_per_window:
            _, _, granted = heapq.heappop(self._waiting)
            if not granted.done():  # skip callers that gave up
                granted.set_result(None)
                self._in_flight += 1
        if self._waiting and self._done and self._timer is None:
            delay = self._done[0] + WINDOW - now
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant()
