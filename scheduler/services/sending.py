"""A claimed batch on its way out: the last check of its dose messages, its claim, its outcomes."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.domain.localtime import zone
from scheduler.domain.model import Patient
from scheduler.domain.outbox import Finish, OutboxRow
from scheduler.domain.safety import DOSE_KINDS, blocked
from scheduler.ports import Address, CourseReader, OutboxClaims, Outgoing

log = logging.getLogger(__name__)

# A claimed dose message is checked again (``scheduler.domain.safety``) before it is sent once its
# batch's last check is this old: a TAKEN that arrives while a slow batch works through its
# sends cancels the reminder instead of racing it. Other rows are re-confirmed after a tenth
# of the lease.
DOSE_RECHECK_AFTER = timedelta(seconds=2)


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


async def cancel_blocked(
    outbox: OutboxClaims, courses: CourseReader, rows: list[OutboxRow], now: datetime
) -> dict[int, str]:
    """Cancel the claimed dose messages among ``rows`` that the course as it stands and the
    dose records do not allow (``scheduler.domain.safety.blocked``), in the caller's unit of
    work; their ids, with why. A patient erased since is left to ``Dispatcher._send_one``."""
    doses = [r for r in rows if r.kind in DOSE_KINDS]
    if not doses:
        return {}
    ids = sorted({r.patient_id for r in doses})
    loaded = await courses.load(ids, scattered=True)
    since = min(r.local_date for r in doses)
    records = await courses.dose_records_many(ids, since, scattered=True)
    stopped: dict[int, str] = {}
    for row in doses:
        found = loaded.get(row.patient_id)
        if found is None:
            continue
        why = blocked(row.kind, row.local_date, found[1], records[row.patient_id], now)
        if why is not None:
            stopped[row.id] = why
    if stopped:
        await outbox.cancel_claimed(
            [(row.id, row.claimed_by or "", stopped[row.id]) for row in doses if row.id in stopped],
            now,
        )
        for row in doses:
            if row.id in stopped:
                log.info(
                    "cancelled row %s (%s) before sending: %s", row.id, row.kind, stopped[row.id]
                )
    return stopped


def outgoing(row: OutboxRow, patient: Patient, address: Address) -> Outgoing:
    """The message the patient's channel is given for ``row``."""
    local = row.due_at.astimezone(zone(patient.tz))
    return Outgoing(
        ref=str(row.id),
        patient_id=row.patient_id,
        address=address,
        text=row.text,
        expires_at=row.expires_at,
        local_label=f"{local:%Y-%m-%d} {row.local_time} {patient.tz}",
        callback_token=row.callback_token,
        kind=row.kind,
        maybe_sent=row.maybe_sent,
        due_at=row.due_at,
    )


@dataclass
class Claim:
    """One claimed batch: its token, when the claim was last confirmed, rows not yet started."""

    token: str
    confirmed_at: datetime
    unsent: set[int]
    rows: dict[int, OutboxRow] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)
    cancelled: set[int] = field(default_factory=set)  # by a re-check (``cancel_blocked``)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def stale(self, row: OutboxRow, now: datetime, renew_after: timedelta) -> bool:
        """Whether the claim must be confirmed again before ``row`` is sent."""
        age = now - self.confirmed_at
        return age >= renew_after or (row.kind in DOSE_KINDS and age >= DOSE_RECHECK_AFTER)


class Recorder:
    """Group commit of a batch's outcomes: they queue while one transaction writes earlier ones.

    ``record`` returns once the outcome is written, and the dispatcher holds a send's
    concurrency slot until then: at most ``concurrency`` messages are ever sent but not yet
    recorded, which bounds what a crash can repeat, while a burst costs one transaction per
    ``concurrency`` messages instead of two per message. The writing task is not part of the
    tick: a cancelled tick still waits for it to record what was sent (and ``Dispatcher.drain``
    waits for the cancelled tick before handing unsent claims back, so a sent row is never
    released as unsent).
    """

    def __init__(self, outbox: OutboxClaims, patience: float) -> None:
        self.outbox = outbox
        # How long a write may keep retrying: well inside the lease, after which the rows
        # would be released and sent again.
        self.patience = patience
        self.queued: list[Finish] = []
        self.written = asyncio.Event()  # set when the queued outcomes have been written
        self.task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None

    async def record(self, outcome: Finish) -> None:
        self.queued.append(outcome)
        written = self.written
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._write())
        await written.wait()

    async def _write(self) -> None:
        try:
            while self.queued:
                outcomes, self.queued = self.queued, []
                written, self.written = self.written, asyncio.Event()
                try:
                    await self.outbox.finish_many(outcomes, self.patience)
                except Exception as exc:  # raised by ``wait``; the lease brings the rows back
                    log.error("could not record %d send outcomes: %r", len(outcomes), exc)
                    self.error = self.error or exc
                finally:
                    written.set()
        finally:
            self.task = None

    async def wait(self) -> None:
        """Until everything queued is written; raises the first write error, if any."""
        while self.task is not None:
            await asyncio.shield(self.task)
        if self.error is not None:
            raise self.error
