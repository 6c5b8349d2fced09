"""Provider drill: Twilio answers 500, 429 or times out on 30% of calls (seeded), then is down.

lenabot's real service (``bot.bootstrap.build``) with the real ``TwilioChannel`` and twilio 9
client, talking HTTP to ``FakeTwilioApi`` on loopback (``tests.fakes.sms_app``); the dispatcher
is ticked on a ``ManualClock``. A timeout is the nasty fault: the fake still creates the message
after the client gave up, so a blind retry would text the patient twice.

Proves, for a ward of patients:
- day 1, 30% random faults: every reminder due is delivered before its expiry, and Twilio's own
  record holds each (To, Body) exactly once, however many attempts it took;
- day 2, Twilio down (every call 500 or 429) past the dose window: those reminders end
  'expired', and once Twilio is back nothing is sent late;
- nothing anywhere was handed to Twilio after its row's expiry.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.domain.outbox import EXPIRED, SENT
from tests.fakes.sms_app import SmsWorld, sms_world

pytestmark = pytest.mark.drill

PATIENTS = 20
SEED = 20260610
DAY1_DOSE = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # 09:00 London; expires 12 h later
DAY2_DOSE = DAY1_DOSE + timedelta(days=1)


PLAN_EVERY = timedelta(minutes=30)


async def run(world: SmsWorld, until: datetime, step: timedelta) -> None:
    """The service's jobs on the manual clock: dispatch every ``step``, re-plan every 30 min."""
    planned = world.clock.now() - PLAN_EVERY
    while world.clock.now() < until:
        world.clock.set(min(until, world.clock.now() + step))
        if world.clock.now() - planned >= PLAN_EVERY:
            planned = world.clock.now()
            await world.service.materialiser.everyone(planned)
        await world.tick()


async def test_random_provider_faults_then_an_outage_deliver_each_once_and_never_late(
    tmp_path: Path,
) -> None:
    async with sms_world(tmp_path, request_timeout=0.3) as world:
        phones = {}
        for i in range(PATIENTS):
            patient = await world.enrol(phone=f"+4477009{i:05d}", name=f"Patient {i}")
            phones[patient.id] = patient.phone
        twilio = world.twilio
        twilio.random_faults(0.3, seed=SEED, kinds=(500, 429, "timeout"), hang_s=5.0)

        # -- day 1: 30% of calls fail at random ----------------------------------------------
        await run(world, DAY1_DOSE - timedelta(minutes=5), timedelta(minutes=30))
        await run(world, DAY1_DOSE + timedelta(hours=2), timedelta(seconds=30))
        await twilio.settled()  # a timed-out create is recorded just after the client left
        day1 = [
            r for pid in phones for r in await world.rows(pid)
            if r.due_at <= DAY1_DOSE + timedelta(hours=2)
        ]  # fmt: skip
        doses1 = [r for r in day1 if r.key == "dose:2026-06-10"]
        assert len(doses1) == PATIENTS
        assert {r.status for r in day1} == {SENT}, Counter(r.status for r in day1)
        faults = Counter("timeout" if f.hang_s else str(f.status) for f in twilio.faults_served)
        attempts_day1 = twilio.requests_total
        print(
            f"\nprovider drill day 1: {len(day1)} reminders over {attempts_day1} create calls, "
            f"faults {dict(faults)}; Twilio list look-ups after unanswered calls: {twilio.lists}"
        )
        assert sum(faults.values()) >= attempts_day1 // 5, "the faults did not happen"
        assert faults["timeout"] > 0

        # -- day 2: Twilio is down from before the dose until after its window ----------------
        await run(world, DAY2_DOSE - timedelta(minutes=5), timedelta(minutes=30))
        twilio.random_faults(1.0, seed=SEED, kinds=(500, 429))
        down_from = len(twilio.messages)
        await run(world, DAY2_DOSE + timedelta(hours=12, minutes=30), timedelta(hours=1))
        assert len(twilio.messages) == down_from  # nothing got through the outage
        twilio.random_faults(0)  # Twilio is back
        await run(world, DAY2_DOSE + timedelta(hours=13), timedelta(minutes=5))
        doses2 = [r for pid in phones for r in await world.rows(pid)
                  if r.key == "dose:2026-06-11"]  # fmt: skip
        assert len(doses2) == PATIENTS
        assert {r.status for r in doses2} == {EXPIRED}

        # -- the whole record: each message at Twilio once, and only while it was due ---------
        await twilio.settled()
        at_twilio = Counter((m.to, m.body) for m in twilio.messages)
        rows = [r for pid in phones for r in await world.rows(pid)]
        sent = {(phones[r.patient_id], r.text): r for r in rows if r.status == SENT}
        assert max(at_twilio.values()) == 1, [k for k, n in at_twilio.items() if n > 1]
        assert set(at_twilio) == set(sent), "Twilio's record and the outbox disagree"
        for r in sent.values():
            assert r.sent_at is not None and r.due_at <= r.sent_at < r.expires_at
        for r in doses2:
            assert (phones[r.patient_id], r.text) not in at_twilio, "an expired dose was sent"
        for m in twilio.messages:  # Twilio was told to drop it unsent once its moment passed
            assert m.validity_period is not None and m.validity_period >= 1
