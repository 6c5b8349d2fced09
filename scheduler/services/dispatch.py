"""Dispatch: claim due rows, send each through its channel, record the outcome.

A row is claimed before it is sent and marked right after, so two workers never send the same
row and a crash can repeat at most the sends that were in flight. Transient errors retry with
backoff and jitter until the row's expiry; past expiry nothing is sent.

Dose messages (reminder, follow-up, LATER) pass ``scheduler.domain.safety.blocked`` in the very
transaction that claims them, and again in the one that re-confirms a claim: a dose recorded,
a pause, an end or a closed window cancels the row (with the reason) instead of sending it,
however stale the plan that wrote it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.domain.model import Patient
from scheduler.domain.outbox import CANCELLED, EXPIRED, Finish, OutboxRow
from scheduler.ports import (
    Address,
    Channel,
    Clock,
    CourseReader,
    OutboxClaims,
    PermanentSendError,
    TransientSendError,
)
from scheduler.services.sending import (
    Claim,
    Recorder,
    RetryPolicy,
    cancel_blocked,
    outgoing,
    worker_name,
)

log = logging.getLogger(__name__)

# At shutdown, how long a cancelled tick may take to write the outcomes of its finished sends
# (one short transaction; longer means the database is in trouble, and the lease returns them).
RECORD_WAIT_S = 2.0

Resolver = Callable[[Patient], tuple[Channel, Address] | None]
OptOutHook = Callable[[Patient, datetime], Awaitable[None]]
# Told of every outcome as (outcome, kind, channel): "sent", "retried", "failed", "expired",
# "cancelled" (a dose message stopped at the last check); for metrics. Rows expired in bulk before any claim are reported with kind "unknown".
ResultHook = Callable[[str, str, str], None]


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
    outbox: OutboxClaims
    courses: CourseReader
    resolve: Resolver
    clock: Clock
    worker: str = field(default_factory=worker_name)
    batch: int = 100
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=5)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_opt_out: OptOutHook | None = None
    on_result: ResultHook | None = None
    rng: random.Random = field(default_factory=random.Random)
    # Shutdown state (see ``drain``): set once, never cleared; the ticks running right now.
    _stopping: bool = field(default=False, init=False, repr=False)
    _ticks: set[asyncio.Task[object]] = field(default_factory=set, init=False, repr=False)
    # Rows handed to a channel whose outcome is not yet recorded: at shutdown, those still
    # claimed were cut off mid-send and may have reached the provider (``drain``).
    _in_flight: set[int] = field(default_factory=set, init=False, repr=False)

    @property
    def renew_after(self) -> timedelta:
        """How old a batch's claim confirmation may be before the next send re-confirms it."""
        return self.lease / 10

    async def tick(self, max_batches: int | None = None) -> DispatchStats:
        """Send everything due now, batch by batch, until nothing is due (or ``drain``)."""
        stats = DispatchStats()
        if self._stopping:
            return stats
        task = asyncio.current_task()
        if task is not None:
            self._ticks.add(task)
        try:
            now = self.clock.now()
            expired = await self.outbox.expire(now)
            stats.expired += expired
            for _ in range(expired):
                self._report("expired", "unknown", "unknown")
            stats.released += await self.outbox.release_stale(now - self.lease, now)
            batches = 0
            while not self._stopping and (max_batches is None or batches < max_batches):
                claimed_at = self.clock.now()
                rows, cancelled = await self._claim(claimed_at)
                if not rows and not cancelled:
                    break
                batches += 1
                stats.claimed += len(rows) + cancelled
                stats.cancelled += cancelled
                if rows:
                    await self._send_batch(rows, claimed_at, stats)
        finally:
            if task is not None:
                self._ticks.discard(task)
        return stats

    async def drain(self, grace: float) -> int:
        """Stop for shutdown; returns how many claimed rows were handed back to pending.

        No new batch is claimed and no claimed row that has not started is sent, but sends
        already with the provider get up to ``grace`` seconds to finish and be recorded (a
        send cut off mid-way is the one kind of message that may go twice). Whatever this
        worker still holds then goes straight back to pending, so the other workers, or this
        one restarted, need not wait out the lease.
        """
        self._stopping = True
        running = [t for t in self._ticks if t is not asyncio.current_task()]
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                log.warning("dispatch tick still sending after %.1fs: cancelling it", grace)
                task.cancel()
            if late:
                # A cancelled tick still waits for the outcomes of its finished sends to be
                # written: a sent row handed back as unsent would go twice.
                await asyncio.wait(late, timeout=RECORD_WAIT_S)
        # Sends cut off while with the provider may have reached it: marked, so that their next
        # attempt looks there first.
        released = await self.outbox.release_worker(
            self.worker, self.clock.now(), sorted(self._in_flight)
        )
        if released:
            log.info("released %d claimed rows at shutdown", released)
        return released

    async def _claim(self, now: datetime) -> tuple[list[OutboxRow], int]:
        """Claim a batch and, in the same transaction, cancel the dose messages that must not
        go (see ``cancel_blocked``); the rows left to send, and how many were cancelled."""
        async with self.outbox.unit_of_work():
            rows = await self.outbox.claim(now, self.batch, self.worker)
            stopped = await cancel_blocked(self.outbox, self.courses, rows, now)
        for row in rows:
            if row.id in stopped:
                self._report("cancelled", row.kind, "unknown")
        return [r for r in rows if r.id not in stopped], len(stopped)

    async def _send_batch(
        self, rows: list[OutboxRow], claimed_at: datetime, stats: DispatchStats
    ) -> None:
        # One query for the batch's patients; one missing here was erased since it was planned.
        patients: dict[str, Patient | None] = dict(
            await self.courses.get_many({r.patient_id for r in rows})
        )
        claim = Claim(
            token=rows[0].claimed_by or "",
            confirmed_at=claimed_at,
            unsent={r.id for r in rows},
            rows={r.id: r for r in rows},
        )
        recorder = Recorder(self.outbox, patience=self.lease.total_seconds() * 0.8)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(row: OutboxRow) -> None:
            async with gate:
                await self._send_one(row, patients.get(row.patient_id), claim, recorder, stats)

        try:
            await asyncio.gather(*(one(r) for r in rows))
        finally:
            # Shielded: a cancelled tick still records the sends that did happen.
            await recorder.wait()

    async def _still_ours(self, claim: Claim, row: OutboxRow) -> str | None:
        """None if this row may be sent: still claimed by this batch, and (a dose message)
        still allowed, as last confirmed a moment ago; else "lost" or "cancelled".

        Claims are confirmed for the whole batch at once, and only when the last confirmation
        is older than ``renew_after`` (a tenth of the lease), or ``sending.DOSE_RECHECK_AFTER``
        for a dose message: a worker that stalled past its lease finds the rows another worker
        took back and does not send them, a dose recorded meanwhile cancels its reminder, yet a
        fast batch costs no extra transaction.
        """
        if claim.stale(row, self.clock.now(), self.renew_after):
            async with claim.lock:
                now = self.clock.now()
                if claim.stale(row, now, self.renew_after):
                    async with self.outbox.unit_of_work():
                        kept = await self.outbox.renew_many(sorted(claim.unsent), claim.token, now)
                        kept_rows = [claim.rows[i] for i in sorted(kept)]
                        stopped = await cancel_blocked(self.outbox, self.courses, kept_rows, now)
                    claim.lost |= claim.unsent - kept
                    claim.cancelled |= set(stopped)
                    claim.unsent -= set(stopped)
                    claim.confirmed_at = now
                    for i in stopped:
                        self._report("cancelled", claim.rows[i].kind, "unknown")
        if row.id in claim.lost:
            return "lost"
        return "cancelled" if row.id in claim.cancelled else None

    async def _send_one(
        self,
        row: OutboxRow,
        patient: Patient | None,
        claim: Claim,
        recorder: Recorder,
        stats: DispatchStats,
    ) -> None:
        if self._stopping or recorder.error is not None:
            # Not started before shutdown (``drain`` hands the row back), or outcomes can no
            # longer be recorded (the tick fails; the lease brings the row back): not sent.
            return
        now = self.clock.now()
        token = row.claimed_by
        if now >= row.expires_at:
            await recorder.record(Finish.ended(row.id, token, EXPIRED, now))
            stats.expired += 1
            self._report("expired", row.kind, patient.channel.value if patient else "unknown")
            return
        if patient is None or patient.opted_out_at is not None:
            why = "the patient was erased" if patient is None else "the patient opted out"
            await recorder.record(Finish.ended(row.id, token, CANCELLED, now, why))
            stats.cancelled += 1
            return
        route = self.resolve(patient)
        if route is None:
            # E.g. a Telegram patient who never opened their link: nowhere to send it.
            why = f"no route: the patient has no linked {patient.channel.value} address"
            await recorder.record(Finish.failed(row.id, token, why, now))
            stats.failed += 1
            self._report("failed", row.kind, patient.channel.value)
            return
        channel, address = route
        verdict = await self._still_ours(claim, row)
        if verdict == "lost":
            # This worker stalled past its lease and another took the row back: only a send
            # already in flight may ever repeat, never a row still waiting in our batch.
            log.warning("row %s was taken over while this worker stalled; not sending", row.id)
            return
        if verdict == "cancelled":  # a dose recorded (or the course changed) meanwhile
            stats.cancelled += 1
            return
        claim.unsent.discard(row.id)
        self._in_flight.add(row.id)
        try:
            provider_id = await channel.send(outgoing(row, patient, address))
        except TransientSendError as exc:
            wait = self.retry.delay(row.attempts, exc.retry_after, self.rng)
            now = self.clock.now()
            log.warning("send of row %s failed, retrying in %.1fs: %s", row.id, wait, exc.reason)
            await self._record(
                recorder,
                Finish.retry(row.id, token, now + timedelta(seconds=wait), exc.reason, now,
                             maybe_sent=exc.maybe_sent)
            )
            stats.retried += 1
            self._report("retried", row.kind, channel.name)
            return
        except PermanentSendError as exc:
            log.warning("send of row %s failed for good (%s): %s", row.id, exc.code, exc.reason)
            await self._record(
                recorder,
                Finish.failed(row.id, token, f"{exc.code}: {exc.reason}", self.clock.now())
            )
            stats.failed += 1
            self._report("failed", row.kind, channel.name)
            if exc.opted_out and self.on_opt_out is not None:
                await self.on_opt_out(patient, self.clock.now())
            return
        except Exception as exc:  # a bug or an unknown provider error: retry, never crash the loop
            log.exception("unexpected error sending row %s", row.id)
            now = self.clock.now()
            at = now + timedelta(seconds=self.retry.delay(row.attempts, None, self.rng))
            # E.g. an answer that could not be read: the message may exist at the provider.
            await self._record(
                recorder,
                Finish.retry(row.id, token, at, f"unexpected: {type(exc).__name__}", now,
                             maybe_sent=True)
            )
            stats.retried += 1
            self._report("retried", row.kind, channel.name)
            return
        await self._record(
            recorder,
            Finish.sent(row.id, token, provider_id, channel.name, self.clock.now())
        )
        stats.sent += 1
        self._report("sent", row.kind, channel.name)
        log.info("sent row %s (%s) via %s", row.id, row.kind, channel.name)

    async def _record(self, recorder: Recorder, outcome: Finish) -> None:
        """Write a send's outcome. Only once it is written is the row out of flight: a
        shutdown hands back what is still in flight marked ``maybe_sent`` (``drain``)."""
        await recorder.record(outcome)
        if recorder.error is None:
            self._in_flight.discard(outcome.row_id)

    def _report(self, outcome: str, kind: str, channel: str) -> None:
        if self.on_result is not None:
            try:
                self.on_result(outcome, kind, channel)
            except Exception:  # metrics must never break sending
                log.exception("the dispatch result hook failed")
