"""The audit trail: every change says who made it and what the course was before and after,
in the change's own transaction; rows cannot be changed or deleted; erasing a patient keeps
them, and they hold nothing personal.

What a nurse would see: ``SqlAlchemyAudit.entries`` (what `lenabot audit` and the console
show), on SQLite and PostgreSQL; the CLI and Telegram name their own actors.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.domain.audit import ActorError
from scheduler.domain.model import ChannelKind, Regimen
from scheduler.ports import AuditEntry
from scheduler.services.care import CareError, Enrolment
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import unit_of_work
from scheduler.store.migrate import upgrade_async
from tests.conftest import TestDb
from tests.fakes.telegram_bot import NURSE, running_bot
from tests.integration.clinic import Clinic
from tests.integration.ops.test_privacy import run_cli

T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)  # 08:00 in London, cycle 1 day 10
NAME, PHONE = "Ann Smith", "+447700900123"
NURSE_CLI = "cli:nora"
PATIENT_CHAT = 555001


@pytest.fixture
async def clinic(engine: AsyncEngine) -> Clinic:
    return Clinic.build(engine, T0)


async def enrol(clinic: Clinic, actor: str = NURSE_CLI) -> str:
    patient = await clinic.care.enrol(
        Enrolment(name=NAME, tz="Europe/London", start=date(2026, 6, 1), dose_time=time(9, 0),
                  regimen=Regimen.parse("21/28"), channel=ChannelKind.SMS, phone=PHONE),
        actor=actor,
    )  # fmt: skip
    return patient.id


async def trail(clinic: Clinic, patient_id: str | None = None, **kw: Any) -> list[AuditEntry]:
    """The patient's audit trail, oldest first."""
    return list(reversed(await clinic.care.audit.entries(patient_id=patient_id, **kw)))


async def test_each_care_action_records_who_and_the_values_before_and_after(
    clinic: Clinic,
) -> None:
    care = clinic.care
    pid = await enrol(clinic)
    await care.pause(pid, date(2026, 6, 12), "Ann's neutrophils low", actor="telegram:7001")
    await care.resume(pid, date(2026, 6, 15), actor="telegram:7001")
    await care.delay_cycle(pid, 7, actor=NURSE_CLI)
    await care.set_dose_time(pid, time(20, 0), actor=NURSE_CLI)
    await care.appointment(pid, date(2026, 6, 20), "Ward 5", actor="staff:42")
    await care.end(pid, date(2026, 9, 30), actor=NURSE_CLI)
    await care.follow_ups(pid, False, actor=NURSE_CLI)
    await care.opt_out(pid, clinic.clock.now(), "texted a STOP word")
    await care.opt_in(pid)

    rows = await trail(clinic, pid)
    assert [(r.action, r.actor) for r in rows] == [
        ("enrol", NURSE_CLI), ("pause", "telegram:7001"), ("resume", "telegram:7001"),
        ("delay_cycle", NURSE_CLI), ("set_dose_time", NURSE_CLI), ("appointment", "staff:42"),
        ("end", NURSE_CLI), ("follow_ups", NURSE_CLI), ("opt_out", "system"),
        ("opt_in", "system"),
    ]  # fmt: skip
    assert all(r.at == T0 and r.patient_id == pid for r in rows)
    enrolled, paused, resumed, delayed, timed, booked, ended, nudges, out, back = rows
    assert enrolled.before is None
    assert enrolled.after is not None and {
        k: enrolled.after[k] for k in ("channel", "start", "regimen", "dose_time", "tz", "end")
    } == {"channel": "sms", "start": "2026-06-01", "regimen": "21/28", "dose_time": "09:00",
          "tz": "Europe/London", "end": None}  # fmt: skip
    assert "name" not in enrolled.after and "phone" not in enrolled.after
    # The reason as typed, but without the patient's name (the audit trail outlives erasure).
    hold = {"from": "2026-06-12", "until": None, "reason": "[patient]'s neutrophils low"}
    assert (paused.before, paused.after) == ({"holds": []}, {"holds": [hold]})
    assert (resumed.before, resumed.after) == (
        {"holds": [hold]}, {"holds": [hold | {"until": "2026-06-15"}]})  # fmt: skip
    assert (delayed.before, delayed.after) == (
        {"delays": []},
        {"delays": [{"cycle": 2, "days": 7}], "cycle": 2, "cycle_start_was": "2026-06-29",
         "cycle_start": "2026-07-06"},
    )  # fmt: skip
    assert (timed.before, timed.after) == (
        {"dose_time": "09:00"}, {"dose_time": "20:00", "since": "2026-06-10"})  # fmt: skip
    assert (booked.before, booked.after) == (
        {"appointments": []}, {"appointments": [{"blood_test": "2026-06-20", "note": "Ward 5"}]})  # fmt: skip
    assert (ended.before, ended.after) == ({"end": None}, {"end": "2026-09-30"})
    assert (nudges.before, nudges.after) == ({"follow_ups": True}, {"follow_ups": False})
    assert (out.before, out.after) == (
        {"opted_out": False}, {"opted_out": True, "how": "texted a STOP word"})  # fmt: skip
    assert (back.before, back.after) == ({"opted_out": True}, {"opted_out": False})


