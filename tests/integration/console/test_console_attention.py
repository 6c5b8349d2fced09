"""Today's "Patients needing attention" over real HTTP, on SQLite and PostgreSQL: low
adherence, unconfirmed doses and silence, each patient listed once with every reason that
holds, and the patients who must not be listed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import insert

from scheduler.domain.guidance import TAKEN
from scheduler.domain.model import ChannelKind, Patient, Regimen
from scheduler.services.care import Enrolment
from scheduler.store import tables as t
from tests.integration.console.console_world import T0, Console, console

ENROLLED = datetime(2026, 11, 5, 7, 0, tzinfo=UTC)  # 4 weeks before T0 (3 Dec 2026)


@pytest.fixture
async def world(console_url: str) -> AsyncIterator[Console]:
    async with console(console_url, ENROLLED) as w:
        yield w


async def enrol(world: Console, name: str, phone: str, at: datetime = ENROLLED) -> Patient:
    """Every day a dose day from the day of enrolment, so 28 dose days before today."""
    if at > world.clock.now():
        world.clock.set(at)
    return await world.service.care.enrol(Enrolment(
        name=name, tz="Europe/London", start=at.date(), dose_time=time(9, 0),
        regimen=Regimen.parse("continuous"), channel=ChannelKind.SMS, phone=phone,
    ))  # fmt: skip


async def taken_except(world: Console, p: Patient, *unanswered: date) -> None:
    day = ENROLLED.date()
    while day < T0.date():
        if day not in unanswered:
            await world.service.courses.record_dose(p.id, day, TAKEN, T0)
        day += timedelta(days=1)


async def wrote(world: Console, p: Patient, at: datetime) -> None:
    async with world.service.engine.begin() as conn:
        await conn.execute(insert(t.inbound).values(
            patient_id=p.id, channel="sms", text="ok", intent="ack", received_at=at))  # fmt: skip


def listed(page: str) -> dict[str, list[str]]:
    """Name -> the reasons given, from Today's attention table."""
    table = page[page.index('id="attention-heading"') :]
    return {
        m[1]: re.findall(r"<li>(.*?)</li>", m[2])
        for m in re.finditer(r"<td>([^<]+)</td><td><ul class=\"plain\">(.*?)</ul>", table)
    }


async def test_today_lists_who_needs_attention_and_why(world: Console) -> None:
    yesterday = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    una = await enrol(world, "Una Unconfirmed", "+447700900001")  # 2 unconfirmed: 93%
    olly = await enrol(world, "Olly Once", "+447700900002")  # 1 unconfirmed: not enough
    lou = await enrol(world, "Lou Low", "+447700900003")  # 5 unconfirmed, 3 of them long ago
    sam = await enrol(world, "Sam Silent", "+447700900004")  # takes them, has not written
    rita = await enrol(world, "Rita Replies", "+447700900005")
    opted = await enrol(world, "Otto Opted", "+447700900006")
    await world.service.care.opt_out(opted.id, ENROLLED, "texted STOP")
    new = await enrol(world, "Nell New", "+447700900007", at=T0 - timedelta(days=1))
    await world.service.courses.record_dose(new.id, date(2026, 12, 2), TAKEN, T0)
    await taken_except(world, una, date(2026, 11, 28), date(2026, 12, 1))
    await taken_except(world, olly, date(2026, 12, 1))
    await taken_except(world, lou, *(date(2026, 11, d) for d in (6, 7, 8, 30)), date(2026, 12, 2))
    await taken_except(world, sam)
    await taken_except(world, rita)
    for p in (una, olly, lou, rita):
        await wrote(world, p, yesterday)
    await wrote(world, sam, datetime(2026, 11, 29, 9, 5, tzinfo=UTC))
    # This morning's reminders go out through the real planner and dispatcher.
    world.clock.set(T0 - timedelta(minutes=55))
    await world.service.materialiser.everyone(world.clock.now())
    await world.service.dispatcher.tick()
    sent = {r.patient_id for r in await world.service.outbox.rows(statuses=("sent",))}
    assert {una.id, sam.id, new.id} <= sent and opted.id not in sent
    world.clock.set(T0)

    b = await world.nurse()
    page = (await b.get("/")).text
    found = listed(page)
    assert found == {
        "Lou Low": ["adherence 82% over 28 days", "2 doses unconfirmed in the last 7 days"],
        "Una Unconfirmed": ["2 doses unconfirmed in the last 7 days"],
        "Sam Silent": ["no reply since 2026-11-29 09:05, though sent messages"],
    }, found
    # Most reasons first; each name links to the patient.
    assert list(found) == ["Lou Low", "Una Unconfirmed", "Sam Silent"]
    assert f'<a href="/patients/{sam.id}">{sam.id}</a>' in page
    # The Patients page's "below 90%" filter: the same figures (Una is at 93%).
    below = (await b.get("/patients?state=below-90")).text
    shown = set(re.findall(r'href="/patients/(p[^"/.]+)"', below))
    assert shown == {lou.id}, shown
    assert "1 patient." in below
    assert lou.id in (await b.get("/patients?state=below-90&q=lou")).text
    assert lou.id not in (await b.get("/patients?state=below-90&q=una")).text
    # Sam writes: off the list once the 5 minutes Today keeps it for are past.
    await wrote(world, sam, T0)
    assert "Sam Silent" in listed((await b.get("/")).text)
    world.clock.advance(minutes=5)
    assert "Sam Silent" not in listed((await b.get("/")).text)


async def test_a_patient_who_never_wrote_is_silent_since_enrolment(world: Console) -> None:
    quiet = await enrol(world, "Quinn Quiet", "+447700900009", at=T0 - timedelta(days=5))
    world.clock.set(T0 - timedelta(minutes=55))
    await world.service.materialiser.everyone(world.clock.now())
    await world.service.dispatcher.tick()
    world.clock.set(T0)
    found = listed((await (await world.nurse()).get("/")).text)
    assert found["Quinn Quiet"][-1] == "no reply since enrolment, though sent messages"
    assert quiet.id
