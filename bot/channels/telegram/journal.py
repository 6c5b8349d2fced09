"""Handling a Telegram update again (after a crash) without doing anything twice.

``InboxPump`` hands each update to the handlers with a ``Journal`` of it current (see
``handling``). The journal numbers the steps of handling that leave a trace outside the
process, in the order they are taken, and records each one, with its result, in
``telegram_steps`` under (update id, step). Handling the update again (its process died before
the done mark; another takes it after the lease) takes the same steps in the same order, and
a step recorded as done is not done again:

- the conversation's database work (``Conversation.handle_from`` with ``steps``): the dose
  record, the re-plan, the nurse alerts' rows, and, in the same transaction, the step with
  its result (the reply and the alerts): done once or not at all; a repeat answers with the
  recorded reply instead of reading the message again (a message whose handling failed
  records the answer it got, its alert having gone: handled again, it answers the same);
- each message to Telegram (``say``: a reply, a welcome): recorded right after the Bot API
  accepted it (the result: "message <chat id>:<message id>", as Telegram numbered it);
- each nurse alert's push (to the nurse chats and the team's phones): recorded right after
  ("alert <alert id>").

A message Telegram did not take for now (no connection, a timeout, 429, a 5xx) leaves the
update unfinished (``Journal.unsent``): the pump does not mark it done, so after the lease it
is handled again, from that step on (the conversation is not read again), up to
``inbox.MAX_ATTEMPTS`` times, after which the nurses are alerted. A timeout is ambiguous
(Telegram may have delivered it): sending it again may repeat it, which is better than a lost
answer. A refusal that will not change (the patient blocked the bot, a bad request) is final.

What no database can close: a message Telegram accepted whose step was not yet committed when
the process died (the few milliseconds between the Bot API's answer and the commit) is sent
again by whoever handles the update next. The same holds for an alert pushed to some nurse
chats and not recorded yet: all of its chats get it again. Nurse commands (``nurse.py``,
``enrol.py``) are not journalled: a nurse's command handled again answers again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from datetime import datetime
from typing import Protocol

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from scheduler.ports import Inbox


class Turns(Protocol):
    """``bot.conversation.turns.Turns``: turns at the database (SQLite), urgent ones first."""

    def __call__(self, *, urgent: bool = False) -> AbstractAsyncContextManager[object]: ...


def no_turns(*, urgent: bool = False) -> AbstractAsyncContextManager[object]:
    """No waiting (PostgreSQL)."""
    return contextlib.nullcontext()


class Journal:
    """The steps of handling one update; ``recall`` moves on to the next step."""

    def __init__(
        self, inbox: Inbox, update_id: int, now: Callable[[], datetime], turns: Turns
    ) -> None:
        self.inbox = inbox
        self.update_id = update_id
        self.now = now
        self.turns = turns
        self._step = 0
        # A send Telegram refused for now (network, timeout, 429, 5xx): the update must not
        # be marked done, or its reply is lost; handled again after the lease, it resumes here.
        self.unsent: TelegramError | None = None

    async def recall(self) -> str | None:
        """Move to the next step: its recorded result, None if it was never done. Takes no
        database turn (joins the caller's unit of work if any)."""
        self._step += 1
        return await self.inbox.step(self.update_id, self._step)

    async def record(self, result: str) -> None:
        """Record the step ``recall`` moved to as done; joins the caller's unit of work, so a
        step that is database work commits with that work."""
        await self.inbox.record_step(self.update_id, self._step, result, self.now())

    async def once(self, effect: Callable[[], Awaitable[str]]) -> bool:
        """The next step: ``effect`` (returning the result to record), unless it is recorded
        as done. True if it was done now.

        The look-up takes its database turn (``bot.conversation.turns.Turns``) like any other;
        the record takes an urgent one, ahead of every waiting conversation: its wait is the
        window in which a crash sends the effect twice (in the crash drill, behind a queue of
        conversations on SQLite, it was tens of ms)."""
        async with self.turns():
            done = await self.recall() is not None
        if done:
            return False
        try:
            result = await effect()
        except (NetworkError, RetryAfter) as exc:
            # TimedOut is a NetworkError; so, in PTB, is BadRequest, which will not change.
            if not isinstance(exc, BadRequest):
                self.unsent = exc
            raise
        async with self.turns(urgent=True):
            await self.record(result)
        return True


_CURRENT: ContextVar[Journal | None] = ContextVar("lenabot_telegram_journal", default=None)


def current() -> Journal | None:
    """The journal of the update being handled in this task, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def handling(journal: Journal) -> Iterator[None]:
    token = _CURRENT.set(journal)
    try:
        yield
    finally:
        _CURRENT.reset(token)


async def say(bot: Bot, chat_id: int, text: str) -> None:
    """Send ``text`` to ``chat_id``, once per step of the update being handled."""

    async def send() -> str:
        sent = await bot.send_message(chat_id=chat_id, text=text)
        return f"message {chat_id}:{sent.message_id}"

    journal = current()
    if journal is None:
        await send()
    else:
        await journal.once(send)
