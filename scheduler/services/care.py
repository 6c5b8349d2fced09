"""What the care team does to a course: each action checks, writes, re-plans the outbox,
queues a correction telling the patient what changed and appends an audit row (who did it,
the course's values before and after), all in one unit of work.

Checks come first so that a refused action changes nothing. Dates are the patient's local dates.
Every action takes ``actor`` (``scheduler.domain.audit``): ``cli:<user>``, ``telegram:<user
id>``, ``staff:<id>``, or ``system`` (the default: a patient's STOP, a provider's opt-out).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.domain.audit import SYSTEM, changes, course_values
from scheduler.domain.calendar import cycle_start, next_cycle, next_dose_day
from scheduler.domain.corrections import correction, delay_facts, first_dose_at
from scheduler.domain.localtime import after_quiet_hours, local_instant, zone
from scheduler.domain.model import ChannelKind, Course, Kind, Patient, Regimen, Reminder, RuleSet
from scheduler.domain.outbox import CANCELLED, PENDING, PRIORITY_REPLY, Planned
from scheduler.domain.timing import DOSE_WINDOW
from scheduler.ports import Alert, AuditLog, Clock
from scheduler.services.materialise import Materialiser
from scheduler.store.db import unit_of_work
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import FORGOTTEN, SqlAlchemyCourseRepository

ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# A care-team message not sent within a day (an outage) is not sent: by then the team should
# know, and the message may no longer be true.
MESSAGE_LIFETIME = timedelta(hours=24)


class CareError(ValueError):
    """The action does not fit the course as it stands (one sentence, shown to the nurse)."""


def new_patient_id() -> str:
    return "p" + "".join(secrets.choice(ID_ALPHABET) for _ in range(7))


def course_state(patient: Patient, course: Course, today: date) -> str:
    """One word for a nurse's list: opted out, ended, paused, not started or active."""
    if patient.opted_out_at is not None:
        return "opted out"
    if course.end is not None and today > course.end:
        return "ended"
    if any(h.covers(today) for h in course.holds):
        return "paused"
    return "not started" if today < course.start else "active"


@dataclass(frozen=True)
class Enrolment:
    name: str
    tz: str
    start: date
    dose_time: time
    regimen: Regimen
    channel: ChannelKind
    phone: str | None = None
    rules: RuleSet = RuleSet.UK
    can_become_pregnant: bool = False
    partner_can_become_pregnant: bool = False
    discreet: bool = False
    language: str = "en-GB"
    irregular_periods: bool = False


