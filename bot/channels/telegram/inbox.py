"""Handling Telegram updates from the inbox (scheduler/store/inbox.py), and long polling into it.

``InboxPump`` runs in every process that receives (``start(inbound=True)``): it claims the
earliest unhandled update of each chat (so a chat's updates are handled one at a time and in
order, different chats in parallel), hands each to PTB's ``Application.process_update`` and
marks it done. Claims are renewed while a handler runs; a process that dies leaves claims
that any live process takes again once the lease is over.

The done mark is its own transaction, right after the handler returns: the handlers commit
their own database work (Conversation's unit of work, and SQLite's per-message turns, must
not sit inside a transaction held open around them) and send the reply and push nurse alerts
after that commit. A crash before the done mark handles that update again, so the handlers
run with a ``journal.Journal`` of the update: each step already done (the conversation's
work, each reply, each alert's push) is recorded and not done again. Only a message Telegram
accepted in the milliseconds before its step was committed can go twice (journal.py).
Nothing can be lost that was acknowledged: it is in the inbox before Telegram hears 200.

An update whose handling was started ``MAX_ATTEMPTS`` times without finishing is failed, so
it no longer holds up its chat, and ``on_failed`` is told (the gateway alerts the nurses).

``Poller`` (no PUBLIC_URL) reads getUpdates from the offset stored in the database and stores
each batch, with the offset past it, in one transaction before asking for more; a restart
starts from the stored offset, and a batch fetched again is a no-op (unique update ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.channels.telegram import journal
from bot.channels.telegram.journal import Journal, Turns, no_turns
from scheduler.ports import InboxRow
from scheduler.store.db import unit_of_work
from scheduler.store.inbox import SqlAlchemyInbox

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5  # an update whose handling was started this often is failed
CONCURRENCY = 32  # chats handled at once
RENEWALS_PER_LEASE = 4  # claims renewed (and stale ones swept) this often per lease
IDLE_POLL_S = 1.0  # look for updates stored by other processes (or freed claims) this often
POLL_TIMEOUT_S = 10  # getUpdates long poll


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class InboxPump:
    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        inbox: SqlAlchemyInbox,
        now: Callable[[], datetime],
        *,
        lease: timedelta = LEASE,
        idle: float = IDLE_POLL_S,
        turns: Turns = no_turns,
        on_failed: Callable[[list[tuple[int, int | None]]], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.now = now
        self.lease = lease
        self.idle = idle
        self.turns = turns  # the conversation's database turns (SQLite), for the journal
        self.on_failed = on_failed
        self.worker = worker_name()
        self._wake = asyncio.Event()
        self._running: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._renewed_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        """Something was stored (or finished): look again now."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-inbox")

    async def stop(self) -> None:
        """Stop claiming; updates being handled are finished first (briefly), the rest stay
        claimed until the lease runs out, so another process can take them."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        tasks = [task for _, task in self._running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        for task in tasks:
            task.cancel()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the Telegram inbox could not be read; trying again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle):
                    await self._wake.wait()

    async def _tick(self) -> None:
        # Claims are renewed, and stale ones swept, a few times a lease, not on every wake:
        # a tick runs for every update stored or handled, and at 100 updates/s renewing each
        # time cost two write transactions per update for nothing.
        now = self.now()
        if self._renewed_at is None or now - self._renewed_at >= self.lease / RENEWALS_PER_LEASE:
            held = {row_id: token for row_id, (token, _) in self._running.items()}
            for token in set(held.values()):
                await self.inbox.renew([i for i, t in held.items() if t == token], token, now)
            failed = await self.inbox.release_stale(now - self.lease, MAX_ATTEMPTS)
            self._renewed_at = now
            if failed:
                log.error("%d Telegram updates failed after %d attempts", len(failed), MAX_ATTEMPTS)
                if self.on_failed is not None:
                    await self.on_failed(failed)
        room = CONCURRENCY - len(self._running)
        if room <= 0:
            return
        for row in await self.inbox.claim(now, room, self.worker, self.lease):
            task = asyncio.create_task(self._handle(row))
            self._running[row.id] = (row.claimed_by, task)

    async def _handle(self, row: InboxRow) -> None:
        steps = Journal(self.inbox, row.update_id, self.now, self.turns)
        try:
            update = Update.de_json(json.loads(row.raw), self.app.bot)
            # Errors in handlers go to the Application's error handler, not here.
            with journal.handling(steps):
                await self.app.process_update(update)
        except Exception:
            log.exception("Telegram update %s could not be handled", row.update_id)
        finally:
            try:
                if steps.unsent is not None:
                    # Left claimed: handled again once the lease is over (see journal.py).
                    log.warning(
                        "Telegram update %s: a message was not sent (%s); trying again after "
                        "the lease", row.update_id, type(steps.unsent).__name__,
                    )  # fmt: skip
                elif not await self.inbox.done(row.id, row.claimed_by, self.now()):
                    log.warning("Telegram update %s was claimed by another", row.update_id)
            except Exception:
                log.exception("Telegram update %s handled but not marked done", row.update_id)
            self._running.pop(row.id, None)
            self.nudge()  # the chat's next update can go now


class Poller:
    """getUpdates into the inbox, from the offset stored in the database."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        inbox: SqlAlchemyInbox,
        now: Callable[[], datetime],
        stored: Callable[[], None],
        allowed: list[str],
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.now = now
        self.stored = stored
        self.allowed = allowed
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.app.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        wait = 1.0
        while True:
            try:
                await self.poll_once()
                wait = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                level = logging.WARNING if isinstance(exc, TelegramError) else logging.ERROR
                log.log(level, "Telegram getUpdates failed (%s); retrying", exc)
                await asyncio.sleep(wait)
                wait = min(30.0, wait * 2)

    async def poll_once(self) -> int:
        offset = await self.inbox.next_offset()
        updates = await self.app.bot.get_updates(
            offset=offset, timeout=POLL_TIMEOUT_S, allowed_updates=self.allowed
        )
        if not updates:
            return 0
        now = self.now()
        async with unit_of_work(self.inbox.engine):
            for update in updates:
                await store(self.inbox, update, now)
            await self.inbox.save_offset(max(u.update_id for u in updates) + 1, now)
        self.stored()
        return len(updates)


async def store(inbox: SqlAlchemyInbox, update: Update, now: datetime) -> bool:
    chat = update.effective_chat
    raw = json.dumps(update.to_dict(), separators=(",", ":"))
    return await inbox.add(update.update_id, chat.id if chat else None, raw, now)
