"""The course repository contract: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.model import (
    Appointment,
    ChannelKind,
    Course,
    CycleDelay,
    EarlierDoseTime,
    Hold,
    Regimen,
    RuleSet,
)
from scheduler.ports import ManualClock
from scheduler.store import tables as t
from scheduler.store.db import BY_RANGE_OVER
from scheduler.store.repository import SqlAlchemyCourseRepository, UnknownPatientError, patients
from tests.conftest import COURSE_START, DOSE_TIME, T0, Enrol, make_patient


async def course_row(engine: AsyncEngine, pid: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(t.courses).where(t.courses.c.patient_id == pid))).one()


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is UTC, f"{value!r} is not aware UTC"


# -- enrol / get / list / find ---------------------------------------------------------------


async def test_enrol_then_get_returns_the_same_patient(
    repo: SqlAlchemyCourseRepository, clock: ManualClock
) -> None:
    p = make_patient(
        "p1",
        name="Grace Hopper",
        discreet=True,
        can_become_pregnant=True,
        partner_can_become_pregnant=True,
        rules=RuleSet.US_REMS,
        tz="America/New_York",
    )
    now = clock.now()
    await repo.enrol(
        p, start=COURSE_START, dose_time=DOSE_TIME, regimen=Regimen.parse("21/28"), now=now
    )

    assert await repo.get("p1") == replace(p, created_at=now)


async def test_telegram_patient_round_trips_a_large_chat_id(
    repo: SqlAlchemyCourseRepository, enrol: Enrol
) -> None:
    chat_id = -1001234567890123  # supergroup-style ids exceed 32 bits
    await enrol("tg", channel=ChannelKind.TELEGRAM, phone=None, telegram_chat_id=chat_id)

    got = await repo.get("tg")
    assert got.channel is ChannelKind.TELEGRAM
    assert got.telegram_chat_id == chat_id
    assert (await repo.find(chat_id=chat_id)) == got


async def test_unknown_patient_is_a_clear_error(repo: SqlAlchemyCourseRepository) -> None:
    with pytest.raises(UnknownPatientError) as err:
        await repo.get("nobody")
    assert err.value.patient_id == "nobody"
    assert "nobody" in str(err.value)
    with pytest.raises(UnknownPatientError):
        await repo.load_one("nobody")


@pytest.mark.parametrize(
    "change",
    [
        lambda r, now: r.update_course("nobody", now, dose_time=time(8, 0)),
        lambda r, now: r.add_hold("nobody", date(2026, 6, 12), "low counts", now),
        lambda r, now: r.end_hold("nobody", date(2026, 6, 12), date(2026, 6, 20), now),
        lambda r, now: r.add_delay("nobody", 2, 7, now),
        lambda r, now: r.add_appointment("nobody", date(2026, 6, 15), "", now),
    ],
    ids=["update_course", "add_hold", "end_hold", "add_delay", "add_appointment"],
)
async def test_changing_an_unknown_patients_course_is_a_clear_error(
    repo: SqlAlchemyCourseRepository, clock: ManualClock, change: Any
) -> None:
    with pytest.raises(UnknownPatientError):
        await change(repo, clock.now())


async def test_all_patients_in_enrolment_order_and_ids_in_pages(
    repo: SqlAlchemyCourseRepository, enrol: Enrol, clock: ManualClock
) -> None:
    for pid in ("p3", "p1", "p2"):
        await enrol(pid, now=clock.now())
        clock.advance(minutes=1)

    assert [p.id for p in await repo.all_patients()] == ["p3", "p1", "p2"]
    assert await repo.patient_ids() == ["p1", "p2", "p3"]
    assert await repo.patient_ids(after="", limit=2) == ["p1", "p2"]
    assert await repo.patient_ids(after="p2", limit=2) == ["p3"]
    assert await repo.patient_ids(after="p3") == []


async def test_find_by_phone_and_by_chat_id(repo: SqlAlchemyCourseRepository, enrol: Enrol) -> None:
    sms = await enrol("sms", phone="+447700900001")
    await enrol("tg", channel=ChannelKind.TELEGRAM, phone=None, telegram_chat_id=4242)

    found = await repo.find(phone="+447700900001")
    assert found is not None and found.id == sms.id
    tg = await repo.find(chat_id=4242)
    assert tg is not None and tg.id == "tg"
    assert await repo.find(phone="+447700900999") is None
    assert await repo.find(chat_id=999) is None
    assert await repo.phone_taken("+447700900001")
    assert not await repo.phone_taken("+447700900999")


async def test_find_with_no_phone_and_no_chat_id_finds_nobody(
    repo: SqlAlchemyCourseRepository, enrol: Enrol
) -> None:
    """An empty From (or no key at all) must never match a patient who has no chat id.

    An empty/None phone must not fall through to ``telegram_chat_id == None``, which SQL
    renders as ``IS NULL`` and which matches every SMS patient.
    """
    await enrol("sms", phone="+447700900001")  # an SMS patient: telegram_chat_id IS NULL

    assert await repo.find(phone="") is None
    assert not await repo.phone_taken("")
    with contextlib.suppress(ValueError):  # refusing the call is as good as finding nobody
        assert await repo.find() is None


async def test_the_store_rejects_a_second_patient_with_the_same_id_phone_or_chat_id(
    repo: SqlAlchemyCourseRepository, enrol: Enrol
) -> None:
    await enrol("p1", phone="+447700900001")
    await enrol("tg", channel=ChannelKind.TELEGRAM, phone=None, telegram_chat_id=77)

    with pytest.raises(IntegrityError):
        await enrol("p1", phone="+447700900002")
    with pytest.raises(IntegrityError):
        await enrol("p2", phone="+447700900001")
    with pytest.raises(IntegrityError):
        await enrol("tg2", channel=ChannelKind.TELEGRAM, phone=None, telegram_chat_id=77)
    # Nothing half-written: a failed enrolment leaves no patient without a course and v.v.
    assert sorted(p.id for p in await repo.all_patients()) == ["p1", "tg"]
    assert sorted(await repo.load(["p1", "p2", "tg", "tg2"])) == ["p1", "tg"]


# -- course changes bump the version -------------------------------------------------------


async def test_every_course_change_bumps_the_version_and_updated_at(
    repo: SqlAlchemyCourseRepository, engine: AsyncEngine, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    row = await course_row(engine, "p1")
    assert (row.version, row.updated_at) == (1, T0)

    changes: list[Callable[[datetime], Awaitable[None]]] = [
        lambda now: repo.add_hold("p1", date(2026, 6, 12), "low counts", now),
        lambda now: repo.end_hold("p1", date(2026, 6, 12), date(2026, 6, 19), now),
        lambda now: repo.add_delay("p1", 2, 7, now),
        lambda now: repo.add_appointment("p1", date(2026, 6, 16), "clinic B", now),
        lambda now: repo.update_course("p1", now, dose_time=time(18, 30)),
        lambda now: repo.update_course("p1", now, end_date=date(2026, 8, 31)),
    ]
    for version, change in enumerate(changes, start=2):
        now = clock.advance(hours=1)
        await change(now)
        row = await course_row(engine, "p1")
        assert (row.version, row.updated_at) == (version, now)
    assert row.dose_time == time(18, 30)
    assert row.end_date == date(2026, 8, 31)
    assert row.enrolled_at == T0  # changes never move the enrolment


async def test_holds_delays_and_appointments_come_back_in_the_course(
    repo: SqlAlchemyCourseRepository, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    t_hold = clock.advance(hours=1)
    await repo.add_hold("p1", date(2026, 6, 12), "low counts", t_hold)
    t_end = clock.advance(days=5)
    await repo.end_hold("p1", date(2026, 6, 12), date(2026, 6, 19), t_end)
    t_hold2 = clock.advance(days=1)
    await repo.add_hold("p1", date(2026, 6, 25), "infection", t_hold2)
    await repo.add_delay("p1", 2, 7, clock.now())
    await repo.add_appointment("p1", date(2026, 6, 16), "clinic B", clock.now())
    await repo.add_appointment("p1", date(2026, 6, 16), "again", clock.now())  # no duplicate
    await repo.add_appointment("p1", date(2026, 7, 14), "", clock.now())

    _, course = await repo.load_one("p1")
    assert course.holds == (
        Hold(date(2026, 6, 12), date(2026, 6, 19), "low counts", t_hold, t_end),
        Hold(date(2026, 6, 25), None, "infection", t_hold2, None),
    )
    assert course.delays == (CycleDelay(2, 7),)
    assert sorted(course.appointments, key=lambda a: a.on) == [
        Appointment(date(2026, 6, 16), "clinic B"),
        Appointment(date(2026, 7, 14), ""),
    ]


async def test_end_hold_only_ends_the_open_hold_it_names(
    repo: SqlAlchemyCourseRepository, enrol: Enrol, clock: ManualClock
) -> None:
    await enrol("p1")
    await repo.add_hold("p1", date(2026, 6, 12), "first", clock.now())
    await repo.end_hold("p1", date(2026, 6, 12), date(2026, 6, 14), clock.now())
    await repo.add_hold("p1", date(2026, 6, 20), "second", clock.now())
    # Ending the (already ended) first hold again changes nothing about either hold.
    await repo.end_hold("p1", date(2026, 6, 12), date(2026, 6, 30), clock.advance(hours=1))

    _, course = await repo.load_one("p1")
    assert [(h.start, h.end) for h in course.holds] == [
        (date(2026, 6, 12), date(2026, 6, 14)),
        (date(2026, 6, 20), None),
    ]


# -- load ------------------------------------------------------------------------------------


async def test_load_returns_full_courses_for_a_batch(
    repo: SqlAlchemyCourseRepository, enrol: Enrol, clock: ManualClock
) -> None:
    now = clock.now()
    await enrol("a", regimen="21/28", dose_time=time(9, 0))
    await enrol(
        "b",
        regimen="days=1,3,5,...,27/28",
        dose_time=time(20, 15),
        tz="America/New_York",
        can_become_pregnant=True,
        rules=RuleSet.US_REMS,
    )
    await enrol("c", regimen="continuous")
    await repo.add_hold("b", date(2026, 6, 12), "low counts", now)
    await repo.add_delay("b", 2, 3, now)
    await repo.add_appointment("b", date(2026, 6, 16), "clinic B", now)
    await repo.update_course("b", now, end_date=date(2026, 12, 31))
    await repo.set_dose_time("b", time(21, 0), date(2026, 6, 20), now)
    await repo.set_dose_time("b", time(7, 30), date(2026, 6, 25), now)
    await repo.set_opted_out("c", now)

    loaded = await repo.load(["a", "b", "c", "missing"])

    assert sorted(loaded) == ["a", "b", "c"]
    pa, ca = loaded["a"]
    assert pa.id == "a"
    assert ca == Course(
        start=COURSE_START,
        dose_time=time(9, 0),
        tz="Europe/London",
        regimen=Regimen.parse("21/28"),
        enrolled_at=now,
        rules=RuleSet.UK,
    )
    pb, cb = loaded["b"]
    assert pb.tz == "America/New_York"
    assert cb == Course(
        start=COURSE_START,
        dose_time=time(7, 30),
        tz="America/New_York",
        regimen=Regimen.parse("days=1,3,5,...,27/28"),
        enrolled_at=now,
        rules=RuleSet.US_REMS,
        can_become_pregnant=True,
        holds=(Hold(date(2026, 6, 12), None, "low counts", now),),
        delays=(CycleDelay(2, 3),),
        appointments=(Appointment(date(2026, 6, 16), "clinic B"),),
        end=date(2026, 12, 31),
        ended_at=now,
        earlier_dose_times=(
            EarlierDoseTime(date(2026, 6, 20), time(20, 15)),
            EarlierDoseTime(date(2026, 6, 25), time(21, 0)),
        ),
    )
    assert [cb.dose_time_on(date(2026, 6, d)) for d in (19, 20, 24, 25)] == [
        time(20, 15),
        time(21, 0),
        time(21, 0),
        time(7, 30),
    ]
    pc, cc = loaded["c"]
    assert cc.opted_out and pc.opted_out_at == now
    assert cc.regimen == Regimen.parse("continuous")
    # Each patient's holds are their own.
    assert ca.holds == () and cc.holds == ()
    assert await repo.load([]) == {}


async def test_load_uses_a_fixed_number_of_queries_whatever_the_batch_size(
    repo: SqlAlchemyCourseRepository,
    engine: AsyncEngine,
    enrol: Enrol,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [f"p{i:03d}" for i in range(60)]
    for pid in ids:
        await enrol(pid)
        await repo.add_hold(pid, date(2026, 6, 20), "", clock.now())
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        loaded = await repo.load(ids)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert len(loaded) == 60
    assert all(len(c.holds) == 1 for _, c in loaded.values())
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects  # patients with courses; holds, delays, appointments

    # More patients than a statement may bind: loaded in chunks, two queries each.
    statements.clear()
    monkeypatch.setattr(patients, "LOAD_CHUNK", 25)
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        chunked = await repo.load(ids)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert chunked == loaded
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 6


async def test_many_ids_read_as_a_range_bring_only_those_patients(
    repo: SqlAlchemyCourseRepository, enrol: Enrol, clock: ManualClock
) -> None:
    """Past ``BY_RANGE_OVER`` ids, patients, their extras and dose records are read by the
    range the ids span: the others in that range must not come along."""
    ids = [f"p{i:03d}" for i in range(90)]
    for pid in ids:
        await enrol(pid)
        await repo.add_hold(pid, date(2026, 6, 20), pid, clock.now())
        await repo.add_appointment(pid, date(2026, 6, 22), pid, clock.now())
        await repo.record_dose(pid, date(2026, 6, 1), "taken", clock.now())
    wanted = ids[::3]  # 30 of them, spread over the whole range, unsorted below
    assert len(wanted) > BY_RANGE_OVER
    loaded = await repo.load(list(reversed(wanted)))
    assert sorted(loaded) == wanted
    for pid, (p, c) in loaded.items():
        assert p.id == pid
        assert [h.reason for h in c.holds] == [pid]
        assert [a.note for a in c.appointments] == [pid]
    records = await repo.dose_records_many(wanted, date(2026, 6, 1))
    assert records == {pid: {date(2026, 6, 1): "taken"} for pid in wanted}
    # A few ids: the same answer by the other way.
    few = wanted[:3]
    assert {k: loaded[k] for k in few} == await repo.load(few)


async def test_load_brings_each_courses_holds_delays_and_appointments_and_no_others(
    repo: SqlAlchemyCourseRepository, enrol: Enrol, clock: ManualClock
) -> None:
    for pid in ("p1", "p2", "p3"):
        await enrol(pid)
    now = clock.now()
    await repo.add_hold("p1", date(2026, 7, 20), "later", now)  # entered first, starts last
    await repo.add_hold("p1", date(2026, 6, 20), "sooner", now)
    await repo.end_hold("p1", date(2026, 6, 20), date(2026, 6, 25), now)
    await repo.add_delay("p1", 2, 3, now)
    await repo.add_delay("p1", 3, 1, now)
    await repo.add_appointment("p1", date(2026, 6, 30), "bring the form", now)
    await repo.add_appointment("p1", date(2026, 6, 12), "", now)
    await repo.add_delay("p3", 2, 7, now)

    loaded = await repo.load(["p1", "p2", "p3"])

    p1 = loaded["p1"][1]
    assert [(h.start, h.end, h.reason) for h in p1.holds] == [
        (date(2026, 6, 20), date(2026, 6, 25), "sooner"),
        (date(2026, 7, 20), None, "later"),
    ]
    assert all(h.created_at == now for h in p1.holds)
    assert [(d.cycle, d.days) for d in p1.delays] == [(2, 3), (3, 1)]
    assert [(a.on, a.note) for a in p1.appointments] == [
        (date(2026, 6, 30), "bring the form"),
        (date(2026, 6, 12), ""),
    ]
    p2, p3 = loaded["p2"][1], loaded["p3"][1]
    assert p2.holds == p2.delays == p2.appointments == ()
    assert p3.holds == p3.appointments == () and [(d.cycle, d.days) for d in p3.delays] == [(2, 7)]


# -- time ------------------------------------------------------------------------------------


async def test_datetimes_come_back_aware_utc_and_equal(
    repo: SqlAlchemyCourseRepository, enrol: Enrol
) -> None:
    # Given in New York time with microseconds: stored as UTC, returned as the same instant.
    ny = datetime(2026, 6, 10, 3, 4, 5, 678901, tzinfo=ZoneInfo("America/New_York"))
    await enrol("p1", now=ny)
    await repo.add_hold("p1", date(2026, 6, 12), "", ny + timedelta(minutes=1))
    await repo.end_hold("p1", date(2026, 6, 12), date(2026, 6, 14), ny + timedelta(minutes=2))
    await repo.set_opted_out("p1", ny + timedelta(minutes=3))

    p = await repo.get("p1")
    _, course = await repo.load_one("p1")
    hold = course.holds[0]
    for value in (
        p.created_at,
        p.opted_out_at,
        course.enrolled_at,
        hold.created_at,
        hold.resumed_at,
    ):
        assert_utc(value)
    assert p.created_at == ny and course.enrolled_at == ny
    assert course.enrolled_at.utcoffset() == timedelta(0)
    assert (hold.created_at, hold.resumed_at) == (
        ny + timedelta(minutes=1),
        ny + timedelta(minutes=2),
    )
    assert p.opted_out_at == ny + timedelta(minutes=3)

    await repo.set_opted_out("p1", None)
    assert (await repo.get("p1")).opted_out_at is None


async def test_a_naive_datetime_is_refused(repo: SqlAlchemyCourseRepository) -> None:
    with pytest.raises((ValueError, StatementError), match="naive"):
        await repo.enrol(
            make_patient("p1"),
            start=COURSE_START,
            dose_time=DOSE_TIME,
            regimen=Regimen.parse("21/28"),
            now=datetime(2026, 6, 10, 7, 0),
        )
    assert await repo.all_patients() == []
