"""Every nurse command, as typed, against a real SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import Result

Run = Callable[..., Result]


def kinds_on(items: list[dict[str, object]], day: str) -> set[object]:
    return {i["kind"] for i in items if i["local_date"] == day}


def test_enrol_prints_the_patient_id_alone_on_the_last_line(lenabot: Run) -> None:
    r = lenabot("enrol", "--name", "Ann Smith", "--phone", "+447700900123", "--start",
                "2026-12-01", "--dose-time", "09:00", "--tz", "Europe/London",
                "--can-become-pregnant")
    assert r.code == 0
    pid = r.last_line
    assert pid.isalnum() and len(pid) == 8
    listed = lenabot("patients", "list")
    assert pid in listed.out and "Ann Smith" in listed.out and "not started" in listed.out


def test_preview_json_has_the_documented_fields(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol("--can-become-pregnant")
    items = lenabot("preview", pid, "--from", "2026-12-01", "--days", "70", "--json").json()
    assert isinstance(items, list)
    doses = [i for i in items if i["kind"] == "dose"]
    assert len(doses) == 21 + 21 + 14  # days 1-21, 29-49 and 57-70 of the 70 days
    first = doses[0]
    assert first == {
        "kind": "dose", "local_date": "2026-12-01", "local_time": "09:00",
        "due_at": "2026-12-01T09:00:00Z", "expires_at": "2026-12-01T21:00:00Z",
        "cycle": 1, "day": 1, "text": first["text"], "status": first["status"],
    }
    assert first["status"] in ("pending", "planned")  # queued already, or beyond the outbox
    assert "cycle 1, day 1 of 21" in first["text"] and "Tue 1 Dec" in first["text"]
    assert [i["due_at"] for i in items] == sorted(i["due_at"] for i in items)
    assert kinds_on(items, "2026-12-22") == {"break_start", "blood_test"}
    assert "pregnancy_test" in kinds_on(items, "2026-12-26")  # 3 days before cycle 2
    notice = next(i for i in items if i["kind"] == "break_start")
    assert notice["cycle"] is None and notice["day"] is None
    assert notice["expires_at"] == "2026-12-23T00:00:00Z"


def test_preview_human_table_shows_dates_kinds_and_text(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol()
    r = lenabot("preview", pid, "--from", "2026-12-01", "--days", "2")
    lines = r.out.strip().splitlines()
    assert lines[0].startswith("2026-12-01 09:00  dose") and "c1 d1" in lines[0]
    assert lines[-1].startswith("2026-12-02 09:00  dose")


def test_preview_defaults_to_today_for_35_days(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol()
    items = lenabot("preview", pid, "--json").json()
    dates = sorted({i["local_date"] for i in items})
    assert dates[0] >= "2026-11-25" and dates[-1] <= "2026-12-29"
    assert "2026-12-29" in dates  # day 35 counted from today (25 Nov)


def test_pause_and_resume_remove_and_restore_doses(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol("--can-become-pregnant")
    r = lenabot("pause", pid, "--from", "2026-12-10", "--reason", "neutrophils low")
    assert r.code == 0, r.err
    items = lenabot("preview", pid, "--from", "2026-12-01", "--days", "28", "--json").json()
    dose_days = {i["local_date"] for i in items if i["kind"] == "dose"}
    assert "2026-12-09" in dose_days and "2026-12-10" not in dose_days
    assert "hold" in kinds_on(items, "2026-12-09")
    assert lenabot("patients", "list").code == 0
    r = lenabot("resume", pid, "--on", "2026-12-17")
    assert r.code == 0, r.err
    items = lenabot("preview", pid, "--from", "2026-12-01", "--days", "28", "--json").json()
    dose_days = {i["local_date"] for i in items if i["kind"] == "dose"}
    assert "2026-12-16" not in dose_days and "2026-12-17" in dose_days
    assert "resume" in kinds_on(items, "2026-12-16")


def test_delay_cycle_moves_the_next_cycle_and_later_ones(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol(start="2026-11-10")  # today (25 Nov) is cycle 1 day 16
    r = lenabot("delay-cycle", pid, "--days", "7")
    assert r.code == 0 and "cycle 2" in r.out and "2026-12-15" in r.out
    items = lenabot("preview", pid, "--from", "2026-12-01", "--days", "70", "--json").json()
    c2 = [i for i in items if i["kind"] == "dose" and i["cycle"] == 2]
    c3 = [i for i in items if i["kind"] == "dose" and i["cycle"] == 3]
    assert c2[0]["local_date"] == "2026-12-15" and c3[0]["local_date"] == "2027-01-12"


def test_set_dose_time_changes_every_future_dose(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol()
    assert lenabot("set-dose-time", pid, "20:00").code == 0
    items = lenabot("preview", pid, "--from", "2026-12-01", "--days", "3", "--json").json()
    assert {i["local_time"] for i in items if i["kind"] == "dose"} == {"20:00"}


def test_end_stops_doses_and_starts_aftercare(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol()
    assert lenabot("end", pid, "--on", "2026-12-05").code == 0
    items = lenabot("preview", pid, "--from", "2026-12-01", "--days", "10", "--json").json()
    doses = [i["local_date"] for i in items if i["kind"] == "dose"]
    assert doses[-1] == "2026-12-05"
    assert "aftercare" in kinds_on(items, "2026-12-06")
    assert "ended" not in lenabot("patients", "list").out  # still before the end date


def test_appointment_adds_a_blood_test_reminder(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol()
    assert lenabot("appointment", pid, "--blood-test", "2026-12-03", "--note", "Ward 5").code == 0
    items = lenabot("preview", pid, "--from", "2026-12-03", "--days", "1", "--json").json()
    test = next(i for i in items if i["kind"] == "blood_test")
    assert "Ward 5" in test["text"]


def test_enrol_names_the_first_dose_it_will_remind(lenabot: Run, travel) -> None:
    args = ["enrol", "--name", "Ann", "--start", "2026-11-20", "--tz", "Europe/London"]
    before = lenabot(*args, "--phone", "+447700900201", "--dose-time", "09:00")
    assert "next dose: 2026-11-25 at 09:00" in before.out  # 08:00 now: today's is to come
    travel.move_to("2026-11-25T10:00:00Z")
    after = lenabot(*args, "--phone", "+447700900202", "--dose-time", "09:00")
    assert "next dose: 2026-11-26 at 09:00" in after.out  # today's was due before enrolment


def test_enrolment_plans_the_outbox_at_once(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol(start="2026-11-20")  # mid-course: today's 09:00 London dose is due at 09:00 UTC
    r = lenabot("outbox", pid)
    assert "2026-11-25 09:00 dose" in r.out and "pending" in r.out
    assert "2026-11-20" not in r.out  # nothing from before enrolment


def test_outbox_shows_each_text_and_why_a_reminder_was_cancelled(
    lenabot: Run, enrol: Callable[..., str], travel
) -> None:
    pid = enrol(start="2026-11-20")
    travel.move_to("2026-11-25T08:00:00Z")  # an hour before today's dose
    assert "recorded as taken" in lenabot("say", pid, "taken").out
    [line] = [x for x in lenabot("outbox", pid).out.splitlines() if "2026-11-25 09:00 dose" in x]
    assert "cancelled" in line and line.endswith("[dose recorded (taken)]")
    assert "time for your lenalidomide: cycle 1, day 6 of 21, Wed 25 Nov" in line


def test_say_taken_records_the_dose_and_again_says_already_recorded(
    lenabot: Run, enrol: Callable[..., str], travel
) -> None:
    pid = enrol(start="2026-11-20")
    travel.move_to("2026-11-25T09:30:00Z")
    first = lenabot("say", pid, "taken")
    assert first.code == 0 and "recorded as taken" in first.out
    again = lenabot("say", pid, "TAKEN")
    assert "already recorded" in again.out


def test_say_missed_on_a_break_day_says_no_capsule_today(
    lenabot: Run, enrol: Callable[..., str]
) -> None:
    pid = enrol(start="2026-11-01")  # 25 Nov is cycle 1 day 25: a break day
    r = lenabot("say", pid, "missed")
    assert "No capsule is due today" in r.out and "Tue 29 Dec" not in r.out
    assert "Sun 29 Nov at 09:00" in r.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--phone", "07700900123"], "not in E.164 form"),
        (["--phone", "+4412"], "not in E.164 form"),
        (["--phone", "+99912345678"], "not a phone number"),
        (["--tz", "Mars/Olympus"], "unknown timezone 'Mars/Olympus'"),
        (["--dose-time", "9am"], "dose time '9am' is not a time"),
        (["--dose-time", "24:00"], "is not a time"),
        (["--start", "2026-02-30"], "start date '2026-02-30' is not a real date"),
        (["--start", "2028-01-01"], "more than a year away"),
        (["--regimen", "days=/28"], "regimen 'days=/28' is not understood"),
        (["--regimen", "0/28"], "regimen has no dose day"),
        (["--regimen", "days=1-30/28"], "outside the 28-day cycle"),
        (["--rules", "eu"], "Invalid value for '--rules'"),
        (["--language", "fr"], "language 'fr' is not available"),
        (["--telegram"], "exactly one of --phone (SMS) or --telegram"),
    ],
)
def test_enrol_rejects_bad_values_with_one_sentence_and_changes_nothing(
    lenabot: Run, argv: list[str], message: str
) -> None:
    base = {"--name": "Ann", "--phone": "+447700900123", "--start": "2026-12-01",
            "--dose-time": "09:00", "--tz": "Europe/London"}
    args: list[str] = []
    flags = [a for a in argv if a.startswith("--") and (argv.index(a) + 1 == len(argv)
                                                         or argv[argv.index(a) + 1].startswith("--"))]
    values = dict(zip(argv[::2], argv[1::2], strict=False)) if not flags else {}
    for k, val in base.items():
        args += [k, values.get(k, val)]
    for k, val in values.items():
        if k not in base:
            args += [k, val]
    args += flags
    r = lenabot("enrol", *args)
    assert r.code == 2
    assert message in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert lenabot("patients", "list").out.startswith("no patients yet")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["preview", "nobody"], "unknown patient 'nobody'"),
        (["pause", "nobody"], "unknown patient 'nobody'"),
        (["say", "nobody", "taken"], "unknown patient 'nobody'"),
        (["end", "PID", "--on", "2026-11-01"], "is before the course starts"),
        (["resume", "PID", "--on", "2026-12-20"], "this course is not paused"),
        (["delay-cycle", "PID", "--days", "0"], "--days must be from 1 to 90"),
        (["set-dose-time", "PID", "25:00"], "dose time '25:00' is not a time"),
        (["preview", "PID", "--from", "2026-13-01"], "--from '2026-13-01' is not a real date"),
        (["appointment", "PID", "--blood-test", "2029-01-01"], "more than a year from today"),
        (["enrol", "--name", "Ann"], "Missing option"),
    ],
)
def test_nurse_commands_reject_bad_input_clearly(
    lenabot: Run, enrol: Callable[..., str], argv: list[str], message: str
) -> None:
    pid = enrol()
    before = lenabot("preview", pid, "--json").out
    r = lenabot(*[pid if a == "PID" else a for a in argv])
    assert r.code == 2 and message in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert lenabot("preview", pid, "--json").out == before


def test_second_pause_is_refused(lenabot: Run, enrol: Callable[..., str]) -> None:
    pid = enrol()
    assert lenabot("pause", pid, "--from", "2026-12-03").code == 0
    r = lenabot("pause", pid, "--from", "2026-12-05")
    assert r.code == 2 and "already paused" in r.err


def test_duplicate_phone_is_refused(lenabot: Run, enrol: Callable[..., str]) -> None:
    enrol()
    r = lenabot("enrol", "--name", "Bob", "--phone", "+447700900123", "--start", "2026-12-01",
                "--dose-time", "09:00", "--tz", "Europe/London")
    assert r.code == 2 and "already enrolled" in r.err


def test_commands_before_migration_say_how_to_set_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    r = subprocess.run([sys.executable, "-m", "bot", "patients", "list"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: the database is not set up yet: run 'lenabot db upgrade' (or 'make run')"
    )


def test_demo_runs_two_cycles_and_the_end_of_treatment(lenabot: Run) -> None:
    r = lenabot("demo")
    assert r.code == 0, r.err
    doses = [line for line in r.out.splitlines() if "time for your lenalidomide" in line]
    assert len(doses) == 42
    assert len(set(doses)) == 42  # never printed twice
    assert "cycle 2, day 21 of 21" in doses[-1]
    assert any("has ended" in line for line in r.out.splitlines())
    assert "last pregnancy test" in r.out
    # After the clocks change (28 Mar 2027) doses stay at 09:00 London time.
    assert "[2027-03-29 09:00 Europe/London]" in r.out


def test_appointment_note_longer_than_one_sms_allows_is_refused(
    lenabot: Run, enrol: Callable[..., str]
) -> None:
    pid = enrol()
    r = lenabot("appointment", pid, "--blood-test", "2026-12-03", "--note", "x" * 41)
    assert r.code == 2 and "note is 41 characters: keep it to 40" in r.err


def test_say_red_flag_answers_urgently_and_alerts_the_nurse(
    lenabot: Run, enrol: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_PHONE", "+441234567890")
    pid = enrol()
    r = lenabot("say", pid, "temp of 38,6 and shivery")
    lines = r.out.strip().splitlines()
    # No nurse chat is configured: the console says an alert is waiting, never their words.
    assert lines[0] == f"[nurse alert] red_flag for patient {pid}: see 'lenabot alerts'"
    assert lines[1].startswith("URGENT: call your treatment team now on +441234567890. ")
    assert "38,6" not in lines[0]
    [alert] = lenabot("alerts").out.strip().splitlines()  # where the team reads the words
    assert alert.startswith(f"red_flag        {pid}") and "High temperature" in alert
    assert '"temp of 38,6 and shivery"' in alert


def test_say_leaflet_question_gets_the_leaflet_answer_and_no_alert(
    lenabot: Run, enrol: Callable[..., str]
) -> None:
    pid = enrol()
    r = lenabot("say", pid, "can i have the flu jab?")
    assert "flu jab is safe" in r.out and "nurse alert" not in r.out


def test_say_stop_opts_out_cancels_pending_and_start_brings_them_back(
    lenabot: Run, enrol: Callable[..., str]
) -> None:
    pid = enrol(start="2026-11-20")
    assert "pending" in lenabot("outbox", pid).out
    r = lenabot("say", pid, "STOP")
    assert "no more messages" in r.out
    assert f"[nurse alert] opt_out for patient {pid}: see 'lenabot alerts'" in r.out
    assert f"patient {pid} opted out" in lenabot("alerts").out
    assert "pending" not in lenabot("outbox", pid).out
    assert "opted out" in lenabot("patients", "list").out
    assert lenabot("say", pid, "what's next").out.strip() == ""  # silence while opted out
    assert "back on" in lenabot("say", pid, "START").out
    assert "pending" in lenabot("outbox", pid).out


def test_explain_lays_out_clauses_readings_and_what_a_negation_denied(lenabot: Run) -> None:
    r = lenabot("explain", "no fever, just tired. Taken")
    assert r.code == 0
    lines = r.out.strip().splitlines()
    assert lines[0] == "text: 'no fever, just tired. Taken'"
    assert "clause: 'no fever'" in lines and "  unknown (denied fever)" in lines
    assert "clause: 'Taken'" in lines and "  taken" in lines
    assert lines[-1] == "reading: taken, topic:fatigue"
