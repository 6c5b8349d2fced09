"""The console's CSV exports over real HTTP into the real app, on SQLite and PostgreSQL: one
patient's adherence day by day and every patient's, worked out as ``lenabot adherence`` does;
one patient's conversation both ways in UTC with delivery status; no cell a spreadsheet would
run as a formula; each export in the audit trail; links from the patient page and the list."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from scheduler.domain.guidance import LATE, MISSED, TAKEN
from scheduler.domain.outbox import Finish
from tests.integration.console.console_world import T0, Console


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_adherence_exports_match_lenabot_adherence(world: Console) -> None:
    ann = await world.enrol("Ann Smith", "+447700900123")  # from 20 November, 21/28
    bob = await world.enrol("=Bob Jones", "+447700900456", start=date(2026, 11, 30))
    now = world.clock.now()
    for d in range(13):  # 20 Nov to 2 Dec
        day = date(2026, 11, 20) + timedelta(days=d)
        await world.service.courses.record_dose(ann.id, day, MISSED if d % 4 == 1 else TAKEN, now)
    await world.service.courses.record_dose(bob.id, date(2026, 11, 30), LATE, now)
    nurse, _ = await world.staff("nora@example.org")
    b = await world.browser()
    await b.sign_in("nora@example.org")

    page = await b.get(f"/patients/{ann.id}")
    assert f'href="/patients/{ann.id}/adherence.csv"' in page.text
    assert f'href="/patients/{ann.id}/conversation.csv"' in page.text
    assert 'href="/adherence.csv"' in (await b.get("/patients")).text

    r = await b.get(f"/patients/{ann.id}/adherence.csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="lenabot-adherence-{ann.id}-20261203-1000.csv"'
    )
    days = table(r.text)
    code, out, err = await world.lenabot("adherence", ann.id, "--json")
    assert code == 0, err
    cli = json.loads(out)
    expected = [
        (str(c["cycle"]), d["date"], d["status"])
        for c in cli["cycles"] for d in c["days"] if d["date"] <= "2026-12-03"
    ]  # fmt: skip
    assert [(x["cycle"], x["date"], x["status"]) for x in days] == expected
    assert len(days) == 14 and days[0]["day_of_cycle"] == "1" and days[-1]["day_of_cycle"] == "14"
    assert (days[1]["status"], days[1]["meaning"]) == (MISSED, "missed")
    assert days[-1]["status"] == "open"  # today, 10:00, the 09:00 dose not yet confirmed

    clinic = await b.get("/adherence.csv")
    assert clinic.status_code == 200
    rows = {x["patient_id"]: x for x in table(clinic.text)}
    assert set(rows) == {ann.id, bob.id}
    assert float(rows[ann.id]["adherence_course_percent"]) == cli["percent"]
    assert (rows[ann.id]["taken"], rows[ann.id]["missed"]) == ("10", "3")
    assert rows[ann.id]["state"] == "active" and rows[ann.id]["today"] == "cycle 1, day 14"
    assert rows[bob.id]["name"] == "'=Bob Jones"  # never a formula in a spreadsheet
    # Bob, enrolled today: a late dose on his first day, the days since before his enrolment.
    assert (rows[bob.id]["late"], rows[bob.id]["unconfirmed"]) == ("1", "0")
    assert rows[bob.id]["adherence_4_weeks_percent"] == "100.0"

    exports = await world.service.audit.entries(action="export")
    assert [(e.actor, e.patient_id, (e.after or {})["what"]) for e in exports] == [
        (f"staff:{nurse.id}", None, "adherence of every patient"),
        (f"staff:{nurse.id}", ann.id, "adherence"),
    ]
    assert (exports[0].after or {})["rows"] == 2
    assert (await b.get("/patients/nobody/adherence.csv")).status_code == 404


async def test_the_conversation_export_has_both_ways_in_utc_with_delivery_status(
    world: Console,
) -> None:
    patient = await world.enrol()
    await world.service.conversation.handle(
        patient, '=HYPERLINK("http://evil.example","took it")', channel="sms"
    )
    world.clock.advance(timedelta(hours=23, minutes=1))  # 4 December, 09:01: the dose is due
    now = world.clock.now()
    claimed = await world.service.outbox.claim(now, 10, "test")  # as the dispatcher does
    assert claimed, "the dose reminder is due"
    first, *rest = claimed
    await world.service.outbox.finish(Finish.sent(first.id, first.claimed_by, "SM1", "sms", now))
    for row in rest:
        await world.service.outbox.finish(Finish.failed(row.id, row.claimed_by, "30003", now))
    b = await world.nurse()
    r = await b.get(f"/patients/{patient.id}/conversation.csv")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith(
        f'attachment; filename="lenabot-conversation-{patient.id}-'
    )
    rows = table(r.text)
    assert rows[0] == {
        "at_utc": f"{T0:%Y-%m-%dT%H:%M:%SZ}", "direction": "from patient", "kind": "",
        "status": "received", "text": "'=HYPERLINK(\"http://evil.example\",\"took it\")",
    }  # fmt: skip
    sent = rows[1:]
    assert [(x["direction"], x["kind"], x["status"]) for x in sent] == [
        ("to patient", first.kind, "sent"), *(("to patient", x.kind, "failed") for x in rest)
    ]  # fmt: skip
    assert sent[0]["at_utc"] == f"{now:%Y-%m-%dT%H:%M:%SZ}" and sent[0]["text"] == first.text
    pending = [x for x in await world.service.outbox.rows(patient.id) if x.status == "pending"]
    assert pending and not {x.text for x in pending} & {x["text"] for x in sent}
    [audit] = await world.service.audit.entries(action="export")
    assert audit.patient_id == patient.id and audit.after == {"what": "conversation",
                                                              "rows": len(rows)}  # fmt: skip
    assert (await b.get("/patients/nobody/conversation.csv")).status_code == 404
