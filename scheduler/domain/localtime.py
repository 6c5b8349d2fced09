"""Wall-clock times in a patient's zone, with the DST rules the product promises.

A local time that does not exist (spring forward) moves to the first valid minute after
the gap; one that happens twice (fall back) resolves to the first occurrence (fold=0).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimezoneError(ValueError):
    pass


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``, or a clear error."""
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        raise UnknownTimezoneError(
            f"unknown timezone {name!r}: use an IANA name like Europe/London"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezoneError(
            f"unknown timezone {name!r}: use an IANA name like Europe/London"
        ) from exc


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``at`` on ``day`` in ``tz`` (gap -> first valid minute; overlap -> first)."""
    if at.tzinfo is not None or at.fold:
        # Normalised before the cache: aware times that compare equal may differ on the wall.
        at = at.replace(tzinfo=None, fold=0)
    return _local_instant(day, at, tz)


# Pure, and planning asks the same few (date, dose time, zone) questions for thousands of
# patients: a bounded cache turns most of them into one lookup.
@lru_cache(maxsize=32768)
def _local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    naive = datetime.combine(day, at)
    # Gaps are whole minutes; the longest (a skipped calendar day, Apia 2011) is 24 hours.
    for _ in range(2 * 24 * 60 + 1):
        instant = naive.replace(tzinfo=tz).astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) == naive:  # the wall time exists
            return instant
        naive = (naive + timedelta(minutes=1)).replace(second=0, microsecond=0)
    raise ValueError(f"no valid local time near {day} {at} in {tz.key}")  # pragma: no cover


def end_of_local_day(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day after ``day`` begins."""
    return local_instant(day + timedelta(days=1), time(0, 0), tz)


def local_date_of(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz)


# No routine message between these local times: one due then waits for the morning.
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)


def after_quiet_hours(instant: datetime, tz: ZoneInfo) -> datetime:
    """``instant``, or 08:00 local after it when it falls between 21:00 and 08:00 local."""
    local = instant.astimezone(tz)
    wall = local.time()
    if QUIET_UNTIL <= wall < QUIET_FROM:
        return instant
    day = local.date() if wall < QUIET_UNTIL else local.date() + timedelta(days=1)
    return local_instant(day, QUIET_UNTIL, tz)
