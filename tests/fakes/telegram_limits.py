"""Sliding-window flood control, approximating Telegram's documented bot limits.

Telegram documents roughly 30 messages/s overall and 1 message/s per chat; past that it answers
429 with ``parameters.retry_after`` (whole seconds). Rejected requests are not counted, so a
client that honours retry_after gets through afterwards.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_S = 1.0


class SlidingWindowLimits:
    def __init__(self, overall_per_s: int, per_chat_per_s: int, clock: Callable[[], float]) -> None:
        if overall_per_s < 1 or per_chat_per_s < 1:
            raise ValueError("limits must be >= 1")
        self.overall_per_s = overall_per_s
        self.per_chat_per_s = per_chat_per_s
        self._clock = clock
        self._overall: deque[float] = deque()
        self._per_chat: defaultdict[str, deque[float]] = defaultdict(deque)

    def admit(self, chat: str) -> int | None:
        """Record a send to `chat` and return None, or return retry_after (s) if over limit."""
        now = self._clock()
        overall, per_chat = self._overall, self._per_chat[chat]
        for window in (overall, per_chat):
            while window and window[0] <= now - WINDOW_S:
                window.popleft()
        blocking = [
            window[-limit]
            for window, limit in ((overall, self.overall_per_s), (per_chat, self.per_chat_per_s))
            if len(window) >= limit
        ]
        if blocking:
            # The send that must age out of the window before this one fits; Telegram only
            # ever says whole seconds, and never 0.
            return max(1, math.ceil(max(blocking) + WINDOW_S - now))
        overall.append(now)
        per_chat.append(now)
        return None
