"""Nurse commands: enrol, list, preview, pause, resume, delay, dose time, end, appointments."""

from __future__ import annotations

import secrets
import sys
from datetime import date, datetime

import click

from bot.bootstrap import Service
from bot.cli.common import cli_actor, dump, with_service
from bot.cli.patients_csv import patients_import
from bot.conversation import validate as v
from bot.conversation.preview import preview_items
from messages.render import check_language, profile_of
from scheduler.domain.guidance import first_reminder
from scheduler.domain.localtime import zone
from scheduler.domain.model import ChannelKind, Course, RuleSet
from scheduler.domain.plan import plan
from scheduler.services.care import Enrolment, course_state


def _today(service: Service, tz: str) -> date:
    return service.clock.now().astimezone(zone(tz)).date()


@click.command()
@click.option("--name", required=True, help="name or initials")
@click.option("--phone", help="mobile number in E.164, e.g. +447700900123 (SMS patient)")
@click.option("--telegram", is_flag=True, help="a Telegram patient, linked by a one-time link")
@click.option("--start", "start_text", required=True, help="cycle 1 day 1, YYYY-MM-DD")
@click.option("--dose-time", required=True, help="daily dose time HH:MM, patient's local time")
@click.option("--tz", required=True, help="IANA timezone, e.g. Europe/London")
@click.option(
    "--regimen",
    default="21/28",
    show_default=True,
    help="21/28, continuous, days=1-21/28, days=1,3,5,...,27/28",
)
@click.option(
    "--rules", type=click.Choice([r.value for r in RuleSet]), default="uk", show_default=True
)
@click.option("--can-become-pregnant", is_flag=True)
@click.option("--partner-can-become-pregnant", is_flag=True)
@click.option(
    "--irregular-periods",
    is_flag=True,
    help="us-rems only: periods not regular, so a pregnancy test every 2 weeks",
)
@click.option("--discreet", is_flag=True, help="wording that names neither drug nor illness")
@click.option("--language", default="en-GB", show_default=True)
def enrol(
    name: str,
    phone: str | None,
    telegram: bool,
    start_text: str,
    dose_time: str,
    tz: str,
    regimen: str,
    rules: str,
    can_become_pregnant: bool,
    partner_can_become_pregnant: bool,
    irregular_periods: bool,
    discreet: bool,
    language: str,
) -> None:
    """Enrol a patient; prints the patient id alone on the last line."""
    if bool(phone) == telegram:
        raise v.InvalidInput("give exactly one of --phone (SMS) or --telegram")
    tz_name = v.parse_tz(tz)
    e = Enrolment(
        name=v.parse_name(name),
        tz=tz_name,
        start=v.parse_date(start_text, "start date"),
        dose_time=v.parse_hhmm(dose_time),
        regimen=v.parse_regimen(regimen),
        channel=ChannelKind.TELEGRAM if telegram else ChannelKind.SMS,
        phone=v.parse_phone(phone) if phone else None,
        rules=RuleSet(rules),
        can_become_pregnant=can_become_pregnant,
        partner_can_become_pregnant=partner_can_become_pregnant,
        discreet=discreet,
        language=check_language(language),
        irregular_periods=irregular_periods,
    )

    async def go(service: Service) -> None:
        v.check_start(e.start, _today(service, tz_name))
        patient = await service.care.enrol(e, actor=cli_actor())
        _, course = await service.courses.load_one(patient.id)
        click.echo(
            f"enrolled {patient.name} ({patient.channel.value}), {course.regimen} "
            f"from {course.start}, dose at {course.dose_time:%H:%M} {patient.tz}"
        )
        click.echo(_next_line(course, service.clock.now()))
        if patient.channel is ChannelKind.TELEGRAM:
            from bot.cli.telegram import echo_link

            await echo_link(service, patient.id)
        click.echo(patient.id)

    with_service(go)


def _next_line(course: Course, now: datetime) -> str:
    found = first_reminder(course, now)
    if found is None:
        return "no dose days ahead"
    return f"next dose: {found[0]} at {found[1]:%H:%M}"


@click.group()
def patients() -> None:
    """Patients on the service."""


patients.add_command(patients_import)


