"""Working-day arithmetic for the LAPOR! deadlines: no Saturdays, Sundays, holidays or cuti bersama.

National holidays and cuti bersama come from the `holidays` package (its 'government' category is
the cuti bersama list); a district's own holidays are passed in as `local` (the `local_holidays`
table). Everything here is pure: same input, same answer, no clock and no database.

A deadline of N working days counts the N-th working day strictly after the day of the event (the
event's own day never counts, even when it is a working day) and ends at midnight after that day,
district time. A report sent on Monday 09.00 is due for verification by the end of Thursday.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

MAX_WORKING_DAYS = 366  # far beyond any deadline we use; bounds the day-by-day walk
_CATEGORIES = ("public", "government")  # government: cuti bersama


@functools.cache
def _national() -> holidays.HolidayBase:
    return holidays.country_holidays("ID", categories=_CATEGORIES, language="id")


def national_holidays(year: int) -> dict[date, str]:
    """National holidays and cuti bersama of one year, with their Indonesian names, in date order."""
    return dict(sorted(holidays.country_holidays("ID", categories=_CATEGORIES, language="id", years=year).items()))


def is_working_day(day: date, local: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in _national() and day not in local


def add_working_days(start: date, count: int, local: Collection[date] = ()) -> date:
    """The `count`-th working day after `start` (`start` itself is day 0 and never counts)."""
    if not 0 <= count <= MAX_WORKING_DAYS:
        raise ValueError(f"count must be between 0 and {MAX_WORKING_DAYS}, got {count}")
    day = start
    remaining = count
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, local):
            remaining -= 1
    return day


def deadline(moment: datetime, count: int, tz: ZoneInfo, local: Collection[date] = ()) -> datetime:
    """Midnight (district time) after the `count`-th working day following `moment`, as an aware time."""
    due_day = add_working_days(moment.astimezone(tz).date(), count, local)
    return datetime.combine(due_day + timedelta(days=1), time(0), tzinfo=tz)


def due_day(deadline_moment: datetime, tz: ZoneInfo) -> date:
    """The last day on which a deadline is still met (the day before its midnight)."""
    return (deadline_moment.astimezone(tz) - timedelta(microseconds=1)).date()
