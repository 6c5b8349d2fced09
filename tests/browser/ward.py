"""A small ward made by the real service, for the pages' accessibility check and the README's
pictures: five patients enrolled over the two weeks before T0 (Thursday 3 December 2026),
sent their reminders by the real planner and dispatcher on the manual clock, answering (or
not) through the real conversation. Ravi often forgets to answer, Tom is paused for low
neutrophils, Mary starts next week, and this morning Ann texts a red flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.domain.model import ChannelKind, Patient, Regimen
from scheduler.services.care import Enrolment
from tests.integration.console.console_world import T0, Console

LONDON = ZoneInfo("Europe/London")
FIRST_DAY = date(2026, 11, 19)
CLOCK_FROM = datetime.combine(FIRST_DAY, time(8, 0), tzinfo=UTC)  # the world's clock starts here
RED_FLAG = "temp of 38.7 and shivery since last night"


@dataclass(frozen=True)
class Someone:
    name: str
    phone: str
    start: date
    dose_time: time
    enrolled: date = FIRST_DAY
    can_become_pregnant: bool = False
    forgets: bool = False  # leaves one dose reminder in three unanswered
    missed: frozenset[int] = frozenset()  # answers MISSED on these days (from FIRST_DAY)


WARD = (
    Someone("Ann Smith", "+447700900123", date(2026, 11, 26), time(9, 0),
            enrolled=date(2026, 11, 26), can_become_pregnant=True),
    Someone("Ravi Patel", "+447700900456", date(2026, 11, 12), time(20, 0), forgets=True,
            missed=frozenset({3, 8})),
    Someone("Grace O'Neill", "+447700900789", date(2026, 11, 19), time(8, 30)),
    Someone("Tom Baker", "+447700900321", date(2026, 11, 5), time(9, 0)),
    Someone("Mary Jones", "+447700900654", date(2026, 12, 7), time(18, 0)),
)  # fmt: skip
TOM_PAUSED = date(2026, 11, 30)


def answer(who: Someone, n: int) -> str | None:
    """What ``who`` texts back to day ``n``'s dose reminder, if anything."""
    if n in who.missed:
        return "missed"
    if who.forgets and n % 3 == 1:
        return None
    return "taken"


async def make_ward(world: Console) -> dict[str, Patient]:
    """Live the two weeks up to T0 on ``world`` (whose clock starts at ``CLOCK_FROM``)."""
    service, clock = world.service, world.clock
    ward: dict[str, Patient] = {}
    # A few minutes after each dose time: the reminder has gone, the patient answers it.
    answer_at = sorted({(datetime.combine(FIRST_DAY, w.dose_time) + timedelta(minutes=2)).time()
                        for w in WARD})  # fmt: skip
    day = FIRST_DAY
    while day < T0.date():
        clock.set(datetime.combine(day, time(8, 0), tzinfo=LONDON))
        for who in WARD:
            if who.enrolled == day:
                ward[who.name] = await service.care.enrol(Enrolment(
                    name=who.name, tz="Europe/London", start=who.start,
                    dose_time=who.dose_time, regimen=Regimen.parse("21/28"),
                    channel=ChannelKind.SMS, phone=who.phone,
                    can_become_pregnant=who.can_become_pregnant,
                ))  # fmt: skip
        if day == TOM_PAUSED:
            await service.care.pause(ward["Tom Baker"].id, day, "neutrophils low")
        for at in answer_at:
            clock.set(datetime.combine(day, at, tzinfo=LONDON))
            await service.materialiser.everyone(clock.now())
            await service.dispatcher.tick()
            for who in WARD:
                patient = ward.get(who.name)
                answers_now = (datetime.combine(day, who.dose_time) + timedelta(minutes=2)).time()
                if patient is None or answers_now != at or not await reminded(world, patient, day):
                    continue
                if (text := answer(who, (day - FIRST_DAY).days)) is not None:
                    await service.conversation.handle(patient, text, "sms")
        day += timedelta(days=1)
    clock.set(T0 - timedelta(minutes=50))  # 09:10 this morning: the 08:30 and 09:00 reminders
    await service.materialiser.everyone(clock.now())
    await service.dispatcher.tick()
    await service.conversation.handle(ward["Grace O'Neill"], "taken", "sms")
    await service.conversation.handle(ward["Ann Smith"], RED_FLAG, "sms")
    clock.set(T0)
    return ward


async def reminded(world: Console, patient: Patient, day: date) -> bool:
    """Was that day's dose reminder sent (so a TAKEN answers it)?"""
    rows = await world.service.outbox.rows(patient.id, ("sent",))
    return any(r.kind == "dose" and r.due_at.astimezone(LONDON).date() == day for r in rows)
