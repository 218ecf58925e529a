"""`sinergi consultations add|list`: create consultations from scripts, with the chat form's rules."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys

from bot.config import Settings
from handlers.consultations_official import CAPACITY_MAX, DESCRIPTION_MAX, PLACE, TITLE, check_times, check_url
from handlers.i18n import format_datetime, set_locale, set_timezone
from handlers.when import local_date, parse_when
from storage.clock import utc_now
from storage.consultations import LEVELS, NewConsultation
from storage.db import Store, open_store


class CommandError(ValueError):
    """A bad argument; the message says which and why."""


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    consultations = sub.add_parser("consultations", help="public consultations (Musrenbang, hearings)")
    commands = consultations.add_subparsers(dest="consultations_command", required=True)

    add = commands.add_parser("add", help="create a consultation")
    add.add_argument("--title", required=True)
    add.add_argument("--level", required=True, choices=LEVELS)
    add.add_argument("--area", help="desa (desa level) or kecamatan (kecamatan level): a name or Kemendagri code")
    add.add_argument("--start", required=True, help="district time, e.g. '30-11-2026 09.00'")
    add.add_argument("--end", required=True, help="'12.00' (same day) or a date and time")
    add.add_argument("--place", help="address; leave out for an online-only consultation")
    add.add_argument("--lat", type=float, help="latitude of the place")
    add.add_argument("--lon", type=float, help="longitude of the place")
    add.add_argument("--link", help="online meeting link (https://…)")
    add.add_argument("--capacity", type=int, help="places; when full, people join a waiting list")
    add.add_argument("--description", default="")
    add.add_argument("--programme", type=int, help="id of the programme it is about")
    add.set_defaults(func=cmd_add)

    listing = commands.add_parser("list", help="upcoming consultations")
    listing.set_defaults(func=cmd_list)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    set_locale(settings.default_locale)
    set_timezone(settings.tz)

    async def work() -> tuple[int, NewConsultation]:
        store = await open_store(settings.database_path)
        try:
            new = await _validated(args, store, settings)
            consultation_id = await store.consultations.create(new, utc_now())
            await store.audit.record(None, "cli:consultation.create", True, utc_now(), consultation_id=consultation_id)
            return consultation_id, new
        finally:
            await store.close()

    try:
        consultation_id, new = asyncio.run(work())
    except CommandError as error:
        print(f"sinergi: {error}", file=sys.stderr)
        return 2
    print(f"Created consultation {consultation_id}: {new.title}, {format_datetime(new.starts_at)}.")
    return 0


async def _validated(args: argparse.Namespace, store: Store, settings: Settings) -> NewConsultation:
    title = args.title.strip()
    if not TITLE[0] <= len(title) <= TITLE[1]:
        raise CommandError(f"--title must be {TITLE[0]} to {TITLE[1]} characters")
    if len(args.description) > DESCRIPTION_MAX:
        raise CommandError(f"--description must be at most {DESCRIPTION_MAX} characters")
    place = (args.place or "").strip() or None
    if place is not None and not PLACE[0] <= len(place) <= PLACE[1]:
        raise CommandError(f"--place must be {PLACE[0]} to {PLACE[1]} characters")
    if args.link is not None and not check_url(args.link):
        raise CommandError("--link must be an http(s) URL")
    if place is None and args.link is None:
        raise CommandError("give --place, --link, or both")
    if (args.lat is None) != (args.lon is None) or (args.lat is not None and (
            not math.isfinite(args.lat) or not math.isfinite(args.lon) or abs(args.lat) > 90 or abs(args.lon) > 180)):
        raise CommandError("--lat and --lon go together and must be a valid position")
    if args.capacity is not None and not 1 <= args.capacity <= CAPACITY_MAX:
        raise CommandError(f"--capacity must be between 1 and {CAPACITY_MAX}")
    if args.programme is not None and await store.programmes.get(args.programme) is None:
        raise CommandError(f"there is no programme {args.programme}")
    tz = settings.tz
    now = utc_now()
    starts_at = parse_when(args.start, now, tz)
    if starts_at is None:
        raise CommandError("--start must look like '30-11-2026 09.00'")
    ends_at = parse_when(args.end, now, tz, on_date=local_date(starts_at, tz))
    if ends_at is None:
        raise CommandError("--end must look like '12.00' or '30-11-2026 12.00'")
    problem = check_times(starts_at, ends_at, now)
    if problem:
        raise CommandError(problem)
    kecamatan_code, desa_code = await _area(store, args.level, args.area)
    return NewConsultation(title, args.description.strip(), args.level, kecamatan_code, desa_code, place, args.lat,
                           args.lon, args.link, starts_at, ends_at, args.capacity, args.programme, None)


async def _area(store: Store, level: str, area: str | None) -> tuple[str | None, str | None]:
    """(kecamatan code, desa code) for the level, from a code or an unambiguous name."""
    if level == "kabupaten":
        return None, None
    if not area:
        raise CommandError(f"--area is required for a {level} consultation")
    if level == "desa":
        found = await store.areas.desa(area.strip())
        matches = [found] if found else await store.areas.match_desa(area)
        if len(matches) != 1:
            raise CommandError(f"--area {area!r} must name exactly one desa (found {len(matches)})")
        return matches[0].kecamatan_code, matches[0].code
    kecamatan = await store.areas.kecamatan(area.strip())
    candidates = [kecamatan] if kecamatan else await store.areas.match_kecamatan(area)
    if len(candidates) != 1:
        raise CommandError(f"--area {area!r} must name exactly one kecamatan (found {len(candidates)})")
    return candidates[0].code, None


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    set_locale(settings.default_locale)
    set_timezone(settings.tz)

    async def work() -> list[str]:
        store = await open_store(settings.database_path)
        try:
            upcoming = await store.consultations.for_officials(None, utc_now(), limit=100)
            lines = []
            for c in upcoming:
                counts = await store.consultations.counts(c.id)
                lines.append(f"{c.id}\t{format_datetime(c.starts_at)}\t{c.level}\t{counts['registered']} registered"
                             f"\t{c.title}")
            return lines
        finally:
            await store.close()

    for line in asyncio.run(work()) or ["No upcoming consultations."]:
        print(line)
    return 0
