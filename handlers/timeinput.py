"""Dates and times as officials type them, in district time: "30-11-2026 09.00", "30/11/2026 09:00".

Indonesians write the day first and often a dot between hours and minutes; a trailing zone name is
accepted only if it is the district's own (typing WITA in a WIB district is a mistake worth catching).
The result is an aware UTC time, ready to store.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

_DATE = r"(?P<day>\d{1,2})[-/.](?P<month>\d{1,2})[-/.](?P<year>\d{4}|\d{2})"
_ISO_DATE = r"(?P<iyear>\d{4})-(?P<imonth>\d{1,2})-(?P<iday>\d{1,2})"
_TIME = r"(?:(?:pukul|jam|at)\s+)?(?P<hour>\d{1,2})[.:](?P<minute>\d{2})"
_ZONE = r"(?:\s*(?P<zone>[a-z]{3,4}))?"
_FULL = re.compile(rf"^\s*(?:{_DATE}|{_ISO_DATE})\s*(?:,\s*)?{_TIME}{_ZONE}\s*$", re.IGNORECASE)
_TIME_ONLY = re.compile(rf"^\s*{_TIME}{_ZONE}\s*$", re.IGNORECASE)
MAX_INPUT = 40


def parse_local_datetime(text: str, tz: ZoneInfo, on_date: date | None = None) -> datetime | None:
    """The typed moment in UTC, or None if it is not a valid date and time.

    With `on_date`, a time alone ("11.00") means that time on that (district) date.
    """
    text = text[:MAX_INPUT]
    match = _FULL.match(text)
    if match:
        if match["day"]:
            year = int(match["year"])
            day = _date(year + 2000 if year < 100 else year, int(match["month"]), int(match["day"]))
        else:
            day = _date(int(match["iyear"]), int(match["imonth"]), int(match["iday"]))
    elif on_date is not None and (match := _TIME_ONLY.match(text)):
        day = on_date
    else:
        return None
    if day is None or not 2000 <= day.year <= 2100:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        return None
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    zone = match["zone"]
    if zone and zone.upper() != (local.tzname() or "").upper():
        return None
    return local.astimezone(UTC)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
