"""The last word before a dose message leaves: may this reminder, follow-up or LATER nudge go?

Pure: the course as it stands, the patient's dose records and ``now`` in, a reason to cancel
(or None) out. The dispatcher asks it in the transaction that claims or re-confirms a row
(``scheduler.services.dispatch``), so a stale plan can never send a second "take your capsule": the
planner may lag behind a dose report or a nurse's change; this check does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from scheduler.domain.calendar import is_dose_day, on_hold
from scheduler.domain.guidance import TAKE_NOW, window_closes
from scheduler.domain.model import Course, Kind

# The kinds that ask the patient to take a capsule, or to say whether they did.
DOSE_KINDS = frozenset({Kind.DOSE.value, Kind.FOLLOW_UP.value, Kind.LATER.value})


def blocked(
    kind: str, local_date: date, course: Course, records: Mapping[date, str], now: datetime
) -> str | None:
    """Why a ``kind`` message about the dose of ``local_date`` must not be sent now, or None.

    - Any record of that day's dose stops its reminder and its follow-up; a LATER nudge still
      goes after "take it now" (the patient asked for it), never after anything else.
    - No message about a day that is not a dose day: a break, a hold, before the start or
      after the end (the course as it stands now, not as it was planned).
    - Nothing once the dose's 12-hour window has closed (at the dose time in force that day).
    """
    if kind not in DOSE_KINDS:
        return None
    status = records.get(local_date)
    if status is not None and not (kind == Kind.LATER.value and status == TAKE_NOW):
        return f"the dose of {local_date} is recorded ({status})"
    if course.opted_out:
        return "the patient opted out"
    if not is_dose_day(course, local_date):
        if local_date < course.start:
            return f"{local_date} is before the course starts"
        if course.end is not None and local_date > course.end:
            return f"{local_date} is after the course ended"
        if on_hold(course, local_date):
            return f"the course is paused on {local_date}"
        return f"{local_date} is not a dose day"
    if now >= window_closes(course, local_date):
        return f"the 12-hour window of the dose of {local_date} has closed"
    return None
