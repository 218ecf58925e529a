"""`sinergi reports …`: export reports as CSV, list overdue ones, edit categories, units and local holidays.

    sinergi reports export --since 2026-01-01 > laporan.csv     (UTF-8 with BOM, opens in spreadsheets)
    sinergi reports overdue
    sinergi reports categories [CODE --id NAME --en NAME [--unit UNIT] [--position N] [--hide|--show]]
    sinergi reports units [CODE --id NAME --en NAME [--position N] [--hide|--show]]
    sinergi reports holidays [--add YYYY-MM-DD NAME | --remove YYYY-MM-DD | --year YYYY]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.config import Settings
from handlers.i18n import set_timezone, use_locale
from handlers.report_lifecycle import overdue
from handlers.reports_official import export_csv
from handlers.workdays import national_holidays
from storage.clock import utc_now
from storage.db import Store, open_store
from storage.reports import ReportFilter

MAX_NAME = 120
_CODE = re.compile(r"[A-Za-z0-9_]{1,32}")


def add_commands(subparsers: Any) -> None:
    reports = subparsers.add_parser("reports", help="citizen reports: export, overdue, categories, units, holidays")
    sub = reports.add_subparsers(dest="reports_command", required=True)

    export = sub.add_parser("export", help="write reports as CSV (UTF-8 with BOM) to standard output")
    export.add_argument("--since", type=_day, help="first day sent, YYYY-MM-DD (district time)")
    export.add_argument("--until", type=_day, help="last day sent, YYYY-MM-DD (included)")
    export.set_defaults(func=cmd_export)

    late = sub.add_parser("overdue", help="list reports past a deadline now")
    late.set_defaults(func=cmd_overdue)

    categories = sub.add_parser("categories", help="list categories, or add/change one")
    _naming_arguments(categories)
    categories.add_argument("--unit", help="unit code new reports of this category are assigned to ('' for none)")
    categories.set_defaults(func=cmd_categories)

    units = sub.add_parser("units", help="list units (OPD/dinas), or add/change one")
    _naming_arguments(units)
    units.set_defaults(func=cmd_units)

    holidays = sub.add_parser("holidays", help="list local holidays, or add/remove one")
    holidays.add_argument("--add", nargs=2, metavar=("DATE", "NAME"), help="declare a local holiday")
    holidays.add_argument("--remove", type=_day, metavar="DATE", help="remove a local holiday")
    holidays.add_argument("--year", type=int, help="also list that year's national holidays and cuti bersama")
    holidays.set_defaults(func=cmd_holidays)


def _naming_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", nargs="?", help="code to add or change; omit to list")
    parser.add_argument("--id", dest="name_id", help="name in Indonesian")
    parser.add_argument("--en", dest="name_en", help="name in English")
    parser.add_argument("--position", type=int, help="order in lists")
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--hide", action="store_true", help="stop offering it (kept for old reports)")
    shown.add_argument("--show", action="store_true", help="offer it again")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    async def run() -> int:
        store = await open_store(settings.database_path)
        try:
            set_timezone(settings.tz)
            with use_locale(settings.default_locale):
                return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    tz = settings.tz

    def start_of(day: date | None) -> datetime | None:
        return datetime.combine(day, time(0), tzinfo=tz) if day else None

    wanted = ReportFilter(since=start_of(args.since), until=start_of(args.until + timedelta(days=1))
                          if args.until else None)

    async def work(store: Store) -> int:
        text, count = await export_csv(store, wanted, utc_now(), tz)
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8-sig"))
        sys.stdout.buffer.flush()
        print(f"exported {count} reports", file=sys.stderr)
        return 0

    return _with_store(settings, work)


def cmd_overdue(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        for report in await overdue(store, utc_now()):
            due_at = report.due_at()
            print(f"{report.number}\t{report.status}\t{report.unit_code or '-'}\t"
                  f"due {due_at.astimezone(settings.tz):%Y-%m-%d %H:%M}" if due_at else report.number)
        return 0

    return _with_store(settings, work)


def _names(args: argparse.Namespace, existing: Any) -> tuple[str, str] | None:
    """The (id, en) names to save, keeping the stored ones not given; None (after saying why) if unusable."""
    if not _CODE.fullmatch(args.code):
        print("sinergi: a code is 1-32 letters, digits or underscores", file=sys.stderr)
        return None
    name_id = args.name_id or (existing.name_id if existing else None)
    name_en = args.name_en or (existing.name_en if existing else None)
    if not name_id or not name_en or len(name_id) > MAX_NAME or len(name_en) > MAX_NAME:
        print(f"sinergi: give --id and --en names (at most {MAX_NAME} characters) for a new code",
              file=sys.stderr)
        return None
    return name_id.strip(), name_en.strip()


def _active(args: argparse.Namespace, existing: Any) -> bool:
    return not args.hide and (args.show or existing is None or existing.active)


def cmd_categories(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        categories = store.reports.categories
        if not args.code:
            for c in await categories.list(include_inactive=True):
                print(f"{c.code}\t{c.name_id}\t{c.name_en}\t{c.default_unit_code or '-'}"
                      f"{'' if c.active else chr(9) + 'hidden'}")
            return 0
        existing = await categories.get(args.code)
        names = _names(args, existing)
        if names is None:
            return 2
        unit = existing.default_unit_code if existing and args.unit is None else (args.unit or None)
        if unit and await store.reports.units.get(unit) is None:
            print(f"sinergi: no unit {unit!r} (see `sinergi reports units`)", file=sys.stderr)
            return 2
        await categories.save(args.code, *names, default_unit_code=unit, position=args.position,
                              active=_active(args, existing))
        print(f"saved category {args.code}")
        return 0

    return _with_store(settings, work)


def cmd_units(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        units = store.reports.units
        if not args.code:
            for u in await units.list(include_inactive=True):
                print(f"{u.code}\t{u.name_id}\t{u.name_en}{'' if u.active else chr(9) + 'hidden'}")
            return 0
        existing = await units.get(args.code)
        names = _names(args, existing)
        if names is None:
            return 2
        await units.save(args.code, *names, position=args.position, active=_active(args, existing))
        print(f"saved unit {args.code}")
        return 0

    return _with_store(settings, work)


def cmd_holidays(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        if args.add:
            try:
                day = _day(args.add[0])
            except argparse.ArgumentTypeError as error:
                print(f"sinergi: {error}", file=sys.stderr)
                return 2
            name = args.add[1].strip()[:MAX_NAME]
            await store.holidays.add(day, name)
            print(f"saved local holiday {day.isoformat()} {name}")
        elif args.remove:
            found = await store.holidays.remove(args.remove)
            print(f"removed {args.remove.isoformat()}" if found else f"no local holiday on {args.remove.isoformat()}")
        else:
            local = await store.holidays.all()
            if args.year:
                calendar = {**national_holidays(args.year), **{d: f"{n} (local)" for d, n in local.items()
                                                             if d.year == args.year}}
            else:
                calendar = local
            for day, name in sorted(calendar.items()):
                print(f"{day.isoformat()}\t{name}")
        return 0

    return _with_store(settings, work)
