"""Typed dates and times, table-driven, read in the district's time zone (WIB, WITA, WIT)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.when import parse_when

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
])
def test_understood(typed: str, local: str) -> None:
    moment = parse_when(typed, NOW, WIB)
    assert moment is not None and moment.tzinfo is not None
    assert moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M") == local


@pytest.mark.parametrize("typed", ["", "besok", "25/12", "31/02 08.00", "25:00", "08.61", "kapan-kapan 08.00",
                                   "x" * 41, "13/13 10.00"])
def test_not_understood(typed: str) -> None:
    assert parse_when(typed, NOW, WIB) is None


@pytest.mark.parametrize(("zone", "utc_hour"), [("Asia/Jakarta", 1), ("Asia/Makassar", 0), ("Asia/Jayapura", 23)])
def test_the_district_time_zone_decides(zone: str, utc_hour: int) -> None:
    moment = parse_when("25/12 08.00", NOW, ZoneInfo(zone))
    assert moment is not None and moment.astimezone(UTC).hour == utc_hour