async def test_the_trail_is_filtered_by_patient_actor_action_and_time(clinic: Clinic) -> None:
    a = await enrol(clinic)
    clinic.clock.advance(hours=1)
    await clinic.care.pause(a, date(2026, 6, 12), "", actor="telegram:7001")
    clinic.clock.advance(hours=1)
    await clinic.care.end(a, date(2026, 9, 30), actor="staff:42")

    audit = clinic.care.audit
    assert [e.action for e in await audit.entries(actor="telegram")] == ["pause"]
    assert [e.action for e in await audit.entries(actor="staff:42")] == ["end"]
    assert [e.action for e in await audit.entries(actor="cli")] == ["enrol"]
    assert [e.action for e in await audit.entries(action="enrol")] == ["enrol"]
    hour = T0 + timedelta(hours=1)
    assert [e.action for e in await audit.entries(since=hour)] == ["end", "pause"]
    assert [e.action for e in await audit.entries(until=hour)] == ["enrol"]
    assert [e.action for e in await audit.entries(limit=1, offset=1)] == ["pause"]
    assert await audit.entries(patient_id="nobody") == []


async def test_a_change_that_nothing_changes_writes_no_row(clinic: Clinic) -> None:
    pid = await enrol(clinic)
    await clinic.care.set_dose_time(pid, time(9, 0), actor=NURSE_CLI)  # the time it has
    await clinic.care.opt_in(pid)  # not opted out
    assert [r.action for r in await trail(clinic, pid)] == ["enrol"]


# -- one transaction ---------------------------------------------------------------------


async def test_an_action_that_fails_after_its_change_leaves_neither_change_nor_audit_row(
    clinic: Clinic,
) -> None:
    pid = await enrol(clinic)
    with pytest.raises(RuntimeError):
        async with unit_of_work(clinic.engine):  # the action joins it, then it fails
            await clinic.care.pause(pid, date(2026, 6, 12), "", actor=NURSE_CLI)
            raise RuntimeError("the connection dropped before the commit")

    _, course = await clinic.courses.load_one(pid)
    assert course.holds == ()
    assert [r.action for r in await trail(clinic, pid)] == ["enrol"]
    assert [r for r in await clinic.rows(await clinic.courses.get(pid), "change")] == []


async def test_an_audit_row_that_cannot_be_written_undoes_the_change(clinic: Clinic) -> None:
    pid = await enrol(clinic)
    with pytest.raises(ActorError):
        await clinic.care.pause(pid, date(2026, 6, 12), "", actor="nobody at all")
    _, course = await clinic.courses.load_one(pid)
    assert course.holds == ()
    assert [r for r in await clinic.rows(await clinic.courses.get(pid), "change")] == []