@patients.command("list")
@click.option("--json", "as_json", is_flag=True)
def patients_list(as_json: bool) -> None:
    """Every patient with course state."""

    async def go(service: Service) -> None:
        everyone = await service.courses.all_patients()
        loaded = await service.courses.load([p.id for p in everyone])
        rows: list[dict[str, str]] = []
        for p in everyone:
            _, c = loaded[p.id]
            rows.append(
                {
                    "id": p.id,
                    "name": p.name,
                    "channel": p.channel.value,
                    "start": c.start.isoformat(),
                    "regimen": str(c.regimen),
                    "dose_time": f"{c.dose_time:%H:%M}",
                    "tz": p.tz,
                    "end": c.end.isoformat() if c.end else "",
                    "state": course_state(p, c, _today(service, p.tz)),
                }
            )
        if as_json:
            dump(rows)
            return
        if not rows:
            click.echo("no patients yet: enrol one with 'lenabot enrol'")
            return
        click.echo(
            f"{'ID':<10}{'NAME':<22}{'CHANNEL':<10}{'START':<12}{'REGIMEN':<14}"
            f"{'TIME':<7}{'TZ':<22}STATE"
        )
        for r in rows:
            click.echo(
                f"{r['id']:<10}{r['name'][:21]:<22}{r['channel']:<10}{r['start']:<12}"
                f"{r['regimen'][:13]:<14}{r['dose_time']:<7}{r['tz'][:21]:<22}{r['state']}"
            )

    with_service(go)


@click.command()
@click.argument("patient_id")
@click.option("--from", "from_text", help="first local date (default: today)")
@click.option("--days", "days_text", default="35", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="machine-readable JSON array")
def preview(patient_id: str, from_text: str | None, days_text: str, as_json: bool) -> None:
    """The messages of a range of local dates: what was sent (its text as sent), what is
    queued, and what the plan holds beyond the outbox."""
    days = v.parse_days(days_text, "--days", 1, 3650)

    async def go(service: Service) -> None:
        patient, course = await service.courses.load_one(patient_id)
        first = v.parse_date(from_text, "--from") if from_text else _today(service, patient.tz)
        last = first + (days - 1) * date.resolution
        items = preview_items(
            course,
            profile_of(patient),
            plan(course, service.materialiser.settings, first, last),
            await service.outbox.rows(patient_id),
            await service.courses.dose_records(patient_id, first),
            first,
            last,
        )
        if as_json:
            dump(items)
            return
        if not items:
            click.echo(f"nothing planned from {first} to {last}")
        for i in items:
            cd = f"c{i['cycle']} d{i['day']}" if i["cycle"] else ""
            click.echo(
                f"{i['local_date']} {i['local_time']}  {i['kind']:<15}{cd:<9}"
                f"{i['status']:<10}{i['text']}"
            )

    with_service(go)


@click.command()
@click.argument("patient_id")
@click.option("--from", "from_text", help="first day with no capsules (default: today)")
@click.option("--reason", default="", help="for the team's records; never sent to the patient")
def pause(patient_id: str, from_text: str | None, reason: str) -> None:
    """Hold dosing (e.g. low blood counts) without ending the course."""

    async def go(service: Service) -> None:
        patient = await service.courses.get(patient_id)
        today = _today(service, patient.tz)
        start = (
            v.check_near(v.parse_date(from_text, "--from"), today, "--from") if from_text else today
        )
        await service.care.pause(patient_id, start, reason, actor=cli_actor())
        click.echo(f"paused {patient_id} from {start}: no dose reminders until resumed")

    with_service(go)


@click.command()
@click.argument("patient_id")
@click.option("--on", "on_text", help="first day capsules restart (default: today)")
def resume(patient_id: str, on_text: str | None) -> None:
    """End the current hold; dosing restarts on the given day."""

    async def go(service: Service) -> None:
        patient = await service.courses.get(patient_id)
        today = _today(service, patient.tz)
        on = v.check_near(v.parse_date(on_text, "--on"), today, "--on") if on_text else today
        await service.care.resume(patient_id, on, actor=cli_actor())
        click.echo(f"resumed {patient_id}: capsules restart on {on}")

    with_service(go)


@click.command("delay-cycle")
@click.argument("patient_id")
@click.option("--days", "days_text", required=True, help="how many days later (1-90)")
def delay_cycle(patient_id: str, days_text: str) -> None:
    """Start the next cycle later; every later cycle follows."""
    days = v.parse_days(days_text, "--days")

    async def go(service: Service) -> None:
        n, start = await service.care.delay_cycle(patient_id, days, actor=cli_actor())
        click.echo(f"cycle {n} of {patient_id} now starts {start}")

    with_service(go)


