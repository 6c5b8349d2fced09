"""The dose-safety invariants of docs/PRODUCT.md (README "Dose safety"), checked on what a
patient's channel actually received and on every reply.

Shared by the hypothesis state machine (tests/integration/dispatch/test_safety_machine.py) and
the simulated week (``python -m bench soak``, bench/soak.py): both record, as their clinic
runs, the course in force and each dose record as it first appears, counted in deliveries so
far, and hand every new delivery and reply to ``SentChecker`` and ``check_reply``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from scheduler.domain.calendar import is_dose_day
from scheduler.domain.guidance import DONE, TAKE_NOW, window_closes
from scheduler.domain.model import Course
from scheduler.domain.outbox import OutboxRow
from scheduler.ports import Outgoing

DATE_WORDS = re.compile(r"\b([A-Z][a-z]{2}) (\d{1,2}) ([A-Z][a-z]{2})\b")
# A reply naming a dose to come: "Next dose: Tue 1 Dec at 09:00", "next one at the usual
# time: ...", "next dose as planned: ...".
NEXT_DOSE = re.compile(
    r"(?:Next dose|next dose|next one at the usual time|next dose as planned|Your first dose)"
    r"(?: as planned)?: ([A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}) at (\d\d:\d\d)"
)
MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
REMINDERS = ("dose", "follow_up", "later")


class Sent(Protocol):
    """One message a channel handed over (tests.fakes.channels.Delivery, bench's own)."""

    @property
    def message(self) -> Outgoing: ...

    @property
    def at(self) -> datetime | None: ...


def named_date(text: str, near: date) -> date:
    """'Tue 1 Dec' as a date, in the year that puts it nearest ``near``."""
    m = DATE_WORDS.search(text)
    assert m is not None, text
    candidates = [date(near.year + k, MONTHS[m[3]], int(m[2])) for k in (-1, 0, 1)]
    return min(candidates, key=lambda d: abs((d - near).days))


@dataclass
class History:
    """What is known of one patient, counted in deliveries so far (the channel's sends)."""

    # (deliveries so far, the course from then on): the course in force at each send.
    courses: list[tuple[int, Course]] = field(default_factory=list)
    # When each day's dose was first recorded, in deliveries so far, and the status then.
    recorded: dict[date, tuple[int, str]] = field(default_factory=dict)
    # Days before this are forgotten and not noted again (the records passed in reach back
    # further than any message can come for a day).
    since: date | None = None

    def note(self, delivered: int, course: Course, records: Mapping[date, str]) -> None:
        """The course as it now stands, and each dose record as it first appears."""
        if not self.courses or self.courses[-1][1] != course:
            self.courses.append((delivered, course))
        for day, status in records.items():
            if self.since is None or day >= self.since:
                self.recorded.setdefault(day, (delivered, status))

    def course_at(self, delivery: int) -> Course:
        found = self.courses[0][1]
        for since, course in self.courses:
            if since <= delivery:
                found = course
        return found

    def forget_before(self, day: date) -> None:
        """Drop dose records older than ``day``, and note none again (a long run keeps its
        memory flat)."""
        self.since = day
        for old in [d for d in self.recorded if d < day]:
            del self.recorded[old]


@dataclass
class SentChecker:
    """Checks each delivery once, in order: invariants 1, 2 and 5.

    ``check`` takes the deliveries not yet checked (``first``: the index of the first of them
    among all deliveries) and the outbox rows they came from, by id.
    """

    reminded: set[tuple[str, date]] = field(default_factory=set)  # (patient, dose day)
    checked: int = 0  # deliveries checked so far

    def check(
        self,
        new: Sequence[Sent],
        rows: Mapping[int, OutboxRow],
        history: Mapping[str, History],
        first: int | None = None,
    ) -> None:
        first = self.checked if first is None else first
        assert first == self.checked, f"deliveries {self.checked}..{first} were never checked"
        for k, d in enumerate(new):
            i = first + k
            m = d.message
            row = rows[int(m.ref)]
            # 5. The outbox keeps the text as it was sent.
            assert row.text == m.text, (row.key, row.text, m.text)
            if m.kind not in REMINDERS:
                continue
            seen = history[m.patient_id]
            course = seen.course_at(i)
            day = row.local_date
            assert d.at is not None
            # 1. One reminder a dose day; only on a dose day of the course as it then stood.
            if m.kind == "dose":
                key = (m.patient_id, day)
                assert key not in self.reminded, f"second dose reminder for {key}"
                self.reminded.add(key)
            assert is_dose_day(course, day), f"{m.kind} for {day}, not a dose day: {m.text}"
            # 1, 2. Nothing after the dose was recorded (LATER still after "take it now").
            recorded = seen.recorded.get(day)
            if recorded is not None and recorded[0] <= i:
                assert m.kind == "later" and recorded[1] == TAKE_NOW, (
                    f"{m.kind} for {day} sent after it was recorded {recorded[1]}: {m.text}"
                )
            # 2. Nothing once the 12-hour window has closed.
            assert d.at < window_closes(course, day), f"{m.kind} for {day} after its window"
        self.checked = first + len(new)

    def forget_before(self, day: date) -> None:
        """Drop reminded days older than ``day``: no reminder can come for them any more
        (the 12-hour window), so a long run keeps its memory flat."""
        self.reminded = {k for k in self.reminded if k[1] >= day}


def check_reply(
    text: str,
    reply_text: str,
    extras: Mapping[str, object],
    at: datetime,
    course: Course,
    records_before: Mapping[date, str],
    records_after: Mapping[date, str],
) -> None:
    """Invariant 3: no reply invites a capsule whose dose is recorded or whose window has
    closed, and no "next dose" it names is a recorded dose."""
    advice = extras.get("advice")
    day = extras.get("dose_date")
    if advice in ("take_now", "too_late_to_snooze", "snoozed", "not_due_yet"):
        assert isinstance(day, date)
        assert records_before.get(day) not in DONE, (text, reply_text)
        assert at < window_closes(course, day), (text, reply_text)
    for named, _ in NEXT_DOSE.findall(reply_text):
        nxt = named_date(named, at.date())
        assert nxt not in records_after, (text, reply_text, dict(records_after))
