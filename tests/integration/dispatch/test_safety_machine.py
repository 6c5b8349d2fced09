"""The safety invariants of docs/PRODUCT.md, over random orders of events, checked on what the
patient's channel actually received (and on every reply).

A hypothesis state machine drives the real code (planner, outbox, dispatcher with a recording
channel, conversation, care actions, confirmations) on SQLite with a manual clock: patients
enrolled on 21/28, continuous and custom regimens in London, New York and Kolkata, at 00:15,
02:30, 09:00, 20:00 or 23:30, starting in the past or the future; the clock moving by minutes,
hours or days across daylight-saving changes; patients texting TAKEN, MISSED, LATER, "took it
last night", "missed yesterday", NEXT, STOP and START; nurses changing dose times, pausing,
resuming, delaying cycles, ending courses (past and future dates) and booking blood tests.

After every step:
1. at most one dose reminder per patient per local dose day, none once that day's dose is
   recorded, none on a day that was not a dose day when it was sent (break, hold, before the
   start, after the end);
2. no follow-up or LATER nudge after the dose was recorded (a LATER still may after "take it
   now") or once its 12-hour window had closed;
3. no reply tells a patient to take a capsule whose dose is recorded or whose window has
   closed, and no "next dose" a reply names is a recorded dose;
4. every change the team makes is corrected at once (at 08:00 after quiet hours, unless a
   dose before then is touched), naming the new date, and it is delivered when due;
5. what was sent is what is stored: the outbox keeps each message's text as sent, and the
   preview shows sent rows as sent with that text.

CI runs ``SAFETY_EXAMPLES`` (default 200) examples; ``SAFETY_EXAMPLES=5000 make test`` runs a
long profile. Failures hypothesis found are kept as explicit regression tests at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bench.invariants import History, SentChecker, check_reply
from bot.conversation.conversation import Reply
from bot.conversation.preview import preview_items
from messages.render import profile_of
from scheduler.domain.calendar import is_dose_day
from scheduler.domain.localtime import QUIET_FROM, QUIET_UNTIL, after_quiet_hours, zone
from scheduler.domain.model import ChannelKind, Course, Patient
from scheduler.domain.outbox import OutboxRow
from scheduler.domain.plan import plan
from scheduler.services.care import CareError
from scheduler.store.db import make_engine
from tests.conftest import create_tables
from tests.integration.clinic import Clinic

T = TypeVar("T")
EXAMPLES = int(os.environ.get("SAFETY_EXAMPLES", "200"))

ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata")
DOSE_TIMES = (time(0, 15), time(2, 30), time(9, 0), time(20, 0), time(23, 30))
REGIMENS = ("21/28", "continuous", "days=1-14/21", "days=1,3,5,...,27/28")
# Saturdays before a clock change: Europe 25 Oct 2026 and 28 Mar 2027, America 1 Nov 2026
# and 14 Mar 2027; Kolkata never changes.
STARTS = (
    datetime(2026, 10, 24, 6, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 13, 0, tzinfo=UTC),
    datetime(2027, 3, 13, 20, 0, tzinfo=UTC),
    datetime(2027, 3, 27, 4, 0, tzinfo=UTC),
)
TEXTS = ("TAKEN", "done", "MISSED", "forgot", "LATER", "took it last night", "missed yesterday",
         "took it yesterday", "NEXT", "STOP", "START")  # fmt: skip


@dataclass
class Said:
    """A reply, with what held when it was given."""

    patient: str
    text: str
    reply: Reply
    at: datetime
    records_before: dict[date, str]
    records_after: dict[date, str]
    course: Course


@dataclass(frozen=True)
class Change:
    """A nurse's change, when it was made, and the correction row it queued."""

    patient: str
    change: str
    facts: dict[str, Any]
    at: datetime
    row_id: int


@dataclass
class Seen:
    """What the machine knows of one patient."""

    patient: Patient
    history: History = field(default_factory=History)
    opted_out: bool = False
    last_opt_out: datetime | None = None  # the latest STOP seen, even after a START


