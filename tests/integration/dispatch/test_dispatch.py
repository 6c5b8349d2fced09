"""Dispatch against a real store: each message exactly once, on SQLite and PostgreSQL.

Workers are real ``Dispatcher`` instances with engines of their own; the channel is a
``RecordingChannel`` (or, across OS processes, a table every send is written to).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.model import ChannelKind, Kind, Patient, Reminder
from scheduler.domain.outbox import (
    CANCELLED,
    EXPIRED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    OutboxRow,
    Planned,
)
from scheduler.ports import ManualClock, Outgoing, PermanentSendError, TransientSendError
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store import tables as t
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import T0, Enrol, MakeDispatcher, TestDb, postgres_only, terminate_sessions
from tests.fakes.channels import RecordingChannel

ROOT = Path(__file__).resolve().parents[3]
LEASE = timedelta(minutes=5)


# -- helpers ---------------------------------------------------------------------------------


async def seed_due_rows(
    engine: AsyncEngine,
    *,
    patients: int,
    per_patient: int,
    now: datetime,
    expires: timedelta = timedelta(days=1),
) -> list[int]:
    """``patients * per_patient`` rows due at ``now`` (through ``sync``); their ids."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(t.patients),
            [
                dict(
                    id=f"b{i:05d}",
                    name="Bulk Patient",
                    channel="sms",
                    phone=f"+44771{i:07d}",
                    tz="Europe/London",
                    language="en-GB",
                    discreet=False,
                    can_become_pregnant=False,
                    partner_can_become_pregnant=False,
                    rules="uk",
                    created_at=now,
                )
                for i in range(patients)
            ],
        )
    plan = {
        f"b{i:05d}": [
            Planned(
                Reminder(
                    kind=Kind.DOSE,
                    local_date=date(2026, 1, 1) + timedelta(days=d),
                    due_at=now,
                    expires_at=now + expires,
                    local_time=time(8, 0),
                ),
                f"bulk reminder {i}/{d}",
            )
            for d in range(per_patient)
        ]
        for i in range(patients)
    }
    result = await SqlAlchemyOutbox(engine).sync(plan, now - timedelta(hours=36), now)
    assert result.inserted == patients * per_patient
    async with engine.connect() as conn:
        return [r.id for r in await conn.execute(select(t.outbox.c.id).order_by(t.outbox.c.id))]


async def statuses(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.outbox.c.id, t.outbox.c.status))
        return {r.id: r.status for r in rows}


def refs(ids: Any) -> set[str]:
    return {str(i) for i in ids}


async def run_jobs(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    clock: ManualClock,
    until: datetime,
    replan_every: timedelta = timedelta(hours=4),
) -> None:
    """The service's two jobs on a fake clock: re-plan every few hours, dispatch when due.

    The clock jumps to the next due row (or the next re-plan), so sends happen exactly at
    their due time and a simulated day costs a handful of ticks.
    """
    while clock.now() <= until:
        await materialiser.everyone(clock.now())
        await dispatcher.tick()
        nxt = await dispatcher.outbox.next_due()
        step = replan_every if nxt is None else min(nxt - clock.now(), replan_every)
        clock.advance(max(step, timedelta(minutes=1)))


def keys(outbox_rows: list[OutboxRow], sent: list[Outgoing]) -> list[str]:
    by_id = {str(r.id): r.key for r in outbox_rows}
    return [by_id[m.ref] for m in sent]


async def test_a_tick_can_be_bounded_to_a_number_of_batches(
    engine: AsyncEngine,
    make_dispatcher: MakeDispatcher,
    channel: RecordingChannel,
    clock: ManualClock,
) -> None:
    await seed_due_rows(engine, patients=1, per_patient=25, now=clock.now())
    dispatcher = make_dispatcher(batch=10)

    first = await dispatcher.tick(max_batches=1)
    rest = await dispatcher.tick()

    assert (first.claimed, first.sent) == (10, 10)
    assert (rest.claimed, rest.sent) == (15, 15)
    assert not channel.duplicates() and len(channel.sent) == 25


# -- many workers, one outbox ----------------------------------------------------------------


