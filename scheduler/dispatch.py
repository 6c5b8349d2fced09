"""Dispatch: claim due rows, send each through its channel, record the outcome.

A row is claimed before it is sent and marked right after, so two workers never send the same
row and a crash can repeat at most the sends that were in flight. Transient errors retry with
backoff and jitter until the row's expiry; past expiry nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.localtime import zone
from scheduler.model import Patient
from scheduler.outbox import OutboxRow, SqlAlchemyOutbox
from scheduler.ports import (
    Address,
    Channel,
    Clock,
    Outgoing,
    PermanentSendError,
    TransientSendError,
)
from scheduler.repository import SqlAlchemyCourseRepository, UnknownPatientError

log = logging.getLogger(__name__)

Resolver = Callable[[Patient], tuple[Channel, Address] | None]
OptOutHook = Callable[[Patient, datetime], Awaitable[None]]


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 5.0
    cap: float = 600.0

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Exponential backoff with full jitter; a provider's retry_after is a floor."""
        backoff = rng.uniform(0, min(self.cap, self.base * 2 ** max(0, attempts - 1)))
        return max(backoff, retry_after or 0.0)


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    cancelled: int = 0
    released: int = 0


@dataclass
class Dispatcher:
    outbox: SqlAlchemyOutbox
    courses: SqlAlchemyCourseRepository
    resolve: Resolver
    clock: Clock
    worker: str = field(default_factory=worker_name)
    batch: int = 100
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=5)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_opt_out: OptOutHook | None = None
    rng: random.Random = field(default_factory=random.Random)

    async def tick(self, max_batches: int | None = None) -> DispatchStats:
        """Send everything due now, batch by batch, until nothing is due."""
        stats = DispatchStats()
        now = self.clock.now()
        stats.expired += await self.outbox.expire(now)
        stats.released += await self.outbox.release_stale(now - self.lease, now)
        batches = 0
        while max_batches is None or batches < max_batches:
            rows = await self.outbox.claim(self.clock.now(), self.batch, self.worker)
            if not rows:
                break
            batches += 1
            stats.claimed += len(rows)
            await self._send_batch(rows, stats)
        return stats

    async def _send_batch(self, rows: list[OutboxRow], stats: DispatchStats) -> None:
        patients: dict[str, Patient | None] = {}
        for pid in {r.patient_id for r in rows}:
            try:
                patients[pid] = await self.courses.get(pid)
            except UnknownPatientError:
                patients[pid] = None
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: OutboxRow) -> None:
            async with gate:
                await self._send_one(row, patients.get(row.patient_id), stats)

        await asyncio.gather(*(one(r) for r in rows))

    async def _send_one(
        self, row: OutboxRow, patient: Patient | None, stats: DispatchStats
    ) -> None:
        now = self.clock.now()
        if now >= row.expires_at:
            await self.outbox.mark_expired_claimed(row.id, now, self.worker)
            stats.expired += 1
            return
        if patient is None or patient.opted_out_at is not None:
            await self.outbox.mark_cancelled_claimed(row.id, now, self.worker)
            stats.cancelled += 1
            return
        route = self.resolve(patient)
        if route is None:
            # E.g. a Telegram patient who never opened their link: nowhere to send it.
            await self.outbox.mark_failed(
                row.id,
                error=f"no route: the patient has no linked {patient.channel.value} address",
                now=now,
                worker=self.worker,
            )
            stats.failed += 1
            return
        channel, address = route
        if not await self.outbox.renew(row.id, self.worker, self.clock.now()):
            # This worker stalled past its lease and another took the row back: only a send
            # already in flight may ever repeat, never a row still waiting in our batch.
            log.warning("row %s was taken over while this worker stalled; not sending", row.id)
            return
        local = row.due_at.astimezone(zone(patient.tz))
        message = Outgoing(
            ref=str(row.id),
            patient_id=row.patient_id,
            address=address,
            text=row.text,
            expires_at=row.expires_at,
            local_label=f"{local:%Y-%m-%d} {row.local_time} {patient.tz}",
            callback_token=row.callback_token,
            kind=row.kind,
        )
        try:
            provider_id = await channel.send(message)
        except TransientSendError as exc:
            wait = self.retry.delay(row.attempts, exc.retry_after, self.rng)
            at = self.clock.now() + timedelta(seconds=wait)
            log.warning("send of row %s failed, retrying in %.1fs: %s", row.id, wait, exc.reason)
            await self.outbox.mark_retry(
                row.id, at=at, error=exc.reason, now=self.clock.now(), worker=self.worker
            )
            stats.retried += 1
            return
        except PermanentSendError as exc:
            log.warning("send of row %s failed for good (%s): %s", row.id, exc.code, exc.reason)
            await self.outbox.mark_failed(
                row.id, error=f"{exc.code}: {exc.reason}", now=self.clock.now(), worker=self.worker
            )
            stats.failed += 1
            if exc.opted_out and self.on_opt_out is not None:
                await self.on_opt_out(patient, self.clock.now())
            return
        except Exception as exc:  # a bug or an unknown provider error: retry, never crash the loop
            log.exception("unexpected error sending row %s", row.id)
            at = self.clock.now() + timedelta(
                seconds=self.retry.delay(row.attempts, None, self.rng)
            )
            await self.outbox.mark_retry(
                row.id,
                at=at,
                error=f"unexpected: {type(exc).__name__}",
                now=self.clock.now(),
                worker=self.worker,
            )
            stats.retried += 1
            return
        await self.outbox.mark_sent(
            row.id,
            provider_id=provider_id,
            channel=channel.name,
            now=self.clock.now(),
            worker=self.worker,
        )
        stats.sent += 1
        log.info("sent row %s (%s) via %s", row.id, row.kind, channel.name)