@click.command("set-dose-time")
@click.argument("patient_id")
@click.argument("dose_time")
def set_dose_time(patient_id: str, dose_time: str) -> None:
    """Change the daily dose time (patient's local time)."""
    at = v.parse_hhmm(dose_time)

    async def go(service: Service) -> None:
        since = await service.care.set_dose_time(patient_id, at, actor=cli_actor())
        click.echo(
            f"dose time of {patient_id} is {at:%H:%M} from {since}; a dose already "
            "reminded or recorded is never reminded again, and the patient is told"
        )

    with_service(go)


@click.command()
@click.argument("patient_id")
@click.option("--on", "on_text", required=True, help="the last dose day, YYYY-MM-DD")
def end(patient_id: str, on_text: str) -> None:
    """End treatment: no doses after this day; after-treatment messages begin."""

    async def go(service: Service) -> None:
        patient = await service.courses.get(patient_id)
        on = v.check_near(v.parse_date(on_text, "--on"), _today(service, patient.tz), "--on")
        await service.care.end(patient_id, on, actor=cli_actor())
        click.echo(f"course of {patient_id} ends after {on}; after-treatment messages follow")

    with_service(go)


@click.command()
@click.argument("patient_id")
@click.option("--blood-test", "blood_text", required=True, help="date, YYYY-MM-DD")
@click.option("--note", default="", help="up to 40 characters sent with the reminder, e.g. the place")
def appointment(patient_id: str, blood_text: str, note: str) -> None:
    """Add a dated blood-test appointment (reminded at the notice time that day)."""

    note = v.parse_note(note)

    async def go(service: Service) -> None:
        patient = await service.courses.get(patient_id)
        on = v.check_near(
            v.parse_date(blood_text, "--blood-test"), _today(service, patient.tz), "--blood-test"
        )
        await service.care.appointment(patient_id, on, note, actor=cli_actor())
        click.echo(f"blood test for {patient_id} on {on} added")

    with_service(go)


@click.command()
@click.argument("patient_id")
def outbox(patient_id: str) -> None:
    """Every message of the patient, at its local due time: its status, delivery, the text
    as sent (or to be sent), and why it was cancelled or failed."""

    async def go(service: Service) -> None:
        tz = zone((await service.courses.get(patient_id)).tz)
        for r in await service.outbox.rows(patient_id):
            why = r.reason or r.last_error or ""
            local = r.due_at.astimezone(tz)  # when it was (or is) due, on the patient's clock
            click.echo(
                f"{local:%Y-%m-%d %H:%M} {r.kind:<15}{r.status:<10}"
                f"{r.delivery_status or '':<11}{r.text}" + (f"  [{why}]" if why else "")
            )

    with_service(go)


@click.command()
@click.argument("patient_id")
@click.argument("text")
def say(patient_id: str, text: str) -> None:
    """Pretend the patient texted TEXT: the same path a real inbound message takes."""

    async def go(service: Service) -> None:
        patient = await service.courses.get(patient_id)
        reply = await service.conversation.handle(patient, text)
        click.echo(reply.text)

    with_service(go)


@click.command()
@click.argument("patient_id")
@click.argument("text")
def message(patient_id: str, text: str) -> None:
    """Send TEXT from the care team to the patient on their channel (SMS: at most 3 segments).

    Queued in the outbox like every message (after 08:00 when written in the patient's quiet
    hours); refused for a patient who opted out or was forgotten. "-" reads TEXT from stdin."""
    written = sys.stdin.read() if text == "-" else text

    async def go(service: Service) -> None:
        patient = await service.courses.get(patient_id)
        checked = v.parse_message(written, patient.channel is ChannelKind.SMS)
        await service.care.message(patient_id, checked, secrets.token_urlsafe(16),
                                   actor=cli_actor())  # fmt: skip
        click.echo(f"message to {patient_id} queued ({len(checked)} characters); "
                   f"'lenabot outbox {patient_id}' shows when it is sent")  # fmt: skip

    with_service(go)


COMMANDS: list[click.Command] = [
    enrol, patients, preview, pause, resume, delay_cycle, set_dose_time, end, appointment,
    outbox, say, message,
]  # fmt: skip