@pytest.mark.parametrize("rows_per_backend", [{"sqlite": 600, "postgres": 5_000}])
async def test_two_workers_send_each_due_row_exactly_once(
    db: TestDb,
    engine: AsyncEngine,
    make_dispatcher: MakeDispatcher,
    channel: RecordingChannel,
    clock: ManualClock,
    rows_per_backend: dict[str, int],
) -> None:
    n = rows_per_backend[db.backend]
    ids = await seed_due_rows(engine, patients=n // 20, per_patient=20, now=clock.now())
    a = make_dispatcher(engine=db.make_engine(), worker="worker-a", batch=100, concurrency=16)
    b = make_dispatcher(engine=db.make_engine(), worker="worker-b", batch=100, concurrency=16)
    # Make the two workers overlap instead of hoping the event loop interleaves them: the
    # first sends wait until more are in flight at once than one worker may hold (16), which
    # only the other worker's claimed batch can bring about. A worker unable to claim while the
    # other holds a batch leaves them waiting, and the test fails at the timeout.
    in_flight = 0
    overlapped = asyncio.Event()

    async def hold_until_both_send(_: Outgoing) -> None:
        nonlocal in_flight
        in_flight += 1
        if in_flight > 16:
            overlapped.set()
        try:
            await asyncio.wait_for(overlapped.wait(), timeout=60)
        finally:
            in_flight -= 1

    channel.after_send = hold_until_both_send

    stats = await asyncio.gather(a.tick(), b.tick())

    counts = channel.counts()
    assert len(ids) == n
    assert not channel.duplicates(), f"sent more than once: {channel.duplicates()}"
    assert set(counts) == refs(ids), "some rows were never sent"
    assert sum(s.sent for s in stats) == n
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    t.outbox.c.id, t.outbox.c.status, t.outbox.c.provider_id, t.outbox.c.claimed_by
                )
            )
        ).all()
    assert {r.status for r in rows} == {SENT}
    # Each row records the provider id of its one send.
    provider = {d.message.ref: d.provider_id for d in channel.deliveries}
    assert all(r.provider_id == provider[str(r.id)] for r in rows)
    # Both workers took part: otherwise this test proved nothing about concurrent claims.
    assert overlapped.is_set()
    by_worker = Counter((r.claimed_by or "").split("#")[0] for r in rows)
    assert set(by_worker) == {"worker-a", "worker-b"}, by_worker


WORKER_SCRIPT = r"""
import asyncio, json, sys
from datetime import datetime
from sqlalchemy import text
from scheduler.store.db import make_engine
from scheduler.services.dispatch import Dispatcher
from scheduler.domain.model import ChannelKind
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.ports import Address
from scheduler.store.repository import SqlAlchemyCourseRepository

url, schema, now_iso, name, hang_after = sys.argv[1:6]
hang_after = int(hang_after)
NOW = datetime.fromisoformat(now_iso)


class Clock:
    def now(self):
        return NOW


async def main():
    engine = make_engine(url, connect_args={"server_settings": {
        "search_path": schema, "application_name": name, "synchronous_commit": "off"}},
        pool_size=20, pool_pre_ping=False)

    class TableChannel:
        # Every accepted message is committed to test_sends before send() returns.
        name = "sms"
        calls = 0

        async def send(self, message):
            TableChannel.calls += 1
            n = TableChannel.calls
            if hang_after and n > hang_after:
                await asyncio.Event().wait()  # stuck in the provider's API until killed
            async with engine.begin() as conn:
                await conn.execute(text("insert into test_sends (ref, worker) values (:r, :w)"),
                                   {"r": message.ref, "w": name})
            if hang_after and n == hang_after:
                print("HUNG", flush=True)
                await asyncio.Event().wait()
            return f"{name}-{message.ref}"

    channel = TableChannel()
    dispatcher = Dispatcher(
        outbox=SqlAlchemyOutbox(engine), courses=SqlAlchemyCourseRepository(engine),
        resolve=lambda p: (channel, Address(ChannelKind.SMS, p.phone)), clock=Clock(),
        worker=name, batch=100, concurrency=16,
    )
    await SqlAlchemyOutbox(engine).counts()  # connected and ready
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stats = await dispatcher.tick()
    print(json.dumps({"sent": stats.sent, "claimed": stats.claimed}), flush=True)
    await engine.dispose()


asyncio.run(main())
"""


@dataclass
class WorkerProcess:
    name: str
    proc: asyncio.subprocess.Process

    @classmethod
    async def start(
        cls, db: TestDb, name: str, now: datetime, hang_after: int = 0
    ) -> WorkerProcess:
        assert db.schema is not None
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER_SCRIPT,
            db.url,
            db.schema,
            now.isoformat(),
            name,
            str(hang_after),
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(name, proc)

    async def expect(self, word: str) -> str:
        assert self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 60)).decode().strip()
        if not line.startswith(word):
            err = b""
            if self.proc.stderr is not None:
                err = await asyncio.wait_for(self.proc.stderr.read(), 60)
            pytest.fail(f"{self.name}: expected {word}, got {line!r}\n{err.decode()[-3000:]}")
        return line

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")

    async def finish(self) -> dict[str, int]:
        result: dict[str, int] = json.loads(await self.expect("{"))
        assert await asyncio.wait_for(self.proc.wait(), 60) == 0
        return result

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self.proc.wait(), 60)


