"""When a planned message is due and until when: at a local wall time, or at once if late."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from scheduler.domain.localtime import after_quiet_hours, end_of_local_day, local_instant
from scheduler.domain.model import Kind, PlanSettings, Reminder

DOSE_WINDOW = timedelta(hours=12)
# A notice sent at once (an end recorded late) still gets this long to reach the patient.
NOTICE_MIN_LIFE = timedelta(hours=12)

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=32768)
def slot(day: date, at: time, tz: ZoneInfo) -> tuple[datetime, time, datetime]:
    """(due instant, local wall time to the minute, end of the local day) of ``at`` on ``day``.

    Cached: thousands of patients share a handful of zones, dose times and dates.
    """
    due = local_instant(day, at, tz)
    return (
        due,
        due.astimezone(tz).time().replace(second=0, microsecond=0),
        end_of_local_day(day, tz),
    )


def notice_on(
    kind: Kind, day: date, settings: PlanSettings, tz: ZoneInfo, **facts: object
) -> Reminder:
    due, wall, expires = slot(day, settings.notice_time, tz)
    return Reminder(
        kind=kind,
        local_date=day,
        due_at=due,
        expires_at=expires,
        local_time=wall,
        facts={"date": day, **facts},
    )


def at_once(notice: Reminder, recorded: datetime | None, tz: ZoneInfo) -> Reminder:
    """``notice`` as planned, or, if recorded after its time, as soon as quiet hours allow."""
    if recorded is None or recorded <= notice.due_at:
        return notice
    due = after_quiet_hours(recorded, tz)
    day = due.astimezone(tz).date()
    return Reminder(
        kind=notice.kind,
        local_date=day,
        due_at=due,
        expires_at=max(end_of_local_day(day, tz), due + NOTICE_MIN_LIFE),
        local_time=due.astimezone(tz).time().replace(second=0, microsecond=0),
        facts=dict(notice.facts),
    )
