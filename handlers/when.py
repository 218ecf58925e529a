"""Typed dates and times, the way Indonesian officials write them, read in the district's time zone.

One reader for every official who types a moment (a broadcast's send time, a poll's closing time, a
consultation's start and end, the CLI). Accepted: `25/12 08.00`, `25-12-2026 8:00`, `30.11.2026 09.00`,
`2026-12-25 08:00`, `30-11-2026, 09.00`, `besok 08.00` / `tomorrow 8:00`, `lusa 10.00`,
`hari ini 16.00` / `today 16:00`, or just `16.00` (today, or the day given as `on_date`). Words like
`jam`, `pukul` and `at` are ignored. A zone name is accepted only if it is the district's own (typing
WITA in a WIB district is a mistake worth catching). A date without a year that has passed this year
means next year. The result is an aware UTC time, ready to store.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_INPUT = 40

_TIME = re.compile(r"(?<![\d/.:-])(\d{1,2})[.:](\d{2})(?![\d/.:-])")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DATE = re.compile(r"\b(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{2}|\d{4}))?\b")  # day first; with dots only with a year
_DAY_WORDS = {"hari ini": 0, "today": 0, "besok": 1, "tomorrow": 1, "lusa": 2}
_NOISE = re.compile(r"\b(jam|pukul|pkl|at|tanggal|tgl)\b\.?|,")
_ZONE = re.compile(r"\b(wib|wita|wit)\b\.?")


def parse_when(text: str, now: datetime, tz: ZoneInfo, on_date: date | None = None) -> datetime | None:
    """The moment a typed date and time names (aware, UTC), or None if it names none.

    A time alone means that time on `on_date` (a district date) if given, else today.
    """
    if not text or len(text) > MAX_INPUT:
        return None
    typed = _NOISE.sub(" ", text.casefold())
    zones = _ZONE.findall(typed)
    typed = _ZONE.sub(" ", typed)
    clock = _TIME.search(typed)
    if clock is None:
        return None
    hour, minute = int(clock.group(1)), int(clock.group(2))
    if hour > 23 or minute > 59:
        return None
    rest = " ".join((typed[:clock.start()] + " " + typed[clock.end():]).split())
    try:
        day, explicit_year = _day(rest, on_date or now.astimezone(tz).date())
    except ValueError:
        return None
    if day is None or not 2000 <= day.year <= 2100:
        return None
    moment = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if any(zone.upper() != (moment.tzname() or "").upper() for zone in zones):
        return None
    if not explicit_year and moment < now and rest and not _is_day_word(rest):
        moment = moment.replace(year=moment.year + 1)
    return moment.astimezone(UTC)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The district date of a moment (what `on_date` wants)."""
    return moment.astimezone(tz).date()


def _day(rest: str, today: date) -> tuple[date | None, bool]:
    """(date, year given?) from what remains after the time; raises ValueError for an impossible date."""
    if not rest:
        return today, False
    if _is_day_word(rest):
        return today + timedelta(days=_DAY_WORDS[rest]), False
    iso = _ISO_DATE.fullmatch(rest)
    if iso:
        return today.replace(year=int(iso.group(1)), month=int(iso.group(2)), day=int(iso.group(3))), True
    numeric = _DATE.fullmatch(rest)
    if numeric:
        year = numeric.group(4)
        if numeric.group(2) == "." and not year:
            return None, False
        full_year = (2000 + int(year) if len(year) == 2 else int(year)) if year else today.year
        return today.replace(year=full_year, month=int(numeric.group(3)), day=int(numeric.group(1))), bool(year)
    return None, False


def _is_day_word(rest: str) -> bool:
    return rest in _DAY_WORDS