async def sends_table(db: TestDb) -> AsyncEngine:
    engine = db.make_engine()
    async with engine.begin() as conn:
        await conn.execute(text("create table test_sends (ref text not null, worker text)"))
    return engine


async def recorded_sends(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        return Counter(r.ref for r in await conn.execute(text("select ref from test_sends")))


@postgres_only
async def test_two_worker_processes_send_each_due_row_exactly_once(
    db: TestDb, engine: AsyncEngine, clock: ManualClock
) -> None:
    # Fewer rows than in-process (5,000): each process pays its own start-up and imports.
    ids = await seed_due_rows(engine, patients=100, per_patient=20, now=clock.now())
    sends = await sends_table(db)
    workers = [await WorkerProcess.start(db, f"proc-{x}", clock.now()) for x in "ab"]
    try:
        for w in workers:
            await w.expect("READY")
        for w in workers:  # both start claiming together
            w.go()
        results = [await w.finish() for w in workers]
    finally:
        for w in workers:
            await w.kill()

    counts = await recorded_sends(sends)
    assert {ref: n for ref, n in counts.items() if n > 1} == {}
    assert set(counts) == refs(ids)
    assert sum(r["sent"] for r in results) == len(ids) == 2_000
    assert set((await statuses(engine)).values()) == {SENT}
    assert all(r["sent"] > 0 for r in results), results  # both processes took part


@postgres_only
async def test_a_killed_worker_process_loses_nothing_and_repeats_only_its_in_flight_sends(
    db: TestDb,
    engine: AsyncEngine,
    clock: ManualClock,
    make_dispatcher: MakeDispatcher,
    channel: RecordingChannel,
) -> None:
    ids = await seed_due_rows(engine, patients=10, per_patient=30, now=clock.now())
    sends = await sends_table(db)
    worker = await WorkerProcess.start(db, "proc-doomed", clock.now(), hang_after=40)
    try:
        await worker.expect("READY")
        worker.go()
        await worker.expect("HUNG")  # 40 messages handed over, more in the provider's hands
    finally:
        await worker.kill()  # SIGKILL: no cleanup of any kind
    await terminate_sessions(db.url, "proc-doomed")
    first = await recorded_sends(sends)
    after_crash = await statuses(engine)
    in_flight = {str(i) for i, s in after_crash.items() if s == SENDING} & set(first)
    assert 1 <= sum(first.values()) <= 40 and max(first.values()) == 1
    assert in_flight, "the kill should have caught at least the 40th send in flight"

    # A restart within the lease leaves the dead worker's claims alone ...
    restarted = make_dispatcher(engine=db.make_engine(), worker="restarted")
    clock.advance(LEASE - timedelta(seconds=1))
    await restarted.tick()
    assert not refs(channel.sent_refs()) & {str(i) for i, s in after_crash.items() if s == SENDING}
    # ... and once the lease is over, takes them back and sends everything left.
    clock.advance(seconds=2)
    stats = await restarted.tick()

    total = first + channel.counts()
    assert set(total) == refs(ids), "a message was lost"
    assert {ref for ref, n in total.items() if n > 1} == in_flight
    assert max(total.values()) == 2
    assert stats.released == sum(1 for s in after_crash.values() if s == SENDING)
    assert set((await statuses(engine)).values()) == {SENT}


# -- a worker dying in the middle of a batch (in-process) ------------------------------------


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_only_in_flight_rows(
    db: TestDb,
    engine: AsyncEngine,
    make_dispatcher: MakeDispatcher,
    clock: ManualClock,
    concurrency: int,
) -> None:
    ids = await seed_due_rows(engine, patients=3, per_patient=10, now=clock.now())
    tick: asyncio.Task[Any] | None = None

    async def die_after_the_4th(message: Outgoing) -> None:
        if len(doomed.deliveries) == 4:
            assert tick is not None
            tick.cancel()  # the process dies: every coroutine of the worker stops here
            await asyncio.Event().wait()

    doomed = RecordingChannel(after_send=die_after_the_4th)
    doomed_engine = db.make_engine()
    worker = make_dispatcher(
        engine=doomed_engine, worker="doomed", batch=10, concurrency=concurrency, channel=doomed
    )
    tick = asyncio.create_task(worker.tick())
    with pytest.raises(asyncio.CancelledError):
        await tick
    # A dead process's connections close with it; in-process, close them like that.
    async with asyncio.timeout(10):
        await doomed_engine.dispose()

    after_crash = await statuses(engine)
    claimed = {str(i) for i, s in after_crash.items() if s == SENDING}
    in_flight = claimed & set(doomed.sent_refs())  # handed over, outcome never recorded
    fourth = doomed.sent_refs()[3]
    assert fourth in in_flight
    if concurrency == 1:  # one send at a time: exactly the one being sent when it died
        assert in_flight == {fourth}
        assert [after_crash[int(r)] for r in doomed.sent_refs()[:3]] == [SENT] * 3

    restarted_channel = RecordingChannel()
    restarted = make_dispatcher(
        engine=db.make_engine(), worker="restarted", channel=restarted_channel
    )
    clock.advance(LEASE + timedelta(seconds=1))
    stats = await restarted.tick()

    total = doomed.counts() + restarted_channel.counts()
    assert set(total) == refs(ids), "a message was lost"
    assert {r for r, n in total.items() if n > 1} == in_flight
    assert max(total.values()) == 2
    assert stats.released == len(claimed)
    assert set((await statuses(engine)).values()) == {SENT}


async def test_a_worker_that_outlives_its_lease_does_not_send_rows_taken_over(
    db: TestDb, engine: AsyncEngine, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    """Not a crash: worker A stalls (slow provider, loop stall, lock wait) past the lease.

    Worker B rightly takes A's claims back and sends them. When A wakes up it must not go on
    sending the rest of its old batch: only the one send A had in flight may be repeated.
    """
    ids = await seed_due_rows(engine, patients=1, per_patient=3, now=clock.now())
    fast_channel = RecordingChannel(clock=clock)
    fast = make_dispatcher(engine=db.make_engine(), worker="fast", channel=fast_channel)
    stalled = False

    async def stall_past_the_lease(message: Outgoing) -> None:
        nonlocal stalled
        if not stalled:
            stalled = True
            clock.advance(LEASE + timedelta(seconds=1))
            await fast.tick()  # meanwhile, another worker takes over

    slow_channel = RecordingChannel(clock=clock, after_send=stall_past_the_lease)
    slow = make_dispatcher(worker="slow", channel=slow_channel, concurrency=1)
    await slow.tick()

    total = slow_channel.counts() + fast_channel.counts()
    in_flight = slow_channel.sent_refs()[0]
    assert set(total) == refs(ids)
    assert {r for r, n in total.items() if n > 1} <= {in_flight}, (
        f"slow worker sent {slow_channel.sent_refs()} after losing its claims; "
        f"fast worker sent {fast_channel.sent_refs()}"
    )


# -- expiry ------------------------------------------------------------------------------------


async def test_a_row_past_its_expiry_is_never_sent(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    channel: RecordingChannel,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    await materialiser.patient("p1", clock.now())
    dose = next(r for r in await outbox.rows("p1") if r.key == "dose:2026-06-10")

    clock.set(dose.expires_at)  # 12 h after 09:00: the window closed (expiry is exclusive)
    stats = await dispatcher.tick()

    assert channel.attempts == []
    assert stats.expired == 1
    assert {r.key: r.status for r in await outbox.rows("p1")}["dose:2026-06-10"] == EXPIRED
    await dispatcher.tick()
    assert channel.attempts == []


async def test_a_claimed_row_that_expires_before_its_turn_is_not_sent(
    engine: AsyncEngine, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    ids = await seed_due_rows(
        engine, patients=1, per_patient=2, now=clock.now(), expires=timedelta(minutes=10)
    )

    async def slow_provider(message: Outgoing) -> None:
        clock.advance(minutes=10)  # the first send took so long the second row expired

    channel = RecordingChannel(clock=clock, after_send=slow_provider)
    stats = await make_dispatcher(concurrency=1, channel=channel).tick()

    assert channel.sent_refs() == [str(ids[0])]
    assert (stats.sent, stats.expired) == (1, 1)
    assert await statuses(engine) == {ids[0]: SENT, ids[1]: EXPIRED}


# -- provider errors ---------------------------------------------------------------------------


async def test_a_transient_error_is_retried_later_with_backoff_and_sent_once(
    engine: AsyncEngine,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    channel: RecordingChannel,
    clock: ManualClock,
) -> None:
    (rid,) = await seed_due_rows(engine, patients=1, per_patient=1, now=clock.now())
    ref = str(rid)
    channel.fail(TransientSendError("503 from provider"), ref=ref)
    start = clock.now()

    first = await dispatcher.tick()
    row = (await outbox.rows())[0]
    assert (first.retried, first.sent) == (1, 0)
    assert (row.status, row.attempts, row.last_error) == (PENDING, 1, "503 from provider")
    retry_at = await outbox.next_due()
    assert retry_at is not None and start < retry_at <= start + timedelta(seconds=5)

    await dispatcher.tick()  # not yet: backing off
    assert channel.attempts_for(ref) == 1

    clock.set(retry_at)
    second = await dispatcher.tick()
    assert second.sent == 1
    assert channel.attempts_for(ref) == 2
    assert channel.counts() == Counter({ref: 1})
    row = (await outbox.rows())[0]
    assert (row.status, row.attempts, row.last_error) == (SENT, 2, None)

    clock.advance(hours=1)
    await dispatcher.tick()
    assert channel.attempts_for(ref) == 2


async def test_retry_after_from_the_provider_is_honoured(
    engine: AsyncEngine,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    channel: RecordingChannel,
    clock: ManualClock,
) -> None:
    (rid,) = await seed_due_rows(engine, patients=1, per_patient=1, now=clock.now())
    channel.fail(TransientSendError("429", code="429", retry_after=120))
    start = clock.now()

    await dispatcher.tick()
    retry_at = await outbox.next_due()

    assert retry_at is not None and retry_at >= start + timedelta(seconds=120)
    clock.set(retry_at - timedelta(seconds=1))
    await dispatcher.tick()
    assert channel.sent == []
    clock.set(retry_at)
    await dispatcher.tick()
    assert channel.sent_refs() == [str(rid)]


async def test_a_row_that_keeps_failing_is_retried_only_until_its_expiry(
    engine: AsyncEngine,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    channel: RecordingChannel,
    clock: ManualClock,
) -> None:
    (rid,) = await seed_due_rows(
        engine, patients=1, per_patient=1, now=clock.now(), expires=timedelta(minutes=30)
    )
    channel.fail(TransientSendError("timeout"), times=None)
    expires_at = clock.now() + timedelta(minutes=30)

    for _ in range(1000):
        await dispatcher.tick()
        nxt = await outbox.next_due()
        if nxt is None:
            break
        clock.set(max(nxt, clock.now()))
    row = (await outbox.rows())[0]

    assert row.status == EXPIRED
    assert channel.sent == []
    assert channel.attempts_for(str(rid)) >= 3  # it did back off and try again
    assert all(at is not None and at < expires_at for at in channel.attempted_at)
    gaps = [
        b - a
        for a, b in zip(channel.attempted_at, channel.attempted_at[1:], strict=False)
        if a is not None and b is not None
    ]
    assert all(g > timedelta(0) for g in gaps)


async def test_a_permanent_error_fails_the_row_for_good(
    engine: AsyncEngine,
    make_dispatcher: MakeDispatcher,
    outbox: SqlAlchemyOutbox,
    channel: RecordingChannel,
    clock: ManualClock,
) -> None:
    (rid,) = await seed_due_rows(engine, patients=1, per_patient=1, now=clock.now())
    opted_out: list[Any] = []

    async def on_opt_out(patient: Patient, when: datetime) -> None:
        opted_out.append((patient.id, when))

    dispatcher = make_dispatcher(on_opt_out=on_opt_out)
    channel.fail(PermanentSendError("not a mobile number", code="21614"))

    stats = await dispatcher.tick()
    clock.advance(hours=1)
    await dispatcher.tick()

    assert (stats.failed, stats.retried, stats.sent) == (1, 0, 0)
    assert channel.attempts_for(str(rid)) == 1
    row = (await outbox.rows())[0]
    assert row.status == FAILED
    assert row.last_error == "21614: not a mobile number"
    assert opted_out == []


async def test_an_opt_out_error_calls_the_hook_and_nothing_more_is_sent(
    materialiser: Materialiser,
    make_dispatcher: MakeDispatcher,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    channel: RecordingChannel,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    calls: list[tuple[str, datetime]] = []

    async def on_opt_out(patient: Patient, when: datetime) -> None:
        # What the service does (bot.bootstrap -> care.opt_out): remember, stop everything.
        calls.append((patient.id, when))
        await repo.set_opted_out(patient.id, when)
        await outbox.cancel_pending(patient.id, when, "opted out")

    dispatcher = make_dispatcher(on_opt_out=on_opt_out)
    channel.fail(PermanentSendError("STOP received", code="21610", opted_out=True))
    clock.set(datetime(2026, 6, 10, 8, 0, tzinfo=UTC))

    await run_jobs(materialiser, dispatcher, clock, until=clock.now() + timedelta(days=3))

    assert calls == [("p1", datetime(2026, 6, 10, 8, 0, tzinfo=UTC))]
    assert [m.ref for m in channel.attempts] and channel.sent == []
    rows = await outbox.rows("p1")
    assert {r.key: r.status for r in rows}["dose:2026-06-10"] == FAILED
    assert {r.status for r in rows} <= {FAILED, CANCELLED}


async def test_rows_of_an_opted_out_or_unreachable_patient_are_never_sent(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    channel: RecordingChannel,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("stop")
    await enrol("tg", channel=ChannelKind.TELEGRAM, phone=None)  # never linked a chat
    await materialiser.everyone(clock.now())
    await repo.set_opted_out("stop", clock.now())  # before any re-plan

    clock.set(datetime(2026, 6, 10, 8, 0, tzinfo=UTC))
    stats = await dispatcher.tick()

    assert channel.attempts == []
    assert (stats.cancelled, stats.failed, stats.sent) == (1, 1, 0)
    today = {r.patient_id: r for r in await outbox.rows() if r.key == "dose:2026-06-10"}
    assert today["stop"].status == CANCELLED  # they said stop: nothing to report
    assert today["tg"].status == FAILED  # nowhere to send it: the team must hear of it
    assert today["tg"].last_error and "no route" in today["tg"].last_error


# -- the plan changes under the outbox -------------------------------------------------------


async def test_a_hold_cancels_the_doses_it_covers_so_they_are_never_sent(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    channel: RecordingChannel,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    await materialiser.everyone(clock.now())  # today's and tomorrow's doses are queued
    # At 08:00 London, an hour before the dose: hold from today, resume on the 12th.
    await repo.add_hold("p1", date(2026, 6, 10), "low counts", clock.now())
    await repo.end_hold("p1", date(2026, 6, 10), date(2026, 6, 12), clock.now())

    await run_jobs(materialiser, dispatcher, clock, until=datetime(2026, 6, 12, 23, tzinfo=UTC))

    sent = keys(await outbox.rows("p1"), channel.sent)
    # The pause itself is told at once by the care action's correction (the repository is
    # used directly here, so there is none); the restart is announced on its eve.
    assert sent == ["resume:2026-06-11", "dose:2026-06-12"]
    assert not channel.duplicates()
    assert {r.key: r.status for r in await outbox.rows("p1")}["dose:2026-06-10"] == CANCELLED


async def test_a_dose_time_change_sends_at_the_new_time_only_and_never_resends(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    repo: SqlAlchemyCourseRepository,
    channel: RecordingChannel,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    await enrol("p1")
    await materialiser.everyone(clock.now())
    await repo.update_course("p1", clock.now(), dose_time=time(18, 0))

    await run_jobs(materialiser, dispatcher, clock, until=datetime(2026, 6, 10, 20, tzinfo=UTC))

    assert keys(await outbox.rows("p1"), channel.sent) == ["dose:2026-06-10"]
    assert channel.deliveries[0].at == datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
    # Moving the time again after today's dose went out must not send today's again.
    await repo.update_course("p1", clock.now(), dose_time=time(22, 0))
    await run_jobs(materialiser, dispatcher, clock, until=datetime(2026, 6, 11, 22, tzinfo=UTC))

    sent = keys(await outbox.rows("p1"), channel.sent)
    assert sent == ["dose:2026-06-10", "dose:2026-06-11"]
    assert channel.deliveries[1].at == datetime(2026, 6, 11, 21, 0, tzinfo=UTC)


async def test_mid_course_enrolment_sends_nothing_due_before_enrolment(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    channel: RecordingChannel,
    enrol: Enrol,
    clock: ManualClock,
) -> None:
    # Enrolled at 09:01 London on cycle 1 day 10, a minute after the dose time: today's dose
    # is still within its 12-hour window, but it was due before this patient was ours.
    enrolled = clock.set(datetime(2026, 6, 10, 8, 1, tzinfo=UTC))
    await enrol("p1", now=enrolled)

    await run_jobs(materialiser, dispatcher, clock, until=datetime(2026, 6, 11, 23, tzinfo=UTC))

    rows = await outbox.rows("p1")
    assert keys(rows, channel.sent) == ["dose:2026-06-11"]
    assert channel.deliveries[0].at == datetime(2026, 6, 11, 8, 0, tzinfo=UTC)
    assert "cycle 1, day 11 of 21" in channel.sent[0].text
    assert rows and all(r.due_at >= enrolled for r in rows)


# -- daylight saving -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        pytest.param(
            # 28 March 2027: 01:00 GMT jumps to 02:00 BST, so 01:30 does not exist that day
            # and the dose moves to the first valid minute, 02:00 BST.
            (date(2027, 3, 27), date(2027, 3, 29)),
            [
                datetime(2027, 3, 27, 1, 30, tzinfo=UTC),
                datetime(2027, 3, 28, 1, 0, tzinfo=UTC),
                datetime(2027, 3, 29, 0, 30, tzinfo=UTC),
            ],
            id="spring-forward",
        ),
        pytest.param(
            # 25 October 2026: 02:00 BST falls back to 01:00 GMT, so 01:30 happens twice;
            # the dose is sent once, at the first (BST) one.
            (date(2026, 10, 24), date(2026, 10, 26)),
            [
                datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
                datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
            ],
            id="fall-back",
        ),
    ],
)
async def test_dst_changes_send_each_dose_once_at_the_right_instant(
    materialiser: Materialiser,
    dispatcher: Dispatcher,
    outbox: SqlAlchemyOutbox,
    channel: RecordingChannel,
    enrol: Enrol,
    clock: ManualClock,
    days: tuple[date, date],
    expected: list[datetime],
) -> None:
    first, last = days
    # Enrolled at noon UTC the day before (after that day's dose), on a continuous course.
    clock.set(datetime(first.year, first.month, first.day, 12, tzinfo=UTC) - timedelta(days=1))
    await enrol("p1", start=first - timedelta(days=10), regimen="continuous", dose_time=time(1, 30))

    await run_jobs(
        materialiser,
        dispatcher,
        clock,
        until=datetime(last.year, last.month, last.day, 23, tzinfo=UTC),
    )

    rows = {str(r.id): r for r in await outbox.rows("p1")}
    sent = [
        (rows[d.message.ref].key, d.at)
        for d in channel.deliveries
        if rows[d.message.ref].kind == "dose"
    ]
    assert sent == [(f"dose:{first + timedelta(days=i)}", at) for i, at in enumerate(expected)]
    assert not channel.duplicates()


# -- recording outcomes in groups --------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4, 16])
async def test_never_more_than_concurrency_messages_are_sent_but_unrecorded(
    engine: AsyncEngine, make_dispatcher: MakeDispatcher, concurrency: int
) -> None:
    """Outcomes are written in groups, yet a send holds its slot until its outcome is written.

    So what a crash could repeat (handed to the provider, not recorded) never exceeds the
    dispatcher's concurrency, however fast the provider answers.
    """
    ids = await seed_due_rows(engine, patients=4, per_patient=15, now=T0)
    unrecorded_seen: list[int] = []

    async def look(message: Outgoing) -> None:
        sent = set(channel.sent_refs())  # before the query: its snapshot is taken later
        now = await statuses(engine)
        unrecorded_seen.append(sum(1 for r in sent if now[int(r)] == SENDING))

    channel = RecordingChannel(after_send=look)
    stats = await make_dispatcher(channel=channel, batch=60, concurrency=concurrency).tick()

    assert stats.sent == len(ids)
    assert max(unrecorded_seen) <= concurrency
    assert set((await statuses(engine)).values()) == {SENT}


async def test_a_burst_is_recorded_in_a_few_transactions_not_two_per_message(
    db: TestDb, make_dispatcher: MakeDispatcher
) -> None:
    engine = db.make_engine()
    await seed_due_rows(engine, patients=10, per_patient=20, now=T0)
    transactions = 0

    def count(*_: Any) -> None:
        nonlocal transactions
        transactions += 1

    event.listen(engine.sync_engine, "begin", count)
    channel = RecordingChannel()
    stats = await make_dispatcher(engine=engine, channel=channel, batch=100, concurrency=16).tick()

    assert stats.sent == 200 == len(set(channel.sent_refs()))
    # Per tick: expire, release stale, and a last empty claim; per batch: the claim, its
    # patients, and one write per group of up to 16 outcomes. One per message was 400.
    assert transactions <= 3 + 2 * (2 + 200 // 16 + 1), transactions


async def test_a_batch_paused_for_less_than_the_lease_confirms_its_claim_and_sends_it_all(
    engine: AsyncEngine, make_dispatcher: MakeDispatcher, clock: ManualClock
) -> None:
    ids = await seed_due_rows(engine, patients=1, per_patient=3, now=clock.now())
    paused = False

    async def pause_for_half_the_lease(message: Outgoing) -> None:
        nonlocal paused
        if not paused:
            paused = True
            clock.advance(LEASE / 2)  # slow, but nobody may take the rows back yet

    channel = RecordingChannel(clock=clock, after_send=pause_for_half_the_lease)
    worker = make_dispatcher(channel=channel, concurrency=1)
    stats = await worker.tick()

    assert stats.sent == 3 and channel.counts() == Counter(refs(ids))
    async with engine.connect() as conn:
        claimed_at = {
            r.id: r.claimed_at
            for r in await conn.execute(select(t.outbox.c.id, t.outbox.c.claimed_at))
        }
    # The first row went on the original claim; the other two were confirmed after the pause.
    assert sorted(claimed_at.values()) == [T0, T0 + LEASE / 2, T0 + LEASE / 2]


async def test_shutdown_hands_nothing_back_before_finished_sends_are_recorded(
    engine: AsyncEngine, make_dispatcher: MakeDispatcher, outbox: SqlAlchemyOutbox
) -> None:
    """A tick cancelled at shutdown while its outcomes are being written waits for them.

    Otherwise ``drain`` would hand a row that was sent back to pending, and it would go twice.
    """
    ids = await seed_due_rows(engine, patients=1, per_patient=3, now=T0)
    writing, go_on = asyncio.Event(), asyncio.Event()

    class SlowToRecord(SqlAlchemyOutbox):
        async def finish_many(self, outcomes: Any, patience: float = 30.0) -> int:
            writing.set()
            await go_on.wait()
            return await super().finish_many(outcomes, patience)

    hung = asyncio.Event()

    async def hang_on_the_second(message: Outgoing) -> None:
        if len(channel.deliveries) == 2:
            hung.set()
            await asyncio.Event().wait()  # a provider that never answers

    channel = RecordingChannel(after_send=hang_on_the_second)
    worker = make_dispatcher(outbox=SlowToRecord(engine), channel=channel, batch=3, concurrency=2)
    tick = asyncio.create_task(worker.tick())
    await writing.wait()  # the first send's outcome is being written ...
    await hung.wait()  # ... and the second send hangs
    drain = asyncio.create_task(worker.drain(grace=0.2))
    try:
        # The grace ends, the tick is cancelled, and drain waits (up to RECORD_WAIT_S) for
        # the cancelled tick, which is still writing the first send's outcome.
        done, _ = await asyncio.wait({drain}, timeout=0.2 + 0.5)
        assert not done, "drain handed claims back while a finished send was being recorded"
        assert tick.cancelling()
    finally:
        go_on.set()
    released = await drain
    with pytest.raises(asyncio.CancelledError):
        await tick

    first, second, third = (str(i) for i in ids)
    assert channel.sent_refs() == [first, second]
    after = await statuses(engine)
    assert after[int(first)] == SENT
    # The hung send's outcome is unknown, the third never started: both back to pending,
    # and only the hung one marked as maybe sent (its next attempt looks at the provider).
    assert (after[int(second)], after[int(third)], released) == (PENDING, PENDING, 2)
    assert await maybe_sent(engine) == {int(first): False, int(second): True, int(third): False}


async def test_a_send_whose_outcome_could_not_be_written_is_handed_back_as_maybe_sent(
    engine: AsyncEngine, make_dispatcher: MakeDispatcher
) -> None:
    """The provider took the message, then the database refused its record: at shutdown the
    row goes back to pending marked ``maybe_sent``, so it is looked up, not simply resent."""
    [rid] = await seed_due_rows(engine, patients=1, per_patient=1, now=T0)

    class CannotRecord(SqlAlchemyOutbox):
        async def finish_many(self, outcomes: Any, patience: float = 30.0) -> int:
            raise OSError("the database went away")

    channel = RecordingChannel()
    worker = make_dispatcher(outbox=CannotRecord(engine), channel=channel)
    with pytest.raises(OSError):
        await worker.tick()
    assert channel.sent_refs() == [str(rid)]

    assert await worker.drain(grace=0.1) == 1
    assert (await statuses(engine))[rid] == PENDING
    assert await maybe_sent(engine) == {rid: True}


async def maybe_sent(engine: AsyncEngine) -> dict[int, bool]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(t.outbox.c.id, t.outbox.c.maybe_sent))
        return {r.id: bool(r.maybe_sent) for r in rows}