async def test_a_refused_action_writes_no_row(clinic: Clinic) -> None:
    pid = await enrol(clinic)
    with pytest.raises(CareError):
        await clinic.care.resume(pid, date(2026, 6, 15), actor=NURSE_CLI)  # not paused
    with pytest.raises(CareError):  # the number is Ann's
        await enrol(clinic)
    assert [(r.action, r.patient_id) for r in await trail(clinic)] == [("enrol", pid)]


# -- append-only -------------------------------------------------------------------------


async def test_audit_rows_cannot_be_changed_or_deleted(db: TestDb, engine: AsyncEngine) -> None:
    audit = SqlAlchemyAudit(engine)
    await audit.record("pause", actor=NURSE_CLI, at=T0, patient_id="p1",
                       before={"holds": []}, after={"holds": ["x"]})  # fmt: skip
    statements = ["UPDATE audit SET actor = 'cli:mallory'", "DELETE FROM audit",
                  "UPDATE audit SET after = NULL WHERE id = 1"]  # fmt: skip
    if db.postgres:
        statements.append("TRUNCATE audit")
    for statement in statements:
        with pytest.raises(IntegrityError, match="audit rows are append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    [row] = await audit.entries()
    assert (row.actor, row.after) == (NURSE_CLI, {"holds": ["x"]})


async def test_rows_are_appended_still(engine: AsyncEngine) -> None:
    audit = SqlAlchemyAudit(engine)
    for i in range(3):
        await audit.record("end", actor="system", at=T0, patient_id=f"p{i}")
    assert [e.patient_id for e in await audit.entries()] == ["p2", "p1", "p0"]
    with pytest.raises(ActorError):
        await audit.record("end", actor="root", at=T0)


# -- erasure -----------------------------------------------------------------------------


async def test_forgetting_a_patient_keeps_their_audit_rows_and_they_name_nobody(
    clinic: Clinic,
) -> None:
    pid = await enrol(clinic)
    other = await clinic.care.enrol(Enrolment(
        name="Xavier Plumtree", tz="Europe/London", start=date(2026, 6, 1), dose_time=time(9, 0),
        regimen=Regimen.parse("21/28"), channel=ChannelKind.SMS, phone="+447700900999",
    ), actor=NURSE_CLI)  # fmt: skip
    await clinic.care.pause(pid, date(2026, 6, 12), "Ann Smith (07700 900123) says +447700900123",
                            actor=NURSE_CLI)  # fmt: skip
    await clinic.care.appointment(pid, date(2026, 6, 20), "ask for smith", actor=NURSE_CLI)
    await clinic.say(await clinic.courses.get(pid), "temperature 39 and shivery since zorblax")
    await clinic.say(await clinic.courses.get(pid), "STOP")
    before = await trail(clinic, pid)

    done = await clinic.care.forget(pid, actor=NURSE_CLI)

    after = await trail(clinic, pid)
    assert after[:-1] == before  # kept, unchanged
    assert [r.action for r in before] == ["enrol", "pause", "appointment", "opt_out"]
    forgot = after[-1]
    assert (forgot.action, forgot.actor, forgot.patient_id, forgot.before) == (
        "forget", NURSE_CLI, pid, None)  # fmt: skip
    assert forgot.after == {"erased": done, "opted_out": True}
    async with clinic.engine.connect() as conn:
        every_row = " ".join(repr(tuple(r)) for r in await conn.execute(select(t.audit)))
    for personal in ("Ann", "Smith", "smith", PHONE, PHONE.lstrip("+"), "900123", "zorblax",
                     "shivery"):  # fmt: skip
        assert personal not in every_row, personal
    assert "Xavier" not in every_row  # nobody's name is there, forgotten or not
    # The course's own notes lose the name and number too; the other patient keeps theirs.
    _, course = await clinic.courses.load_one(pid)
    assert "Ann" not in course.holds[0].reason and PHONE not in course.holds[0].reason
    assert course.appointments[0].note == "ask for [forgotten]"
    assert (await clinic.courses.get(other.id)).name == "Xavier Plumtree"


# -- who: the CLI and Telegram -----------------------------------------------------------


def test_the_cli_records_the_os_user_and_prints_the_trail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    asyncio.run(upgrade_async(url))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    for var in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN", "ALERT_SMS_TO"):
        monkeypatch.delenv(var, raising=False)
    today = datetime.now(UTC).date().isoformat()

    def ok(*argv: str) -> str:
        code, out, err = run_cli(*argv)
        assert code == 0, err
        return out

    pid = ok("enrol", "--name", NAME, "--phone", PHONE, "--start", today, "--dose-time", "23:30",
             "--tz", "UTC").strip().splitlines()[-1]  # fmt: skip
    ok("pause", pid, "--reason", "counts low")
    code, _, err = run_cli("resume", pid)  # the day it was paused: refused, nothing recorded
    assert code == 2 and "must be after the pause began" in err
    ok("set-dose-time", pid, "23:45")
    ok("follow-ups", pid, "off")
    ok("nurses", "add", "--telegram-id", "7001", "--name", "Nora Nurse")
    ok("nurses", "remove", "--telegram-id", "7001")
    ok("patients", "forget", pid, "--yes")

    me = f"cli:{getpass.getuser()}"
    rows = json.loads(ok("audit", "--json"))
    assert [(r["action"], r["actor"], r["patient_id"]) for r in rows] == [
        ("enrol", me, pid), ("pause", me, pid), ("set_dose_time", me, pid),
        ("follow_ups", me, pid), ("nurse_add", me, None), ("nurse_remove", me, None),
        ("forget", me, pid),
    ]  # fmt: skip
    assert rows[2]["before"] == {"dose_time": "23:30"}
    assert rows[2]["after"] == {"dose_time": "23:45", "since": today}
    lines = ok("audit", "--patient", pid).splitlines()
    assert any("set_dose_time" in line and "dose_time: 23:30 -> 23:45" in line for line in lines)
    assert ok("audit", "--action", "nurse_add").count("Nora Nurse") == 1
    assert NAME not in ok("audit")


async def test_telegram_nurse_commands_and_links_record_the_nurse(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        patient = await bot.enrol()
        nurse = f"telegram:{NURSE}"
        reply = (await bot.say(NURSE, f"/link {patient.id}"))[-1].text
        code = reply.rsplit("start=", 1)[1]
        assert "now linked" in (await bot.say(PATIENT_CHAT, f"/start {code}"))[-1].text
        await bot.say(NURSE, f"/pause {patient.id} 2026-06-12 low neutrophils")
        await bot.say(NURSE, f"/resume {patient.id} 2026-06-15")
        await bot.say(NURSE, f"/end {patient.id} 2026-08-01")
        refused = (await bot.say(NURSE, f"/end {patient.id} 2026-05-01"))[-1].text
        assert "before the course starts" in refused

        rows = list(reversed(await bot.service.audit.entries(patient_id=patient.id)))
        assert [(r.action, r.actor) for r in rows] == [
            ("enrol", "system"), ("link", nurse), ("link", "system"), ("pause", nurse),
            ("resume", nurse), ("end", nurse),
        ]  # fmt: skip
        issued, linked = rows[1], rows[2]
        assert issued.after is not None and issued.after["link"] == "issued"
        assert (linked.before, linked.after) == (
            {"telegram": "not linked"},
            {"telegram": "linked", "by": "the patient opened their link"},
        )
        assert str(PATIENT_CHAT) not in repr(rows)  # the chat id is personal: never kept
        assert (rows[-1].before, rows[-1].after) == ({"end": None}, {"end": "2026-08-01"})
