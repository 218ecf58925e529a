"""Typed dates and times, the way Indonesian officials write them, read in the district's time zone.

Accepted: `25/12 08.00`, `25-12-2026 8:00`, `2026-12-25 08:00`, `besok 08.00` / `tomorrow 8:00`,
`lusa 10.00`, `hari ini 16.00` / `today 16:00`, or just `16.00` (today). Words like `jam`, `pukul`
and `at` are ignored. A date without a year that has passed this year means next year.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_INPUT = 40

_TIME = re.compile(r"(?<![\d/.:-])(\d{1,2})[.:](\d{2})(?![\d/.:-])")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DATE = re.compile(r"\b(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?\b")
_DAY_WORDS = {"hari ini": 0, "today": 0, "besok": 1, "tomorrow": 1, "lusa": 2}
_NOISE = re.compile(r"\b(jam|pukul|pkl|at|wib|wita|wit|tanggal|tgl)\b\.?")


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The moment a typed date and time names (aware, UTC), or None if it names none."""
    if not text or len(text) > MAX_INPUT:
        return None
    typed = _NOISE.sub(" ", text.casefold())
    clock = _TIME.search(typed)
    if clock is None:
        return None
    hour, minute = int(clock.group(1)), int(clock.group(2))
    if hour > 23 or minute > 59:
        return None
    rest = (typed[:clock.start()] + " " + typed[clock.end():]).strip()
    today = now.astimezone(tz).date()
    try:
        day, explicit_year = _day(" ".join(rest.split()), today)
    except ValueError:
        return None
    if day is None:
        return None
    moment = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if not explicit_year and moment < now and rest and not _is_day_word(rest):
        moment = moment.replace(year=moment.year + 1)
    return moment.astimezone(now.tzinfo)


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
        year = numeric.group(3)
        full_year = (2000 + int(year) if len(year) == 2 else int(year)) if year else today.year
        return today.replace(year=full_year, month=int(numeric.group(2)), day=int(numeric.group(1))), bool(year)
    return None, False


def _is_day_word(rest: str) -> bool:
    return rest in _DAY_WORDS