class SafetyMachine(RuleBasedStateMachine):
    patients = Bundle("patients")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.folder = tempfile.mkdtemp(prefix="lenabot-safety-")
        self.engine = make_engine(f"sqlite+aiosqlite:///{self.folder}/machine.db")
        self.run(create_tables(self.engine))
        self.clinic: Clinic | None = None
        self.seen: dict[str, Seen] = {}
        self.said: list[Said] = []
        self.changes: list[Change] = []
        self.sent = SentChecker()
        self.previewed = 0  # deliveries looked for in the preview so far
        self.replies_checked = 0

    def run(self, coro: Awaitable[T]) -> T:
        return self.runner.run(coro)  # type: ignore[arg-type]

    def teardown(self) -> None:
        try:
            self.run(self.engine.dispose())
        finally:
            self.runner.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def c(self) -> Clinic:
        assert self.clinic is not None
        return self.clinic

    @property
    def now(self) -> datetime:
        return self.c.clock.now()

    # -- setup and bookkeeping -------------------------------------------------------------

    @initialize(start=st.sampled_from(STARTS))
    def begin(self, start: datetime) -> None:
        self.clinic = Clinic.build(self.engine, start)

    async def _snapshot(self, pid: str) -> None:
        """Note the course as it now stands and each dose record as it first appears."""
        seen = self.seen[pid]
        patient, course = await self.c.courses.load_one(pid)
        seen.patient = patient
        seen.opted_out = patient.opted_out_at is not None
        if patient.opted_out_at is not None:
            seen.last_opt_out = patient.opted_out_at
        records = await self.c.courses.dose_records(pid, date(2000, 1, 1))
        seen.history.note(len(self.c.channel.deliveries), course, records)

    def _after(self, pid: str) -> None:
        self.run(self._snapshot(pid))

    # -- rules -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.seen) < 3)
    @rule(
        target=patients,
        tz=st.sampled_from(ZONES),
        dose_time=st.sampled_from(DOSE_TIMES),
        regimen=st.sampled_from(REGIMENS),
        start=st.integers(-40, 10),
        telegram=st.booleans(),
        pregnant=st.booleans(),
    )
    def enrol(
        self, tz: str, dose_time: time, regimen: str, start: int, telegram: bool, pregnant: bool
    ) -> str:
        today = self.now.astimezone(zone(tz)).date()
        patient = self.run(self.c.enrol(
            start=today + timedelta(days=start), dose_time=dose_time, tz=tz, regimen=regimen,
            channel=ChannelKind.TELEGRAM if telegram else ChannelKind.SMS,
            can_become_pregnant=pregnant,
        ))  # fmt: skip
        self.seen[patient.id] = Seen(patient)
        self._after(patient.id)
        return patient.id

    @rule(minutes=st.integers(1, 59))
    def wait_minutes(self, minutes: int) -> None:
        self._advance(timedelta(minutes=minutes))

    @rule(hours=st.integers(1, 12))
    def wait_hours(self, hours: int) -> None:
        self._advance(timedelta(hours=hours))

    @rule(days=st.integers(1, 3), hours=st.integers(0, 23))
    def wait_days(self, days: int, hours: int) -> None:
        self._advance(timedelta(days=days, hours=hours))

    def _advance(self, by: timedelta) -> None:
        self.run(self.c.run_until(self.now + by))
        for pid in self.seen:
            self._after(pid)  # the confirmations sweep records unconfirmed doses

    @rule(pid=patients, text=st.sampled_from(TEXTS))
    def text(self, pid: str, text: str) -> None:
        before = self.run(self.c.courses.dose_records(pid, date(2000, 1, 1)))
        _, course = self.run(self.c.courses.load_one(pid))
        reply = self.run(self.c.say(self.seen[pid].patient, text))
        after = self.run(self.c.courses.dose_records(pid, date(2000, 1, 1)))
        self.said.append(Said(pid, text, reply, self.now, before, after, course))
        self._after(pid)

    def _care(self, pid: str, change: str, **facts: Any) -> None:
        """A nurse's action; one the course refuses must change nothing. A change queues one
        correction (none for an opted-out patient, or a dose time with nothing to move)."""
        before = {r.id for r in self.run(self.c.outbox.rows(pid))}
        _, course = self.run(self.c.courses.load_one(pid))
        opted_out = self.seen[pid].opted_out
        try:
            self.run(getattr(self.c.care, change)(pid, **facts))
        except CareError:
            assert {r.id for r in self.run(self.c.outbox.rows(pid))} == before
            return
        new = [r for r in self.run(self.c.outbox.rows(pid))
               if r.id not in before and r.kind == "change"]  # fmt: skip
        assert len(new) <= 1, new
        if opted_out:
            assert new == []
        elif change == "set_dose_time":
            assert new or facts["at"] == course.dose_time or not self._doses_ahead(pid)
        else:
            assert new, f"no correction for {change} {facts}"
        if new:
            self.changes.append(Change(pid, change, facts, self.now, new[0].id))
        self._after(pid)

    def _doses_ahead(self, pid: str) -> bool:
        """A dose day after today (today's may have been reminded already: not moved)."""
        _, course = self.run(self.c.courses.load_one(pid))
        today = self._local_today(pid)
        return any(is_dose_day(course, today + timedelta(days=k)) for k in range(1, 60))

    def _local_today(self, pid: str) -> date:
        return self.now.astimezone(zone(self.seen[pid].patient.tz)).date()

    @rule(pid=patients, at=st.sampled_from(DOSE_TIMES))
    def set_dose_time(self, pid: str, at: time) -> None:
        self._care(pid, "set_dose_time", at=at)

    @rule(pid=patients, offset=st.integers(-1, 5))
    def pause(self, pid: str, offset: int) -> None:
        self._care(pid, "pause", start=self._local_today(pid) + timedelta(days=offset), reason="")

    @rule(pid=patients, offset=st.integers(0, 10))
    def resume(self, pid: str, offset: int) -> None:
        self._care(pid, "resume", on=self._local_today(pid) + timedelta(days=offset))

    @rule(pid=patients, days=st.integers(1, 10))
    def delay_cycle(self, pid: str, days: int) -> None:
        self._care(pid, "delay_cycle", days=days)

    @rule(pid=patients, offset=st.integers(-5, 20))
    def end(self, pid: str, offset: int) -> None:
        self._care(pid, "end", on=self._local_today(pid) + timedelta(days=offset))

    @rule(pid=patients, offset=st.integers(0, 14))
    def appointment(self, pid: str, offset: int) -> None:
        self._care(pid, "appointment", on=self._local_today(pid) + timedelta(days=offset))

    # -- invariants ------------------------------------------------------------------------

    def _rows(self) -> dict[int, OutboxRow]:
        return {r.id: r for r in self.run(self.c.outbox.rows())} if self.clinic else {}

    @invariant()
    def what_was_sent_is_safe_and_stored(self) -> None:
        """Each delivery is checked once, when it is new (a sent row never changes again):
        invariants 1, 2 and 5 (bench/invariants.py)."""
        deliveries = self.c.channel.deliveries if self.clinic else []
        if len(deliveries) == self.sent.checked:
            return
        history = {pid: seen.history for pid, seen in self.seen.items()}
        self.sent.check(deliveries[self.sent.checked :], self._rows(), history)

    @invariant()
    def no_reply_invites_a_capsule_it_should_not(self) -> None:
        """Invariant 3, on every reply (bench/invariants.py)."""
        for s in self.said[self.replies_checked :]:
            check_reply(s.text, s.reply.text, s.reply.extras, s.at, s.course,
                        s.records_before, s.records_after)  # fmt: skip
        self.replies_checked = len(self.said)

    @invariant()
    def every_change_is_corrected_at_once_naming_the_new_date(self) -> None:
        if not self.changes:
            return
        rows = self._rows()
        for ch in self.changes:
            row = rows[ch.row_id]
            tz = zone(self.seen[ch.patient].patient.tz)
            quiet = after_quiet_hours(ch.at, tz)
            # 4. At once, or at 08:00 when made in quiet hours.
            assert row.due_at in (ch.at, quiet), (ch.change, row.due_at, ch.at)
            if row.due_at != ch.at:
                wall = ch.at.astimezone(tz).time()
                assert wall >= QUIET_FROM or wall < QUIET_UNTIL, (ch.change, wall)
            named = _named(ch.change, ch.facts, row)
            assert named is None or named in row.text, (ch.change, named, row.text)
            # Delivered when due, unless the patient opted out since (a STOP cancels what is
            # queued, and a START later does not bring a correction back).
            if row.due_at <= self.now - timedelta(minutes=1) and row.expires_at > self.now:
                stopped = self.seen[ch.patient].last_opt_out
                if stopped is None or stopped < ch.at:
                    assert row.status == "sent", (row.key, row.status, row.reason)

    @invariant()
    def preview_shows_sent_rows_as_sent(self) -> None:
        """For each patient sent something since the last look: every message they were ever
        sent shows in the preview as sent, with the text they got."""
        deliveries = self.c.channel.deliveries if self.clinic else []
        fresh = {d.message.patient_id for d in deliveries[self.previewed :]}
        self.previewed = len(deliveries)
        for pid in fresh:
            sent = [d.message for d in deliveries if d.message.patient_id == pid]
            rows = {r.id: r for r in self.run(self.c.outbox.rows(pid))}
            days = [rows[int(m.ref)].local_date for m in sent]
            first, last = min(days), max(days)
            patient, course = self.run(self.c.courses.load_one(pid))
            items = preview_items(
                course, profile_of(patient), plan(course, self.c.materialiser.settings, first, last),
                list(rows.values()), self.run(self.c.courses.dose_records(pid, first)), first, last,
            )  # fmt: skip
            shown = {(i["kind"], i["due_at"], i["text"]) for i in items if i["status"] == "sent"}
            for m in sent:
                row = rows[int(m.ref)]
                due = row.due_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                assert (row.kind, due, m.text) in shown, (row.key, m.text)


def _named(change: str, facts: dict[str, Any], row: OutboxRow) -> str | None:
    """The words the correction of ``change`` must contain."""
    from messages.render import fmt_date, fmt_time

    if change == "pause":
        return fmt_date(facts["start"])
    if change == "end":
        return None if "has ended" in row.text else fmt_date(facts["on"])
    if change == "appointment":
        return fmt_date(facts["on"])
    if change == "set_dose_time":
        return fmt_time(facts["at"])
    return None  # resume and delay name dates the course computes: checked by their tests


SafetyMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# About a second an example: the long profile needs far more than the suite's 300 s limit.
TestSafetyMachine = pytest.mark.timeout(max(300, EXAMPLES * 3))(SafetyMachine.TestCase)
