"""Working-day arithmetic across weekends, national holidays, cuti bersama and local holidays (table-driven)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.workdays import (
    add_working_days,
    deadline,
    due_day,
    is_working_day,
    national_holidays,
)

WIB = ZoneInfo("Asia/Jakarta")
NEW_YEARS_EVE = date(2026, 12, 31)

# (start, working days, expected, local holidays, why)
ADD_CASES = [
    (date(2026, 11, 30), 3, date(2026, 12, 3), (), "Monday + 3 = Thursday"),
    (date(2026, 12, 3), 3, date(2026, 12, 8), (), "Thursday + 3 skips the weekend"),
    (date(2026, 12, 4), 1, date(2026, 12, 7), (), "Friday + 1 = Monday"),
    (date(2026, 12, 5), 1, date(2026, 12, 7), (), "sent on Saturday: Monday is day 1"),
    (date(2026, 12, 6), 3, date(2026, 12, 9), (), "sent on Sunday: Monday is day 1"),
    (date(2026, 11, 30), 0, date(2026, 11, 30), (), "zero days is the same day"),
    (date(2026, 12, 23), 3, date(2026, 12, 30), (), "cuti bersama 24 Dec and Natal 25 Dec skipped"),
    (date(2026, 12, 23), 3, NEW_YEARS_EVE, (date(2026, 12, 30),), "a local holiday is skipped too"),
    (date(2026, 3, 17), 1, date(2026, 3, 25), (), "Nyepi, Idul Fitri and their cuti bersama: a week off"),
    (date(2026, 5, 13), 1, date(2026, 5, 18), (), "Kenaikan Yesus Kristus and its cuti bersama"),
    (date(2026, 8, 14), 1, date(2026, 8, 18), (), "Hari Kemerdekaan on Monday 17 August"),
    (date(2026, 12, 30), 2, date(2027, 1, 4), (), "across the year end and 1 January"),
    (date(2026, 11, 30), 10, date(2026, 12, 14), (), "ten working days span two weekends"),
]


@pytest.mark.parametrize(("start", "count", "expected", "local", "why"), ADD_CASES, ids=[c[-1] for c in ADD_CASES])
def test_add_working_days(start: date, count: int, expected: date, local: tuple[date, ...], why: str) -> None:
    assert add_working_days(start, count, local) == expected, why


WORKING_DAY_CASES = [
    (date(2026, 12, 7), (), True, "an ordinary Monday"),
    (date(2026, 12, 5), (), False, "Saturday"),
    (date(2026, 12, 6), (), False, "Sunday"),
    (date(2026, 12, 24), (), False, "cuti bersama Natal"),
    (date(2026, 12, 25), (), False, "Hari Raya Natal"),
    (date(2026, 2, 16), (), False, "cuti bersama Imlek"),
    (date(2026, 6, 1), (), False, "Hari Lahir Pancasila"),
    (date(2026, 12, 30), (date(2026, 12, 30),), False, "a local holiday"),
    (date(2026, 12, 30), (), True, "the same day without the local holiday"),
]


@pytest.mark.parametrize(("day", "local", "expected", "why"), WORKING_DAY_CASES, ids=[c[-1] for c in WORKING_DAY_CASES])
def test_is_working_day(day: date, local: tuple[date, ...], expected: bool, why: str) -> None:
    assert is_working_day(day, local) is expected, why


def test_national_holidays_include_cuti_bersama_with_indonesian_names() -> None:
    calendar = national_holidays(2026)
    assert calendar[date(2026, 12, 25)] == "Hari Raya Natal"
    assert "Cuti Bersama" in calendar[date(2026, 12, 24)]
    assert date(2026, 12, 7) not in calendar and all(day.year == 2026 for day in calendar)
    assert list(calendar) == sorted(calendar)


def test_deadline_ends_at_district_midnight_after_the_due_day() -> None:
    sent = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)                      # Monday 09.00 WIB
    due = deadline(sent, 3, WIB)
    assert due == datetime(2026, 12, 4, 0, 0, tzinfo=WIB)                # end of Thursday
    assert due_day(due, WIB) == date(2026, 12, 3)


def test_deadline_counts_from_the_district_day_not_the_utc_day() -> None:
    sent = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)                     # Sunday in UTC, Monday 01.00 WIB
    assert deadline(sent, 3, WIB) == datetime(2026, 12, 4, 0, 0, tzinfo=WIB)
    sent_friday_night = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)        # Friday 23.30 WIB
    assert deadline(sent_friday_night, 1, WIB) == datetime(2026, 12, 8, 0, 0, tzinfo=WIB)


def test_unreasonable_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 1), -1)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 1), 10_000)
