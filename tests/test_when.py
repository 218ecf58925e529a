"""Typed dates and times, table-driven, read in the district's time zone (WIB, WITA, WIT): one reader for
broadcasts, polls and consultations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.when import local_date, parse_when

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 09.00 WIB
WIB = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(("typed", "local"), [
    ("25/12 08.00", "2026-12-25 08:00"),
    ("25-12-2026 8:00", "2026-12-25 08:00"),
    ("2026-12-25 08:00", "2026-12-25 08:00"),
    ("1/12/26 7.15", "2026-12-01 07:15"),
    ("besok 08.00", "2026-12-01 08:00"),
    ("Besok jam 8.00", "2026-12-01 08:00"),
    ("tomorrow at 8:00", "2026-12-01 08:00"),
    ("lusa pukul 10.00", "2026-12-02 10:00"),
    ("hari ini 16.00", "2026-11-30 16:00"),
    ("16.30 WIB", "2026-11-30 16:30"),
    ("12.30 25/12", "2026-12-25 12:30"),
    ("05/01 08.00", "2027-01-05 08:00"),       # already past this year: next year
    ("hari ini 08.00", "2026-11-30 08:00"),    # past today: returned, the flow refuses it
    ("30-11-2026 09.00", "2026-11-30 09:00"),  # as consultations ask for it
    ("30/11/2026 09:00", "2026-11-30 09:00"),
    ("30.11.2026 09.00", "2026-11-30 09:00"),
    ("30-11-2026, pukul 09.00 WIB", "2026-11-30 09:00"),
    ("2026-12-03 9.00", "2026-12-03 09:00"),
])
def test_understood(typed: str, local: str) -> None:
    moment = parse_when(typed, NOW, WIB)
    assert moment is not None and moment.tzinfo is not None
    assert moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize("typed", ["", "besok", "25/12", "31/02 08.00", "25:00", "08.61", "kapan-kapan 08.00",
                                   "x" * 41, "13/13 10.00", "25.12 08.00", "30-11-1999 09.00",
                                   "30-11-2026 09.00 WITA", "09.00 WIT"])
def test_not_understood(typed: str) -> None:
    assert parse_when(typed, NOW, WIB) is None


@pytest.mark.parametrize(("zone", "utc_hour"), [("Asia/Jakarta", 1), ("Asia/Makassar", 0), ("Asia/Jayapura", 23)])
def test_the_district_time_zone_decides(zone: str, utc_hour: int) -> None:
    moment = parse_when("25/12 08.00", NOW, ZoneInfo(zone))
    assert moment is not None and moment.astimezone(UTC).hour == utc_hour


def test_a_time_alone_means_the_given_day_as_a_consultations_end_does() -> None:
    starts = parse_when("03-12-2026 09.00", NOW, WIB)
    assert starts is not None
    ends = parse_when("12.00", NOW, WIB, on_date=local_date(starts, WIB))
    assert ends == datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
    next_day = parse_when("04-12-2026 08.00", NOW, WIB, on_date=date(2026, 12, 3))
    assert next_day == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)


def test_the_districts_own_zone_name_is_accepted_in_every_zone() -> None:
    assert parse_when("25/12 08.00 WITA", NOW, ZoneInfo("Asia/Makassar")) == datetime(2026, 12, 25, 0, 0, tzinfo=UTC)
    assert parse_when("25/12 08.00 WIT", NOW, ZoneInfo("Asia/Jayapura")) == datetime(2026, 12, 24, 23, 0, tzinfo=UTC)