@dataclass
class CareTeam:
    courses: SqlAlchemyCourseRepository
    outbox: SqlAlchemyOutbox
    materialiser: Materialiser
    clock: Clock
    audit: AuditLog

    def today(self, patient: Patient | Course) -> date:
        return self.clock.now().astimezone(zone(patient.tz)).date()

    async def enrol(self, e: Enrolment, *, actor: str = SYSTEM) -> Patient:
        if e.channel is ChannelKind.SMS and not e.phone:
            raise CareError("an SMS patient needs --phone")
        if e.irregular_periods and not (e.rules is RuleSet.US_REMS and e.can_become_pregnant):
            raise CareError(
                "--irregular-periods needs --rules us-rems and --can-become-pregnant"
            )
        async with unit_of_work(self.courses.engine):
            return await self._enrol(e, actor)

    async def _enrol(self, e: Enrolment, actor: str) -> Patient:
        if e.phone and await self.courses.phone_taken(e.phone):
            raise CareError("that phone number is already enrolled: see 'lenabot patients list'")
        now = self.clock.now()
        patient = Patient(
            id=new_patient_id(),
            name=e.name,
            channel=e.channel,
            tz=e.tz,
            language=e.language,
            rules=e.rules,
            created_at=now,
            discreet=e.discreet,
            can_become_pregnant=e.can_become_pregnant,
            partner_can_become_pregnant=e.partner_can_become_pregnant,
            phone=e.phone,
            irregular_periods=e.irregular_periods,
        )
        await self.courses.enrol(
            patient, start=e.start, dose_time=e.dose_time, regimen=e.regimen, now=now
        )
        await self.materialiser.patient(patient.id, now)
        patient, course = await self.courses.load_one(patient.id)
        await self._audit("enrol", actor, patient.id, None, course_values(patient, course))
        return patient

    async def _audit(
        self,
        action: str,
        actor: str,
        patient_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any],
        **facts: object,
    ) -> None:
        """The audit row of a change: the values that changed, before and after (``facts``,
        e.g. the day a dose time applies from, go with the after). Nothing changed: no row."""
        if before is not None:
            before, after = changes(before, after)
            if not after:
                return
        await self.audit.record(
            action, actor=actor, at=self.clock.now(), patient_id=patient_id,
            before=before, after={**after, **facts},
        )  # fmt: skip

    async def _locked(self, patient_id: str) -> tuple[Patient, Course]:
        """The patient and course, the course row locked for the rest of the unit of work."""
        return await self.courses.load_one(patient_id, lock=True)

    async def pause(
        self, patient_id: str, start: date, reason: str, *, actor: str = SYSTEM
    ) -> None:
        async with unit_of_work(self.courses.engine):
            patient, course = await self._locked(patient_id)
            if any(h.end is None for h in course.holds):
                raise CareError("this course is already paused: resume it first")
            if start < course.start:
                raise CareError(f"pause date {start} is before the course starts ({course.start})")
            if course.end is not None and start > course.end:
                raise CareError(f"pause date {start} is after the course ended ({course.end})")
            if any(h.end is not None and h.start <= start < h.end for h in course.holds):
                raise CareError(f"the course is already paused on {start}")
            await self.courses.add_hold(patient_id, start, reason.strip()[:200], self.clock.now())
            after = await self._replan(patient_id)
            await self._correct(patient, course, after, "pause", effective=start)
            await self._changed("pause", actor, patient, course, after)

    async def resume(self, patient_id: str, on: date, *, actor: str = SYSTEM) -> None:
        async with unit_of_work(self.courses.engine):
            patient, course = await self._locked(patient_id)
            open_holds = [h for h in course.holds if h.end is None]
            if not open_holds:
                raise CareError("this course is not paused")
            hold = open_holds[0]
            if on <= hold.start:
                raise CareError(f"resume date {on} must be after the pause began ({hold.start})")
            await self.courses.end_hold(patient_id, hold.start, on, self.clock.now())
            after = await self._replan(patient_id)
            # The first real dose day: a restart date in a break must not name the break.
            restart = next_dose_day(after, on - timedelta(days=1))
            if restart is None:
                await self._correct(patient, course, after, "resume_none")
            else:
                await self._correct(
                    patient, course, after, "resume",
                    restart=restart, dose_time=after.dose_time_on(restart),
                )  # fmt: skip
            await self._changed("resume", actor, patient, course, after)

    async def delay_cycle(
        self, patient_id: str, days: int, *, actor: str = SYSTEM
    ) -> tuple[int, date]:
        """Move the next cycle's day 1 (and every later cycle) ``days`` later."""
        async with unit_of_work(self.courses.engine):
            patient, course = await self._locked(patient_id)
            today = self.today(course)
            n = next_cycle(course, today)
            old = cycle_start(course, n)
            if course.end is not None and old > course.end:
                raise CareError("the course has ended: there is no next cycle to delay")
            await self.courses.add_delay(patient_id, n, days, self.clock.now())
            after = await self._replan(patient_id)
            facts = delay_facts(course, after, n, today)
            await self._correct(
                patient, course, after, "delay" if facts["last"] is None else "delay_keep", **facts
            )
            await self._changed(
                "delay_cycle", actor, patient, course, after,
                cycle=n, cycle_start_was=old, cycle_start=cycle_start(after, n),
            )  # fmt: skip
            return n, cycle_start(after, n)

    async def set_dose_time(self, patient_id: str, at: time, *, actor: str = SYSTEM) -> date:
        """From today (or tomorrow, when today's reminder went or the dose is recorded) doses
        are at ``at``; the days before keep their time. Returns the first day it applies."""
        async with unit_of_work(self.courses.engine):
            patient, course = await self._locked(patient_id)
            today = self.today(course)
            records = await self.courses.dose_records(patient_id, today - timedelta(days=1))
            status = await self.outbox.status_of(patient_id, f"{Kind.DOSE.value}:{today}")
            reminded = status not in (None, PENDING, CANCELLED)
            # Today keeps its time when its reminder went, its dose is recorded, or the new
            # time's 12-hour window would already have closed (moving it would lose the dose).
            closed = self.clock.now() >= local_instant(today, at, zone(course.tz)) + DOSE_WINDOW
            since = today + timedelta(days=1) if reminded or closed or today in records else today
            if at == course.dose_time:
                return since
            await self.courses.set_dose_time(patient_id, at, since, self.clock.now())
            after = await self._replan(patient_id)
            sent = frozenset({today} if reminded else ())
            first = first_dose_at(after, at, records, since, sent)
            if first is not None:
                await self._correct(patient, course, after, "dose_time", dose_time=at, first=first)
            await self._changed("set_dose_time", actor, patient, course, after, since=since)
            return since

    async def end(self, patient_id: str, on: date, *, actor: str = SYSTEM) -> None:
        """The last dose day is ``on``: no capsules after it, after-treatment messages follow
        (at once for a date already past), and a pause after it is never announced."""
        async with unit_of_work(self.courses.engine):
            patient, course = await self._locked(patient_id)
            if on < course.start:
                raise CareError(f"end date {on} is before the course starts ({course.start})")
            await self.courses.update_course(patient_id, self.clock.now(), end_date=on)
            after = await self._replan(patient_id)
            past = on < self.today(course)
            await self._correct(patient, course, after, "end_past" if past else "end", end=on)
            await self._changed("end", actor, patient, course, after)

    async def appointment(
        self, patient_id: str, on: date, note: str = "", *, actor: str = SYSTEM
    ) -> None:
        async with unit_of_work(self.courses.engine):
            patient, course = await self._locked(patient_id)
            note = note.strip()[:120]
            await self.courses.add_appointment(patient_id, on, note, self.clock.now())
            after = await self._replan(patient_id)
            await self._correct(patient, course, after, "appointment", on=on, note=note)
            await self._changed("appointment", actor, patient, course, after)

    async def _changed(
        self, action: str, actor: str, patient: Patient, before: Course, after: Course,
        **facts: object,
    ) -> None:  # fmt: skip
        await self._audit(
            action, actor, patient.id,
            course_values(patient, before), course_values(patient, after), **facts,
        )  # fmt: skip

    async def _replan(self, patient_id: str) -> Course:
        """Re-plan in the caller's unit of work; the course as it now stands."""
        await self.materialiser.patient(patient_id, self.clock.now())
        return (await self.courses.load_one(patient_id))[1]

    async def _correct(
        self, patient: Patient, before: Course, after: Course, change: str, **facts: object
    ) -> None:
        """Queue the correction telling the patient what now holds (``scheduler.domain.corrections``).

        Nothing for an opted-out patient (they get nothing until START, which re-plans)."""
        if patient.opted_out_at is not None:
            return
        now = self.clock.now()
        reminder = correction(change, before, after, now, **facts)
        prefix = f"{Kind.CHANGE.value}:{reminder.local_date}"
        n = await self.outbox.count_keys(patient.id, prefix) + 1
        await self.outbox.add_extra(
            patient.id,
            Planned(reminder, self.materialiser.render(reminder, patient)),
            f"{prefix}:{n}",
            now,
            priority=PRIORITY_REPLY,
        )

    async def opt_out(
        self, patient_id: str, when: datetime, how: str, *, actor: str = SYSTEM
    ) -> Alert:
        """The one way a patient stops: remembered, every pending message cancelled, in the
        caller's unit of work (or one of its own). ``how`` ends the nurses' alert, e.g.
        "texted a STOP word", and goes in the audit row.

        Returns the alert for the caller to raise once the unit of work has committed (it may
        wait on Telegram, which must not hold a database turn)."""
        async with unit_of_work(self.courses.engine):
            was = (await self.courses.get(patient_id)).opted_out_at is not None
            await self.courses.set_opted_out(patient_id, when)
            await self.outbox.cancel_pending(patient_id, self.clock.now(), "the patient opted out")
            await self._audit(
                "opt_out", actor, patient_id, {"opted_out": was}, {"opted_out": True}, how=how
            )
        return Alert("opt_out", f"patient {patient_id} opted out ({how})", patient_id)

    async def opt_in(self, patient_id: str, *, actor: str = SYSTEM) -> None:
        async with unit_of_work(self.courses.engine):
            was = (await self.courses.get(patient_id)).opted_out_at is not None
            await self.courses.set_opted_out(patient_id, None)
            await self.replan(patient_id)
            await self._audit("opt_in", actor, patient_id, {"opted_out": was}, {"opted_out": False})

    async def follow_ups(self, patient_id: str, on: bool, *, actor: str = SYSTEM) -> None:
        """Turn the "no reply yet" nudge after an unanswered dose on or off for one patient."""
        async with unit_of_work(self.courses.engine):
            was = (await self.courses.get(patient_id)).follow_ups
            await self.courses.set_follow_ups(patient_id, on)
            await self.replan(patient_id)
            await self._audit("follow_ups", actor, patient_id, {"follow_ups": was},
                              {"follow_ups": on})  # fmt: skip

    async def forget(self, patient_id: str, *, actor: str = SYSTEM) -> dict[str, int]:
        """Erase the patient's personal data (``SqlAlchemyCourseRepository.forget``) and record
        the erasure in the audit trail, which keeps its earlier rows: they hold nothing
        personal. What was erased, counted."""
        async with unit_of_work(self.courses.engine):
            done = await self.courses.forget(patient_id, self.clock.now())
            await self.audit.record(
                "forget", actor=actor, at=self.clock.now(), patient_id=patient_id,
                after={"erased": done, "opted_out": True},
            )  # fmt: skip
        return done

    async def message(
        self, patient_id: str, text: str, token: str, *, actor: str = SYSTEM
    ) -> bool:
        """Queue the team's own ``text`` (already checked against the channel's budget:
        ``bot.conversation.validate.parse_message``) for the patient, through the outbox like
        every message, so it is sent once, shows in the thread with its delivery status, and
        waits for 08:00 when written in the patient's quiet hours (21:00-08:00).

        ``token`` is the sending form's own (one per form shown): the outbox row's key is made
        of it, so a form posted twice (a double click, a retry) queues one message. Returns
        False when that token's message was already queued.

        The audit row names the message (its outbox key), its length and channel, never its
        words: the audit trail can be neither changed nor erased, while the words are in the
        outbox row, which ``forget`` scrubs with the rest of the conversation."""
        if not text.strip():
            raise CareError("write the message to send")
        async with unit_of_work(self.courses.engine):
            patient, _ = await self._locked(patient_id)
            if patient.opted_out_at is not None:
                erased = patient.name == FORGOTTEN and not (
                    patient.phone or patient.telegram_chat_id
                )
                why = "was forgotten (erased)" if erased else "opted out"
                raise CareError(f"this patient {why}: nothing can be sent to them")
            address = patient.phone if patient.channel is ChannelKind.SMS else (
                patient.telegram_chat_id
            )  # fmt: skip
            if address is None:
                raise CareError("this patient has not linked Telegram yet: nothing reaches them")
            now = self.clock.now()
            tz = zone(patient.tz)
            due = after_quiet_hours(now, tz)
            local = due.astimezone(tz)
            key = f"{Kind.MESSAGE.value}:{token}"
            reminder = Reminder(
                kind=Kind.MESSAGE, local_date=local.date(), due_at=due,
                expires_at=due + MESSAGE_LIFETIME,
                local_time=local.time().replace(second=0, microsecond=0),
            )  # fmt: skip
            added = await self.outbox.add_extra(
                patient.id, Planned(reminder, text), key, now, priority=PRIORITY_REPLY
            )
            if added:
                await self._audit(
                    "message", actor, patient.id, None,
                    {"key": key, "channel": patient.channel.value, "characters": len(text),
                     "due_at": due.isoformat()},
                )  # fmt: skip
            return added

    async def replan(self, patient_id: str) -> None:
        await self.materialiser.patient(patient_id, self.clock.now())
