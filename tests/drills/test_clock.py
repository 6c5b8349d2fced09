"""Clock drill: the service is down for 13 hours across a dose time, then restarted.

The real ``Materialiser`` and ``Dispatcher`` on SQLite and PostgreSQL, driven by a
``ManualClock`` the way the service's two jobs drive them: re-plan and dispatch every few
minutes. The service runs until 07:30 UTC, is stopped before the 08:00 UTC (09:00 London) dose,
and comes back at 20:30 UTC, half an hour after that dose's 12-hour window closed.

Proves: the missed dose reminder is not sent on restart (a reminder 12 h late is worse than
none) and is recorded as expired; the next day's reminder is sent once, on time; nothing is
ever handed to the channel after its row's expiry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from messages.render import render_for
from scheduler.domain.model import PlanSettings
from scheduler.domain.outbox import EXPIRED, SENT
from scheduler.ports import ManualClock
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from tests.conftest import Enrol
from tests.fakes.channels import RecordingChannel, resolver_for

pytestmark = pytest.mark.drill

T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)  # cycle 1 day 10 of the default 21/28 course
STOPPED_AT = datetime(2026, 6, 10, 7, 30, tzinfo=UTC)
RESTARTED_AT = STOPPED_AT + timedelta(hours=13)  # 20:30 UTC: the 08:00 UTC dose expired at 20:00
MISSED, NEXT = "dose:2026-06-10", "dose:2026-06-11"
STEP = timedelta(minutes=5)  # the jobs' period in this drill


async def test_a_dose_missed_while_stopped_is_expired_and_the_next_day_is_sent(
    engine: AsyncEngine, enrol: Enrol
) -> None:
    clock = ManualClock(T0)
    courses = SqlAlchemyCourseRepository(engine)
    outbox = SqlAlchemyOutbox(engine)
    patient = await enrol("p1", now=T0)

    def service() -> tuple[Materialiser, Dispatcher, RecordingChannel]:
        """A fresh process: new objects, the same database."""
        channel = RecordingChannel("sms", clock=clock)
        return (
            Materialiser(courses, outbox, PlanSettings(follow_up_after=timedelta(0)), render=render_for),
            Dispatcher(outbox, courses, resolver_for(channel), clock, worker="drill"),
            channel,
        )

    async def run_until(until: datetime, m: Materialiser, d: Dispatcher) -> None:
        while True:
            await m.everyone(clock.now())
            await d.tick()
            if clock.now() + STEP > until:
                return
            clock.advance(seconds=STEP.total_seconds())

    materialiser, dispatcher, before = service()
    await run_until(STOPPED_AT, materialiser, dispatcher)
    keys = {r.key: r for r in await outbox.rows(patient.id)}
    assert MISSED in keys and not keys[MISSED].sent_at, "planned, not yet due at the stop"
    # -- the service is stopped: nothing runs for 13 hours ---------------------------------
    clock.set(RESTARTED_AT)
    materialiser, dispatcher, after = service()
    await run_until(datetime(2026, 6, 11, 8, 30, tzinfo=UTC), materialiser, dispatcher)

    rows = {r.key: r for r in await outbox.rows(patient.id)}
    by_ref = {str(r.id): r for r in rows.values()}
    missed, nxt = rows[MISSED], rows[NEXT]
    assert missed.status == EXPIRED and missed.sent_at is None
    assert str(missed.id) not in {*before.sent_refs(), *after.sent_refs()}, "sent late"
    assert nxt.status == SENT and after.counts()[str(nxt.id)] == 1
    assert nxt.due_at <= nxt.sent_at <= nxt.due_at + STEP  # type: ignore[operator]
    for channel in (before, after):  # nothing at all was handed over past its expiry
        for delivery in channel.deliveries:
            assert delivery.at is not None
            assert delivery.at < by_ref[delivery.message.ref].expires_at
    assert not before.duplicates() and not after.duplicates()
